"""What every handler needs: who is calling, and plan ETags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from polku.core.errors import InvalidInput


def actor(request: HttpRequest) -> Any:
    """The authenticated user (token or session)."""
    return getattr(request, "auth", None) or request.user


def etag(kind: str, pk: int, version: int) -> str:
    return f'"{kind}-{pk}-v{version}"'


def required_if_match(request: HttpRequest, kind: str, pk: int) -> int:
    """The version the caller's ``If-Match`` names. A write without one is refused (428); one naming another
    object is refused as a stale one would be (412, by the service)."""
    from django.utils.translation import gettext_lazy as _

    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired(_("Send the ETag you read in an If-Match header."))
    value = header.removeprefix("W/")
    prefix = f'"{kind}-{pk}-v'
    if not (value.startswith(prefix) and value.endswith('"') and value[len(prefix):-1].isdigit()):
        return -1
    return int(value[len(prefix):-1])


class PreconditionRequired(InvalidInput):
    """A write that must name the version it read (``If-Match``) did not."""

    code = "if_match_required"
