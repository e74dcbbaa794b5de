"""Employment partners: job openings, a client's suitable jobs and job preferences (guarded by ETag / If-Match),
proposals with the client's agreement, placements, and public contracts' employment clauses (docs/partners.md)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema
from pydantic import Field

from polku.access.policy import staff_of
from polku.core.errors import InvalidInput
from polku.partners import selectors, services
from polku.partners.models import (
    Accommodation,
    Opening,
    OpeningKind,
    ProposalStatus,
    PublicContract,
    Skill,
    TargetGroup,
    WorkLanguage,
)

from ..deps import actor, etag, required_if_match
from ..pagination import Page, paginate
from ..problems import error_responses, problem_response
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

if TYPE_CHECKING:
    KindValue = str
    LanguageValue = str
    TargetGroupValue = str
else:
    KindValue = Literal[tuple(OpeningKind.values)]
    LanguageValue = Literal[tuple(v for v in WorkLanguage.values if v != WorkLanguage.ANY)]
    TargetGroupValue = Literal[tuple(TargetGroup.values)]
IfMatch = Annotated[str | None, Header(None, alias="If-Match", max_length=200,
                                       description='The ETag as read: "job-preferences-{client_id}-v{version}"')]
ETAG_KIND = "job-preferences"


def _staff(request: HttpRequest) -> Any:
    """Openings are for professionals: anyone else is answered as if there were nothing here."""
    if staff_of(actor(request)) is None:
        raise Http404
    return actor(request)


# --- output ------------------------------------------------------------------------------------------------


class EmployerOut(Schema):
    id: int
    name: str
    business_id: str
    kind: str
    municipality_code: str
    mission: str
    profit_share_for_mission: float | None
    social_enterprise_mark: bool


class OpeningOut(Schema):
    id: int
    title: str
    kind: str
    tasks: str
    hours_per_week: int
    municipality_code: str
    physical_demand: int = Field(description="0 none, 1 light, 2 moderate, 3 heavy")
    cognitive_demand: int = Field(description="0 none, 1 light, 2 moderate, 3 heavy")
    accommodations: list[int] = Field(description="The adjustments the employer can make (flags)")
    language: str
    skills: list[str] = Field(description="Codes of the required skills")
    start_date: dt.date
    places: int
    places_taken: int
    status: str
    employer: EmployerOut

    @staticmethod
    def resolve_accommodations(obj: Any) -> list[int]:
        return [int(v) for v in Accommodation.values if obj.accommodations & v]

    @staticmethod
    def resolve_skills(obj: Any) -> list[str]:
        return sorted(s.code for s in obj.skills.all())


class SuggestionOut(Schema):
    opening: OpeningOut
    score: float = Field(description="Fit, 0–1: decision support, never applied by itself")
    distance_km: float | None
    reasons: list[str]
    missing_skills: list[str] = Field(description="Codes of the required skills the client lacks")


class PreferencesOut(Schema):
    client_id: int
    version: int = Field(description="0 before any are recorded")
    etag: str
    hours_min: int
    hours_max: int
    max_commute_km: int
    kinds: list[str]
    languages: list[str]
    accommodations: list[int]
    skills: list[str]
    notes: str
    updated_at: dt.datetime | None


class ProposalOut(Schema):
    id: int
    client_id: int
    opening_id: int
    organisation_id: int
    client_agreed_on: dt.date
    status: str
    score: float | None
    created_at: dt.datetime
    status_changed_at: dt.datetime | None


class PlacementOut(Schema):
    id: int
    client_id: int
    employer_id: int
    opening_id: int | None
    contract_id: int | None
    kind: str
    start_date: dt.date
    end_date: dt.date | None
    hours_per_week: int
    target_groups: list[str]
    version: int


class ContractTotalOut(Schema):
    name: str | None = Field(description="The procurer's or supplier's name; null on the total row")
    contracts: int
    required_hires: int
    hires: int | None = Field(description="Null where the count is below the small-cell threshold")
    hires_text: str
    months: float | None
    percent: float | None
    behind: int = Field(description="Contracts behind what was expected by now")


class FulfilmentPointOut(Schema):
    day: dt.date
    hires: int
    months: float
    expected_hires: float
    expected_months: float


class ContractOut(Schema):
    id: int
    reference: str
    title: str
    procurer_id: int
    supplier_id: int
    start_date: dt.date
    end_date: dt.date
    required_hires: int
    required_months: float
    target_groups: list[str]
    hires: int
    months: float
    expected_hires: float
    expected_months: float
    share_elapsed: float
    status: str = Field(description="met, on_track, behind or not_started")


class ContractDetailOut(ContractOut):
    value_eur: float
    over_time: list[FulfilmentPointOut] = Field(description="The fulfilment at the end of every month so far")


# --- input -------------------------------------------------------------------------------------------------


class OpeningFilters(Schema):
    kind: KindValue | None = None
    municipality: Annotated[str | None, Field(None, pattern=r"^[0-9]{3}$", description="Municipality code")] = None
    language: LanguageValue | None = Field(None, description="Openings in this language or in any")
    open_only: bool = Field(False, description="Only open openings with places left")
    employer_id: Id | None = None


class PreferencesIn(In):
    hours_min: Annotated[int, Field(ge=0, le=60)]
    hours_max: Annotated[int, Field(ge=1, le=60)]
    max_commute_km: Annotated[int, Field(ge=0, le=500)]
    kinds: list[KindValue] = Field(default_factory=list, max_length=10)
    languages: list[LanguageValue] = Field(default_factory=list, max_length=10)
    accommodations: list[int] = Field(default_factory=list, max_length=20,
                                      description="Flags of the adjustments the client needs")
    skills: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=200,
                                                                description="Skill codes")
    notes: Annotated[str, Field(max_length=2000)] = ""


class ProposalIn(In):
    client_id: Id
    opening_id: Id
    client_agreed: bool = Field(description="The client agreed to be proposed; without it nothing is sent")


class PlacementIn(In):
    client_id: Id
    employer_id: Id
    kind: KindValue
    start_date: dt.date
    end_date: dt.date | None = None
    hours_per_week: Annotated[int, Field(ge=1, le=60)]
    opening_id: Id | None = None
    contract_id: Id | None = None
    target_groups: list[TargetGroupValue] = Field(default_factory=list, max_length=10)


def _preferences(client_id: int, prefs: Any) -> dict[str, Any]:
    if prefs is None:
        return {"client_id": client_id, "version": 0, "etag": etag(ETAG_KIND, client_id, 0), "hours_min": 0,
                "hours_max": 40, "max_commute_km": 30, "kinds": [], "languages": [], "accommodations": [],
                "skills": [], "notes": "", "updated_at": None}
    return {"client_id": client_id, "version": prefs.version, "etag": etag(ETAG_KIND, client_id, prefs.version),
            "hours_min": prefs.hours_min, "hours_max": prefs.hours_max, "max_commute_km": prefs.max_commute_km,
            "kinds": prefs.kinds, "languages": prefs.languages,
            "accommodations": [int(v) for v in Accommodation.values if prefs.accommodations_needed & v],
            "skills": sorted(s.code for s in prefs.skills.all()), "notes": prefs.notes,
            "updated_at": prefs.updated_at}


# --- operations --------------------------------------------------------------------------------------------


@router.get("/openings", response={200: Page[OpeningOut], **error_responses(401, 404, 422)},
            summary="Job openings")
def list_openings(request: HttpRequest, filters: Query[OpeningFilters], limit: Limit = None,
                  cursor: Cursor = None) -> Any:
    """Supported, subsidised and open-market openings, filtered; for professionals (no client data)."""
    _staff(request)
    qs = selectors.openings(kind=filters.kind or "", municipality=filters.municipality or "",
                            language=filters.language or "", open_only=filters.open_only,
                            employer_id=filters.employer_id).prefetch_related("skills")
    return paginate(qs, cursor=cursor, limit=limit)


@router.get("/openings/{opening_id}", response={200: OpeningOut, **error_responses(401, 404)}, summary="An opening")
def get_opening(request: HttpRequest, opening_id: PathId) -> Any:
    _staff(request)
    opening = Opening.objects.select_related("employer").prefetch_related("skills").filter(pk=opening_id).first()
    if opening is None:
        raise Http404
    return opening


@router.get("/job-suggestions/{client_id}", response={200: list[SuggestionOut], **error_responses(401, 403, 404,
                                                                                                  422)},
            summary="Suitable openings for a client")
def job_suggestions(request: HttpRequest, client_id: PathId,
                    limit: Annotated[int, Query(10, ge=1, le=100)] = 10) -> Any:
    """The openings that break none of the client's hard constraints, best fit first, each with its reasons and
    the skills missing. Decision support: the coordinator and the client decide. The read is logged."""
    _profile, matches = services.suggest_openings(actor=actor(request), client_id=client_id, limit=limit)
    codes = dict(Skill.objects.values_list("pk", "code"))
    return [{"opening": m.opening, "score": m.score, "distance_km": None if m.distance_km is None
             else round(m.distance_km, 1), "reasons": [str(r) for r in m.reasons],
             "missing_skills": sorted(codes[s] for s in m.missing_skills if s in codes)} for m in matches]


@router.get("/job-preferences/{client_id}", response={200: PreferencesOut, **error_responses(401, 403, 404)},
            summary="A client's job preferences")
def get_preferences(request: HttpRequest, response: HttpResponse, client_id: PathId) -> Any:
    """What the client wants and needs from work (version 0 and the defaults before any are recorded). The ``ETag``
    names the version: send it in ``If-Match`` to change them."""
    prefs = selectors.job_preferences_get(actor=actor(request), client_id=client_id,
                                          purpose=_("View the client's job preferences (API)"))
    body = _preferences(client_id, prefs)
    response["ETag"] = body["etag"]
    return body


@router.put("/job-preferences/{client_id}",
            response={200: PreferencesOut, **error_responses(401, 403, 404, 412, 422, 428)},
            summary="Record a client's job preferences")
def put_preferences(request: HttpRequest, response: HttpResponse, client_id: PathId, payload: PreferencesIn,
                    if_match: IfMatch = None) -> Any:
    """Send the ``ETag`` you read in ``If-Match`` (without it, 428). If someone changed the preferences since,
    412 and nothing is written."""
    expected = required_if_match(request, ETAG_KIND, client_id)
    prefs = services.set_job_preferences(
        actor=actor(request), client_id=client_id, expected_version=expected, hours_min=payload.hours_min,
        hours_max=payload.hours_max, max_commute_km=payload.max_commute_km, kinds=payload.kinds,
        languages=payload.languages, accommodations=payload.accommodations, skill_codes=payload.skills,
        notes=payload.notes)
    body = _preferences(client_id, prefs)
    response["ETag"] = body["etag"]
    return body


@router.post("/proposals", response={201: ProposalOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Propose a client to an opening")
def create_proposal(request: HttpRequest, payload: ProposalIn) -> Any:
    """Only with the client's agreement (``client_agreed``: false is refused, 422) and only to an opening that
    breaks none of the client's hard constraints (409); once per opening (409)."""
    proposal = services.propose(actor=actor(request), client_id=payload.client_id, opening_id=payload.opening_id,
                                client_agreed=payload.client_agreed)
    return 201, proposal


class ProposalAnswerIn(In):
    expected_status: str | None = Field(None, description="The status the caller saw; if the proposal has "
                                                          "changed since, 409 and nothing is written")


def _answer(request: HttpRequest, proposal_id: int, status: str, payload: ProposalAnswerIn | None) -> Any:
    return services.set_proposal_status(actor=actor(request), proposal_id=proposal_id, status=status,
                                        expected_status=payload.expected_status if payload else None)


@router.post("/proposals/{proposal_id}/interview", response={200: ProposalOut, **error_responses(401, 403, 404, 409)},
             summary="The employer invited the client to an interview")
def proposal_interview(request: HttpRequest, proposal_id: PathId, payload: ProposalAnswerIn | None = None) -> Any:
    """From ``proposed``; otherwise 409."""
    return _answer(request, proposal_id, ProposalStatus.INTERVIEW, payload)


@router.post("/proposals/{proposal_id}/accept", response={200: ProposalOut, **error_responses(401, 403, 404, 409)},
             summary="The employer accepted the client")
def proposal_accept(request: HttpRequest, proposal_id: PathId, payload: ProposalAnswerIn | None = None) -> Any:
    """From ``proposed`` or ``interview``; final. Record the start of work with ``POST /placements``."""
    return _answer(request, proposal_id, ProposalStatus.ACCEPTED, payload)


@router.post("/proposals/{proposal_id}/decline", response={200: ProposalOut, **error_responses(401, 403, 404, 409)},
             summary="The employer declined")
def proposal_decline(request: HttpRequest, proposal_id: PathId, payload: ProposalAnswerIn | None = None) -> Any:
    """From ``proposed`` or ``interview``; final."""
    return _answer(request, proposal_id, ProposalStatus.DECLINED, payload)


@router.post("/proposals/{proposal_id}/withdraw", response={200: ProposalOut, **error_responses(401, 403, 404, 409)},
             summary="Withdraw the proposal")
def proposal_withdraw(request: HttpRequest, proposal_id: PathId, payload: ProposalAnswerIn | None = None) -> Any:
    """From ``proposed`` or ``interview`` (e.g. the client changed their mind); final."""
    return _answer(request, proposal_id, ProposalStatus.WITHDRAWN, payload)


@router.get("/job-proposals/{client_id}", response={200: list[ProposalOut], **error_responses(401, 404)},
            summary="A client's proposals to employers")
def client_proposals(request: HttpRequest, client_id: PathId) -> Any:
    """Newest first. A client whose employment data the caller may not see is answered 404."""
    return services.client_proposals(actor=actor(request), client_id=client_id)


@router.post("/placements", response={201: PlacementOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Record a job placement")
def create_placement(request: HttpRequest, payload: PlacementIn) -> Any:
    """The client starts work: also an employment-status period. Under a contract, it counts towards the
    contract's employment clause."""
    if payload.end_date is not None and payload.end_date < payload.start_date:
        raise InvalidInput(_("Check the placement."),
                           errors={"end_date": [str(_("The end cannot be before the start."))]})
    placement = services.record_placement(actor=actor(request), **payload.dict())
    return 201, placement


def _contract_out(f: Any) -> dict[str, Any]:
    return {"id": f.contract.pk, "reference": f.contract.reference, "title": f.contract.title,
            "procurer_id": f.contract.procurer_id, "supplier_id": f.contract.supplier_id,
            "start_date": f.contract.start_date, "end_date": f.contract.end_date,
            "required_hires": f.contract.required_hires, "required_months": float(f.contract.required_months),
            "target_groups": f.contract.target_groups, "hires": f.hires, "months": f.months,
            "expected_hires": f.expected_hires, "expected_months": f.expected_months,
            "share_elapsed": f.share_elapsed, "status": f.status}


def _contracts_refused(request: HttpRequest) -> Any:
    return problem_response(request, 403, "forbidden",
                            _("Public contracts and their employment clauses are for managers, administrators and "
                              "procurement officers."))


@router.get("/contracts", response={200: list[ContractOut], **error_responses(401, 403)},
            summary="Public contracts and their employment clauses")
def list_contracts(request: HttpRequest, as_of: dt.date | None = None) -> Any:
    """Each contract's employment clause: hires and employment months so far against what is required and what
    is expected by ``as_of`` (default today). Managers and administrators see every contract, a procurement
    officer their own organisation's (others 403)."""
    if not selectors.may_see_contracts(actor(request)):
        return _contracts_refused(request)
    return [_contract_out(f)
            for f in selectors.fulfilment(selectors.contracts_visible_to(actor(request)), as_of=as_of)]


@router.get("/contracts/totals", response={200: list[ContractTotalOut], **error_responses(401, 403, 422)},
            summary="Employment clauses' fulfilment summed by procurer or by supplier")
def contract_totals(request: HttpRequest, by: Literal["procurer", "supplier"] = "procurer",
                    as_of: dt.date | None = None) -> Any:
    """The contracts the caller may see, summed by procuring organisation or by supplier, with a total row
    (``name`` null). Hires are counts of people: a count below the small-cell threshold is hidden (``hires`` and
    the figures derived from it null, ``hires_text`` "<k"), as in all indicators."""
    if not selectors.may_see_contracts(actor(request)):
        return _contracts_refused(request)
    rows = selectors.fulfilment(selectors.contracts_visible_to(actor(request)), as_of=as_of)
    return selectors.report_by(rows, by)


@router.get("/contracts/{contract_id}", response={200: ContractDetailOut, **error_responses(401, 403, 404)},
            summary="One contract's employment clause, month by month")
def get_contract(request: HttpRequest, contract_id: PathId, as_of: dt.date | None = None) -> Any:
    """One contract's fulfilment on ``as_of`` (default today) and at the end of every month of its period so
    far, against what was expected by then. A contract the caller may not follow is answered 404."""
    if not selectors.may_see_contracts(actor(request)):
        return _contracts_refused(request)
    contract = selectors.contracts_visible_to(actor(request)).filter(pk=contract_id).first()
    if contract is None:
        raise Http404
    (today,) = selectors.fulfilment(PublicContract.objects.filter(pk=contract.pk), as_of=as_of)
    return {**_contract_out(today), "value_eur": float(contract.value_eur),
            "over_time": selectors.fulfilment_over_time(contract, as_of=as_of)}
