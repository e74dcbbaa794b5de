"""Start-up check of the retention settings (``POLKU["RETENTION"]`` / ``POLKU_RETENTION``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from polku.core.errors import InvalidInput

from .rules import effective_rules


@register()
def check_retention_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        effective_rules()
    except InvalidInput as exc:
        return [Error(str(exc), id="polku.E020")]
    return []
