"""Paging long lists whose exact length costs more than the page itself.

Counting every client, referral or alert a professional may see means checking the relationship and consent of
each one: seconds in a region of a million clients, on every page view. :class:`CappedPaginator` counts only up to
a cap (``SELECT COUNT(*) FROM (… LIMIT cap + 1)``, which the database stops as soon as it has found that many) and
says "more than N" beyond it, so a page costs what its rows cost.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.utils.formats import number_format
from django.utils.translation import gettext

#: Count exactly up to this many rows; beyond it a list says "more than 1 000".
COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """A :class:`~django.core.paginator.Paginator` whose ``count`` stops at ``cap + 1``. ``capped`` says the list
    is longer than ``cap``; ``num_pages`` then covers the first ``cap + 1`` rows (the pages one can reach)."""

    def __init__(self, object_list: Any, per_page: int, cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, VisibleRows):
            return self.object_list.count_upto(self.cap + 1)
        rows: Any = self.object_list
        if not hasattr(rows, "order_by"):  # a list: its length is known
            return min(len(rows), self.cap + 1)
        return int(rows.order_by()[: self.cap + 1].count())

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_text(self) -> str:
        """The count for a sentence: "37", or "more than 1 000" when the list is longer than the cap."""
        if self.capped:
            return gettext("more than %(count)s") % {"count": number_format(self.cap, force_grouping=True)}
        return number_format(self.count, force_grouping=True)


class VisibleRows:
    """The rows of an ordered queryset whose client the reader may see, found in one of two ways.

    Filtering a long list by the access policy inside one query makes PostgreSQL build hash tables of every client
    the organisation is related to before it returns the first row: cheap for a rehabilitation provider with a few
    thousand clients, half a second for a wellbeing county's social services with a quarter of a million. So the
    list is first walked along its index without any policy check (``values_list`` of the row and its client, in
    chunks that double in size), each chunk's clients checked in one query over just those ids
    (``visible_ids``), and rows of clients the reader may not see skipped: a page costs about what its rows cost.
    If the first chunk shows that the reader may see less than ``min_share`` of the list (most rows would be
    skipped), the rest is asked of ``filtered``, the same list with the policy's filter in SQL, and the database
    picks its plan. Both ways give the same rows in the same order.

    Works as the ``object_list`` of :class:`CappedPaginator` (``count_upto`` and slicing), or on its own
    (:meth:`first`). ``client_field`` names the row's client (``"pk"`` when the rows are clients); ``rows`` is the
    queryset the shown rows are fetched from by primary key (with its ``select_related`` and annotations;
    ``queryset`` itself by default).
    """

    def __init__(self, queryset: Any, visible_ids: Any, *, filtered: Any = None, client_field: str = "client_id",
                 rows: Any = None, chunk: int = 100, max_chunk: int = 5000, min_share: float = 0.25) -> None:
        self.queryset = queryset
        self.visible_ids = visible_ids
        self.filtered = filtered
        self.client_field = client_field
        self.rows = rows if rows is not None else queryset
        self.chunk = max(1, chunk)
        self.max_chunk = max_chunk
        self.min_share = min_share
        self.ordered = True
        self._found: list[int] = []  # primary keys of visible rows, in order, found so far
        self._scanned = 0
        self._next_chunk = self.chunk
        self._exhausted = False
        self._in_sql: bool | None = None  # decided after the first chunk
        self._low_share = False

    def _walk_chunk(self) -> None:
        fields = ("pk",) if self.client_field == "pk" else ("pk", self.client_field)
        size = self._next_chunk
        batch = list(self.queryset.values_list(*fields)[self._scanned:self._scanned + size])
        self._scanned += len(batch)
        self._exhausted = len(batch) < size
        if batch:
            allowed = set(self.visible_ids(sorted({row[-1] for row in batch})))
            self._found.extend(row[0] for row in batch if row[-1] in allowed)
        self._next_chunk = min(size * 2, self.max_chunk)

    @property
    def in_sql(self) -> bool:
        """Whether the rows come from ``filtered`` (the reader may see only a small share of the list)."""
        self.in_sql_wanted()
        return bool(self._in_sql)

    def in_sql_wanted(self) -> bool:
        """Whether the first chunk showed that the reader may see less than ``min_share`` of the list: a caller
        with its own policy-filtered query (and no ``filtered``) asks that instead."""
        if self._in_sql is None:
            self._walk_chunk()
            self._low_share = not self._exhausted and len(self._found) < self.min_share * self._scanned
            self._in_sql = self._low_share and self.filtered is not None
        return self._low_share

    def _fill(self, wanted: int) -> None:
        while len(self._found) < wanted and not self._exhausted:
            self._walk_chunk()

    def count_upto(self, most: int) -> int:
        """The number of visible rows, counting no further than ``most``."""
        if self.in_sql:
            return int(self.filtered.order_by()[:most].count())
        self._fill(most)
        return min(len(self._found), most)

    def __getitem__(self, index: slice) -> list[Any]:
        if not isinstance(index, slice) or (index.step or 1) != 1 or (index.start or 0) < 0 or index.stop is None:
            raise TypeError("VisibleRows takes slices [start:stop] only")
        start = index.start or 0
        if self.in_sql:
            keys = list(self.filtered.values_list("pk", flat=True)[start:index.stop])
        else:
            self._fill(index.stop)
            keys = self._found[start:index.stop]
        by_key = {row.pk: row for row in self.rows.filter(pk__in=keys)}
        return [by_key[key] for key in keys if key in by_key]

    def first(self, count: int) -> list[Any]:
        return self[0:count]
