"""Clients, their consents and their employment-status periods."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeAlias

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema
from pydantic import Field

from polku.access.policy import log_list_access, visible_clients_page
from polku.accounts.reauth import require_recent_auth_api
from polku.clients import selectors, services
from polku.clients.models import (
    Consent,
    ConsentMethod,
    EducationLevel,
    EmploymentStatus,
    EmploymentStatusPeriod,
    Gender,
)
from polku.core.choices import DataCategory, Language, YesNoNotStated

from ..deps import actor, etag, required_if_match
from ..pagination import DEFAULT_LIMIT, Page, decode_cursor, encode_cursor, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

YesNo: TypeAlias = Literal[tuple(YesNoNotStated.values)]  # type: ignore[valid-type]
GenderValue: TypeAlias = Literal[tuple(Gender.values)]  # type: ignore[valid-type]
LanguageValue: TypeAlias = Literal[tuple(Language.values)]  # type: ignore[valid-type]
EducationValue: TypeAlias = Literal[tuple(EducationLevel.values)]  # type: ignore[valid-type]
CategoryValue: TypeAlias = Literal[  # type: ignore[valid-type]
    tuple(c for c in DataCategory.values if c != DataCategory.BASIC)]
StatusValue: TypeAlias = Literal[tuple(EmploymentStatus.values)]  # type: ignore[valid-type]
MethodValue: TypeAlias = Literal[tuple(ConsentMethod.values)]  # type: ignore[valid-type]
Municipality = Annotated[str, Field(pattern=r"^[0-9]{3}$", description="Statistics Finland municipality code")]
Text100 = Annotated[str, Field(min_length=1, max_length=100)]


class ClientOut(Schema):
    id: int
    personal_identity_code: str
    first_name: str
    last_name: str
    birth_date: dt.date
    legal_sex: str
    gender: str
    preferred_language: str
    municipality_code: str
    phone: str
    email: str
    address: str
    education_level: str
    foreign_background: str
    third_country_national: str
    minority: str
    disability: str
    homeless: str
    version: int


class ClientBackground(In):
    gender: GenderValue | None = None
    preferred_language: LanguageValue | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    address: Annotated[str, Field(max_length=300)] | None = None
    education_level: EducationValue | None = None
    foreign_background: YesNo | None = None
    third_country_national: YesNo | None = None
    minority: YesNo | None = None
    disability: YesNo | None = None
    homeless: YesNo | None = None


class ConsentIn(In):
    organisation_id: Id
    category: CategoryValue
    purpose: Annotated[str, Field(min_length=1, max_length=300)]
    valid_to: dt.datetime | None = None


class ClientCreate(ClientBackground):
    personal_identity_code: Annotated[str, Field(min_length=1, max_length=20)]
    first_name: Text100
    last_name: Text100
    municipality_code: Municipality
    start_date: dt.date | None = None
    consents: list[ConsentIn] = Field(min_length=1, max_length=20)
    consent_method: MethodValue = ConsentMethod.IN_PERSON


class ClientUpdate(ClientBackground):
    first_name: Text100 | None = None
    last_name: Text100 | None = None
    municipality_code: Municipality | None = None


class ConsentOut(Schema):
    id: int
    client_id: int
    organisation_id: int
    category: str
    purpose: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    method: str
    recorded_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str


class RevokeIn(In):
    reason: Annotated[str, Field(max_length=300)] = ""


class PeriodOut(Schema):
    id: int
    client_id: int
    status: str
    start_date: dt.date
    end_date: dt.date | None
    source: str


class PeriodIn(In):
    status: StatusValue
    start_date: dt.date
    end_date: dt.date | None = None
    source: Annotated[str, Field(max_length=100)] = ""


class ClientFilters(Schema):
    search: Annotated[str | None, Field(None, max_length=100, description="Part of a name")] = None
    municipality_code: Annotated[str | None, Field(None, pattern=r"^[0-9]{3}$")] = None


def _client_response(response: HttpResponse, client: Any) -> None:
    response["ETag"] = etag("client", client.pk, client.version)


@router.get("", response={200: Page[ClientOut], **error_responses(401, 422)}, summary="The caller's caseload")
def list_clients(request: HttpRequest, filters: Query[ClientFilters], limit: Limit = None,
                 cursor: Cursor = None) -> Any:
    """The clients whose basic details the caller may see (their organisation's current clients who consent);
    for a client, themself. Each client returned is written to the access log."""
    size = DEFAULT_LIMIT if limit is None else limit
    search = (filters.search or "").strip()
    rows = visible_clients_page(actor(request), DataCategory.BASIC, after=decode_cursor(cursor) if cursor else 0,
                                limit=size + 1, search=search, municipality_code=filters.municipality_code or "")
    more = len(rows) > size
    rows = rows[:size]
    if rows:
        log_list_access(user=actor(request), client_ids=[c.pk for c in rows], category=DataCategory.BASIC,
                        purpose=_("Caseload list (API)"))
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].pk) if more else None, "limit": size}


@router.post("", response={201: ClientOut, **error_responses(401, 403, 404, 422)},
             summary="Register a client in the joint service")
def create_client(request: HttpRequest, response: HttpResponse, payload: ClientCreate) -> Any:
    """Creates the client, opens a joint-service episode with the caller's organisation and records the consents
    (one for the caller's own organisation is required)."""
    data = payload.dict(exclude_none=True)
    grants = [services.ConsentGrant(**c) for c in data.pop("consents")]
    client = services.client_register(actor=actor(request), consents=grants, **data)
    _client_response(response, client)
    return 201, client


@router.get("/{client_id}", response={200: ClientOut, **error_responses(401, 404)}, summary="A client")
def get_client(request: HttpRequest, response: HttpResponse, client_id: PathId) -> Any:
    client = selectors.client_get(actor=actor(request), client_id=client_id, purpose=_("View client details (API)"))
    _client_response(response, client)
    return client


@router.patch("/{client_id}", response={200: ClientOut, **error_responses(401, 403, 404, 412, 422, 428)},
              summary="Change a client's details")
def update_client(request: HttpRequest, response: HttpResponse, client_id: PathId, payload: ClientUpdate,
                  if_match: Annotated[str | None, Header(None, alias="If-Match")] = None) -> Any:
    """Send the ETag of the client you read in ``If-Match``; if someone changed the client since, 412."""
    selectors.client_get(actor=actor(request), client_id=client_id, purpose=_("Update client details (API)"))
    version = required_if_match(request, "client", client_id)
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    client = services.client_update(actor=actor(request), client_id=client_id, expected_version=version, **changes)
    _client_response(response, client)
    return client


@router.get("/{client_id}/consents", response={200: Page[ConsentOut], **error_responses(401, 404, 422)},
            summary="A client's consents")
def list_consents(request: HttpRequest, client_id: PathId, limit: Limit = None, cursor: Cursor = None) -> Any:
    qs = selectors.consents_for_client(actor=actor(request), client_id=client_id)
    return paginate(qs, cursor=cursor, limit=limit, descending=True)


@router.post("/{client_id}/consents", response={201: ConsentOut, **error_responses(401, 403, 404, 422)},
             summary="Record a consent")
def grant_consent(request: HttpRequest, client_id: PathId, payload: ConsentIn) -> Any:
    require_recent_auth_api(request)  # the web session must have confirmed recently; bearer tokens are exempt
    consent = services.consent_record(actor=actor(request), client_id=client_id,
                                      grant=services.ConsentGrant(**payload.dict()))
    return 201, consent


@router.post("/{client_id}/consents/{consent_id}/revoke",
             response={200: ConsentOut, **error_responses(401, 403, 404, 409, 422)}, summary="Revoke a consent")
def revoke_consent(request: HttpRequest, client_id: PathId, consent_id: PathId, payload: RevokeIn) -> Any:
    require_recent_auth_api(request)
    if not Consent.objects.filter(pk=consent_id, client_id=client_id).exists():
        raise Http404
    return services.consent_revoke(actor=actor(request), consent_id=consent_id, reason=payload.reason)


@router.get("/{client_id}/employment-periods",
            response={200: Page[PeriodOut], **error_responses(401, 403, 404, 422)},
            summary="A client's employment-status periods")
def list_periods(request: HttpRequest, client_id: PathId, limit: Limit = None, cursor: Cursor = None) -> Any:
    qs = selectors.employment_history(actor=actor(request), client_id=client_id)
    return paginate(qs, cursor=cursor, limit=limit)


@router.post("/{client_id}/employment-periods", response={201: PeriodOut, **error_responses(401, 403, 404, 422)},
             summary="Record an employment-status period")
def record_period(request: HttpRequest, client_id: PathId, payload: PeriodIn) -> Any:
    period: EmploymentStatusPeriod = services.employment_period_record(
        actor=actor(request), client_id=client_id, **payload.dict())
    return 201, period


class SuggestionReasonOut(Schema):
    feature: str
    label: str
    value: str
    contribution: float = Field(description="change of the estimated effect this reason makes (probability scale)")


class ClassEffectOut(Schema):
    service_class: str
    effect: float = Field(description="estimated change in the chance of being in work in 12 months if a service "
                                      "of this class starts now, against no service (probability scale)")
    ci_low: float
    ci_high: float
    under_way: bool = Field(description="the client already has a draft or open referral to a service of this class "
                                        "(among those the caller's organisation may see)")
    reasons: list[SuggestionReasonOut]


class SuggestedReferralOut(Schema):
    id: int
    status: str
    created_at: dt.datetime
    is_open: bool


class SuggestedServiceOut(Schema):
    service: int
    name: str
    provider: str
    service_class: str
    effect: float
    ci_low: float
    ci_high: float
    waiting_days: float | None
    languages: list[str]
    in_client_language: bool | None = Field(description="whether the service lists the client's preferred "
                                                        "language (null: not known)")
    target_groups: list[str]
    referral: SuggestedReferralOut | None = Field(description="the client's latest referral to this service that "
                                                              "the caller's organisation may see")


class SuggestionsOut(Schema):
    available: bool
    detail: str
    effect_run: int | None
    as_of: dt.date | None
    classes: list[ClassEffectOut]
    services: list[SuggestedServiceOut]
    hidden_reasons: int = Field(description="reasons from data the caller may not see, counted, not shown")


@router.get("/{client_id}/suggested-services", response={200: SuggestionsOut, **error_responses(401, 403, 404, 422)},
            summary="Services that may help a client (decision support)")
def suggested_services(request: HttpRequest, client_id: PathId, as_of: dt.date | None = None) -> Any:
    """The kinds of service ranked by their estimated effect on this client (per-client effects of the latest
    stored effect run, with 95 % intervals and reasons) and the active services offered in the client's
    municipality of the kinds estimated to help, best first. Suggestions only: nothing is applied. For the
    professionals who may see the client's employment data; the read is logged. ``available`` is false (and
    ``detail`` says why) when no effect run with per-client effects is stored or the client has no open
    joint-service episode."""
    from polku.impact.selectors import service_suggestions

    found = service_suggestions(actor=actor(request), client_id=client_id, today=as_of)
    if found is None:
        return {"available": False, "effect_run": None, "as_of": as_of, "classes": [], "services": [],
                "hidden_reasons": 0,
                "detail": str(_("No suggestions: the effects of services have not been estimated yet, or the client "
                                "has no open joint-service episode."))}
    return {
        "available": True, "detail": "", "effect_run": found.run_id, "as_of": found.as_of,
        "hidden_reasons": found.hidden_reasons,
        "classes": [{"service_class": c.service_class, "effect": round(c.effect, 4), "ci_low": round(c.low, 4),
                     "ci_high": round(c.high, 4), "under_way": c.under_way,
                     "reasons": [{"feature": r.feature, "label": str(r.label), "value": str(r.value),
                                  "contribution": round(r.contribution, 4)} for r in c.reasons]}
                    for c in found.classes],
        "services": [{"service": s.service.pk, "name": str(s.service), "provider": str(s.service.provider),
                      "service_class": s.service.service_class, "effect": round(s.effect.effect, 4),
                      "ci_low": round(s.effect.low, 4), "ci_high": round(s.effect.high, 4),
                      "waiting_days": s.waiting_days, "languages": [str(c) for c in s.service.languages or []],
                      "in_client_language": s.in_client_language,
                      "target_groups": [str(g) for g in s.service.target_groups or []],
                      "referral": None if s.referral is None else {
                          "id": s.referral.pk, "status": s.referral.status, "created_at": s.referral.created_at,
                          "is_open": s.referral.is_open}}
                     for s in found.services],
    }
