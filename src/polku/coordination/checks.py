"""Start-up check of the rule thresholds given in settings (``POLKU["RULES"]`` / ``POLKU_RULES``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from polku.core.errors import InvalidInput

from .rules import validate_rule_settings


@register()
def check_rule_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    configured = settings.POLKU.get("RULES", {})
    if not isinstance(configured, dict):
        return [Error(f"POLKU_RULES must be a JSON object of rule codes to thresholds ({configured}).",
                      id="polku.E001")]
    errors = []
    for code, values in configured.items():
        if not isinstance(values, dict):
            errors.append(Error(f"POLKU_RULES[{code!r}] must be an object of thresholds.", id="polku.E001"))
            continue
        values = {k: v for k, v in values.items() if k not in {"enabled", "severity"}}
        try:
            validate_rule_settings(code, values, configured[code].get("severity"))
        except InvalidInput as exc:
            errors.append(Error(f"POLKU_RULES: {exc}", id="polku.E001"))
    return errors
