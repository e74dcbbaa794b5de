"""What every page's forms share: showing a service's refusal on a form, and telling an htmx request apart.

Field accessibility needs nothing here: Django's widgets point ``aria-describedby`` at ``<id>_helptext`` and
``<id>_error`` and set ``aria-invalid`` on an error, and ``web/_field.html`` gives the hint and error those ids."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.http import HttpRequest

from polku.core.errors import DomainError


def show_service_errors(form: forms.Form, exc: DomainError, *, rename: Mapping[str, str] | None = None) -> None:
    """Put a service's refusal on ``form``: each field error of an ``InvalidInput`` next to the form field of that
    name (``rename`` maps the service's field names to the form's), anything else, an error of a hidden field
    included, at the top of the form."""
    errors: Mapping[str, list[str]] = getattr(exc, "errors", None) or {"__all__": [str(exc)]}
    for key, texts in errors.items():
        name = (rename or {}).get(key, key)
        for text in texts:
            shown = name in form.fields and not form.fields[name].widget.is_hidden
            form.add_error(name if shown else None, text)


def date_input() -> forms.DateInput:
    """A date field as the browser's own date picker (the value in ISO form, which the picker needs)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx made the request (it then gets a part of the page, not the whole page)."""
    return request.headers.get("HX-Request") == "true"
