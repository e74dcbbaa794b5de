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
        counter = getattr(self.object_list, "order_by", None)
        if counter is None:  # a list: its length is known
            return min(len(self.object_list), self.cap + 1)
        return int(self.object_list.order_by()[: self.cap + 1].count())

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_text(self) -> str:
        """The count for a sentence: "37", or "more than 1 000" when the list is longer than the cap."""
        if self.capped:
            return gettext("more than %(count)s") % {"count": number_format(self.cap, force_grouping=True)}
        return number_format(self.count, force_grouping=True)

    @property
    def cap_text(self) -> str:
        return number_format(self.cap, force_grouping=True)
