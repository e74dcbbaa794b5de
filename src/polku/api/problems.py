"""RFC 9457 problem details (``application/problem+json``) for every error the API returns.

Each problem has a stable ``type`` (a URI under ``/api/v1/problems/``), a ``title``, the HTTP ``status``, a
``detail`` in the caller's language (``Accept-Language``: fi, sv or en), the stable ``code`` of the domain
error and, for bad input, ``errors``: field name → messages.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema

CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
}


class Problem(Schema):
    """An RFC 9457 problem: what went wrong, in the caller's language, and where."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: dict[str, list[str]] | None = None


def problem_response(
    request: HttpRequest | None, status: int, code: str, detail: Any, *, errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{code}",
        "title": _translated_title(status),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = {str(k): [str(m) for m in v] for k, v in errors.items()}
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _translated_title(status: int) -> str:
    titles = {
        400: _("Bad request"),
        401: _("Not authenticated"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        412: _("Precondition failed"),
        413: _("Payload too large"),
        415: _("Unsupported media type"),
        422: _("Invalid input"),
        428: _("Precondition required"),
        429: _("Too many requests"),
    }
    return str(titles.get(status, _("Error")))


#: Responses every operation may give, for the OpenAPI document.
def error_responses(*codes: int) -> dict[int, type[Problem]]:
    return dict.fromkeys(codes, Problem)
