"""Trilingual model fields (fi, sv, en) with fi → sv → en fallback, and one way to return them in the API."""

from __future__ import annotations

from typing import Any

from django.utils import translation

LANGUAGES = ("fi", "sv", "en")


def localized(obj: Any, field: str, language: str | None = None) -> str:
    """The value of ``field_<lang>`` in the active (or given) language, falling back fi → sv → en."""
    lang = (language or translation.get_language() or "fi")[:2]
    order = [lang, *[code for code in LANGUAGES if code != lang]]
    for code in order:
        value = getattr(obj, f"{field}_{code}", "") or ""
        if value:
            return str(value)
    return ""


def translations(obj: Any, field: str) -> dict[str, str]:
    """``{"fi": …, "sv": …, "en": …}`` for the API."""
    return {code: getattr(obj, f"{field}_{code}", "") or "" for code in LANGUAGES}
