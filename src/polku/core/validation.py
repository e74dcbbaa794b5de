"""Validation helpers shared by the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput


def validated(obj: models.Model, *, exclude: list[str] | None = None) -> Any:
    """Run the model's full validation; raise :class:`InvalidInput` with field-level messages."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc, _("The data is not valid.")) from exc
    return obj


def require_date(value: Any, field: str) -> dt.date:
    """``value`` if it is a date (not a datetime, not text), else a field-level :class:`InvalidInput`."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        message = _("Give a date.")
        raise InvalidInput(message, errors={field: [str(message)]})
    return value


def require(condition: bool, field: str, message: Any) -> None:
    """Raise a field-level :class:`InvalidInput` unless ``condition`` holds."""
    if not condition:
        raise InvalidInput(message, errors={field: [str(message)]})
