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
from django.utils.translation import gettext_lazy
from ninja import Schema

CONTENT_TYPE = "application/problem+json"

#: Each status's title, translated when shown (the problem's ``title``; the OpenAPI document's descriptions).
TITLES = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Not authenticated"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    412: gettext_lazy("Precondition failed"),
    413: gettext_lazy("Payload too large"),
    415: gettext_lazy("Unsupported media type"),
    422: gettext_lazy("Invalid input"),
    428: gettext_lazy("Precondition required"),
    429: gettext_lazy("Too many requests"),
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
    return str(TITLES.get(status, _("Error")))


#: Responses every operation may give, for the OpenAPI document.
def error_responses(*codes: int) -> dict[int, type[Problem]]:
    return dict.fromkeys(codes, Problem)
