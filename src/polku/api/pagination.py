"""Cursor pagination for every list: ``?limit=N&cursor=…``; the response says where the next page starts.

A cursor is the opaque, URL-safe encoding of the last row's key (its id). Keyset pagination never skips or
repeats a row while others add rows, and each page costs an index range scan however deep it is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from ninja import Schema

from polku.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(Schema, Generic[T]):
    """One page of a list. ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None
    limit: int


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        version, _sep, value = text.partition(":")
        if version != "v1" or not value.isdigit() or len(value) > 18:
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput(_("The cursor is not valid. Use the next_cursor of the previous page."),
                           errors={"cursor": [str(_("Not a valid cursor."))]}) from None


def paginate(
    queryset: QuerySet[Any], *, cursor: str | None, limit: int | None, descending: bool = False,
    on_page: Callable[[Sequence[Any]], None] | None = None,
) -> dict[str, Any]:
    """The page after ``cursor`` of ``queryset``, ordered by id (newest first with ``descending``).

    ``on_page`` sees the rows of the page before they are returned (to write the access log of what was
    read: only the rows actually returned, never the whole list)."""
    size = DEFAULT_LIMIT if limit is None else limit
    if size < 1 or size > MAX_LIMIT:
        raise InvalidInput(_("limit must be between 1 and %(max)s.") % {"max": MAX_LIMIT},
                           errors={"limit": [str(_("Out of range."))]})
    qs = queryset.order_by("-pk" if descending else "pk")
    if cursor:
        position = decode_cursor(cursor)
        qs = qs.filter(pk__lt=position) if descending else qs.filter(pk__gt=position)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if on_page is not None and rows:
        on_page(rows)
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].pk) if more else None, "limit": size}
