"""Polku's REST API, version 1: ``/api/v1/``, OpenAPI 3 at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``.

Handlers are thin: they parse, call a selector or service (which checks the access policy and writes the access
log) and shape the answer. Every error is an RFC 9457 problem (``problems.py``); the mapping of domain errors to
HTTP statuses lives here and only here. docs/api.md describes the API for integrators.
"""

from __future__ import annotations

from typing import Any

from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from polku.access.policy import decide
from polku.accounts.throttle import TooManyFailures
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, DomainError, IllegalTransition, InvalidInput, VersionConflict
from polku.core.unavailable import RETRY_AFTER_SECONDS

from .auth import BearerToken, WebSession
from .deps import PreconditionRequired
from .problems import CONTENT_TYPE, TITLES, Problem, problem_response

DESCRIPTION = """
Polku's REST API for the systems of the joint service's agencies, for integrators and for analysts.

**Authentication.** Send `Authorization: Bearer <token>`; an administrator creates a token with
`polku token create USERNAME --expires DAYS`. The web UI's own calls use the signed-in session (and the CSRF
token for writes).

**Access.** Every read or write of a client's data is checked against the caller's role, their organisation's
relationship to the client and the client's consent, and written to the access log. A client the caller may
not see is answered exactly as one that does not exist: `404`.

**Errors** are RFC 9457 problem details (`application/problem+json`) with `detail` in the language of
`Accept-Language` (fi, sv, en) and, for bad input, `errors`: field → messages.

**Lists** take `limit` (1–200, default 50) and `cursor` (the previous page's `next_cursor`).

**Concurrency.** Plans carry an `ETag`; a write must send it back in `If-Match`. A stale `If-Match` gets
`412 Precondition Failed` and nothing is written.
"""

class PolkuAPI(NinjaAPI):
    """The API, whose OpenAPI document says what every operation may answer: errors are
    ``application/problem+json``, and every operation documents 401 (no or bad credentials),
    400 (a body that is not JSON), 422 (bad input) and 429 (too many failed sign-ins) besides its own answers."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problem = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                # ninja's status keys are ints: as text, so that "401" is not added beside 401 (a duplicate key in
                # the JSON, which Swagger UI's parser refuses: the docs page drew nothing).
                responses = operation["responses"] = {str(k): v for k, v in operation.get("responses", {}).items()}
                for status in ("400", "401", "422", "429"):
                    responses.setdefault(status, {"description": str(TITLES[int(status)])})
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["content"] = {CONTENT_TYPE: {"schema": problem}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        return schema


api = PolkuAPI(
    title="Polku API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=[BearerToken(), WebSession()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or []) if p not in ("body", "query", "path", "header", "payload")]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        message = error.get("msg") or _("Invalid value.")
        errors.setdefault(_field(error.get("loc")), []).append(str(message))
    return problem_response(request, 422, "invalid", _("The request has invalid or missing values."), errors=errors)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(request, 401, "not_authenticated",
                            _("Sign in, or send a valid API token: Authorization: Bearer <token>."),
                            headers={"WWW-Authenticate": 'Bearer realm="polku"'})


@api.exception_handler(AuthorizationError)
def _authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return problem_response(request, 403, "forbidden", _("You may not do this."))


@api.exception_handler(TooManyFailures)
def _throttled(request: HttpRequest, exc: TooManyFailures) -> HttpResponse:
    return problem_response(request, 429, "too_many_failures",
                            _("Too many failed sign-in attempts from your address. Try again later."),
                            headers={"Retry-After": str(exc.retry_after)})


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, 404, "not_found", _("Not found, or you may not see it."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        return problem_response(request, 400, "malformed", _("The request body is not valid JSON."))
    return problem_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(AccessDenied)
def _access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    """A refusal about a client the caller may not see at all is a plain 404 (it must not tell whether the
    person is a client here); about a client they do see, a 403 with the reason."""
    entry = getattr(exc, "log_entry", None) or {}
    client_id = entry.get("client_id")
    sees_client = client_id is not None and bool(
        decide(getattr(request, "auth", None) or request.user, client_id, DataCategory.BASIC, AccessAction.VIEW)
    )
    if not sees_client:
        return problem_response(request, 404, "not_found", _("Not found, or you may not see it."))
    return problem_response(request, 403, exc.code, str(exc))


@api.exception_handler(PreconditionRequired)
def _precondition_required(request: HttpRequest, exc: PreconditionRequired) -> HttpResponse:
    return problem_response(request, 428, exc.code, str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database is briefly unreachable (a restart): a clean 503, nothing written (polku.core.unavailable)."""
    return problem_response(request, 503, "unavailable",
                            _("Polku is briefly unavailable. Nothing you had saved is lost. Try again in a moment."),
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """A value the database cannot hold (out of range, malformed): bad input, never a server error."""
    return problem_response(request, 422, "invalid", _("A value is out of the range the database can store."))


@api.exception_handler(IntegrityError)
def _integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    return problem_response(request, 409, "conflict",
                            _("This conflicts with data already saved. Reload and try again."))


@api.exception_handler(InvalidInput)
def _invalid(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    return problem_response(request, 422, exc.code, str(exc), errors=exc.errors or None)


@api.exception_handler(VersionConflict)
def _conflict(request: HttpRequest, exc: VersionConflict) -> HttpResponse:
    return problem_response(request, 412, exc.code, str(exc))


@api.exception_handler(IllegalTransition)
def _illegal(request: HttpRequest, exc: IllegalTransition) -> HttpResponse:
    return problem_response(request, 409, exc.code, str(exc))


@api.exception_handler(DomainError)
def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(request, 409, exc.code, str(exc))


def _register_routers() -> None:
    from .routers import (
        access_log,
        alerts,
        assessments,
        clients,
        episodes,
        indicators,
        me,
        organisations,
        partners,
        plans,
        referrals,
        services,
    )

    api.add_router("/me", me.router, tags=["me"])
    api.add_router("/organisations", organisations.router, tags=["organisations"])
    api.add_router("/services", services.router, tags=["services"])
    api.add_router("/clients", clients.router, tags=["clients"])
    api.add_router("/episodes", episodes.router, tags=["episodes"])
    api.add_router("/plans", plans.router, tags=["plans"])
    api.add_router("/assessments", assessments.router, tags=["assessments"])
    api.add_router("/referrals", referrals.router, tags=["referrals"])
    api.add_router("/alerts", alerts.router, tags=["alerts"])
    api.add_router("/access-log", access_log.router, tags=["access log"])
    api.add_router("/indicators", indicators.router, tags=["indicators"])
    api.add_router("/partners", partners.router, tags=["employment partners"])


_register_routers()
