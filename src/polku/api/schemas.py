"""Shared schema building blocks: input schemas refuse what no field may hold, ids are bounded."""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Schema
from pydantic import Field, model_validator

#: Largest id accepted in a path or body (database ids are 64-bit; anything larger cannot exist).
MAX_ID = 2**62

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int | None, Query(None, ge=1, le=200, description="Page size (1–200, default 50).")]
Cursor = Annotated[str | None, Query(None, max_length=64, description="The previous page's next_cursor.")]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class In(Schema):
    """Base of request bodies: text may not contain NUL characters (no database can store them)."""

    model_config = {"extra": "forbid"}

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError(str(_("Text may not contain NUL characters.")))
        return data
