"""Instruments, assessments against them, and the parties' joint assessment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema
from pydantic import Field

from polku.assessments import selectors, services
from polku.assessments.models import AREA_DATA_CATEGORY, AssessmentArea
from polku.core.translation import translations

from ..deps import actor
from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

# The values of the model's choices, so that the OpenAPI document lists them; mypy cannot read a Literal
# built at run time, so it sees plain text.
if TYPE_CHECKING:
    AreaValue = str
else:
    AreaValue = Literal[tuple(AssessmentArea.values)]
CODE_PATTERN = r"^[-a-zA-Z0-9_]+$"
InstrumentCode = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE_PATTERN)]
ItemCode = Annotated[str, Field(min_length=1, max_length=32)]
AnswerValue = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
LongText = Annotated[str, Field(max_length=10_000)]


def _user_name(user: Any) -> str:
    return "" if user is None else str(user.get_full_name() or user.get_username())


# --- output ------------------------------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    code: str
    position: int
    domain: str
    text: dict[str, str] = Field(description="The item's wording: fi, sv, en")
    scale_min: int
    scale_max: int
    scale_labels: dict[str, Any]

    @staticmethod
    def resolve_text(obj: Any) -> dict[str, str]:
        return translations(obj, "text")


class InstrumentOut(Schema):
    id: int
    code: str
    name: dict[str, str] = Field(description="fi, sv, en")
    description: dict[str, str] = Field(description="fi, sv, en")
    data_category: str = Field(description="The category of client data its assessments are")
    scoring_rule: str
    bands: list[dict[str, Any]]
    higher_is_better: bool
    placeholder: bool = Field(description="The item wording is not public; only the structure is held")
    source: str
    items: list[ItemOut]

    @staticmethod
    def resolve_name(obj: Any) -> dict[str, str]:
        return translations(obj, "name")

    @staticmethod
    def resolve_description(obj: Any) -> dict[str, str]:
        return translations(obj, "description")


class AnswerOut(Schema):
    item_id: int
    item_code: str
    value: int

    @staticmethod
    def resolve_item_code(obj: Any) -> str:
        return str(obj.item.code)


class AssessmentOut(Schema):
    id: int
    client_id: int
    instrument_id: int
    instrument_code: str
    data_category: str
    episode_id: int | None
    joint_assessment_id: int | None
    respondent: str
    organisation_id: int | None
    assessed_by_name: str
    assessed_on: dt.date
    score: Decimal | None
    band: str
    notes: str
    created_at: dt.datetime
    answers: list[AnswerOut]

    @staticmethod
    def resolve_instrument_code(obj: Any) -> str:
        return str(obj.instrument.code)

    @staticmethod
    def resolve_data_category(obj: Any) -> str:
        return str(obj.instrument.data_category)

    @staticmethod
    def resolve_assessed_by_name(obj: Any) -> str:
        return _user_name(obj.assessed_by)


class SectionOut(Schema):
    id: int
    joint_assessment_id: int
    area: str
    data_category: str
    assessor_id: int = Field(description="The staff member who wrote the section")
    assessor_name: str
    findings: str
    service_needs: str

    @staticmethod
    def resolve_data_category(obj: Any) -> str:
        return AREA_DATA_CATEGORY[obj.area]

    @staticmethod
    def resolve_assessor_name(obj: Any) -> str:
        return _user_name(obj.assessor.user)


class DisagreementOut(Schema):
    id: int
    joint_assessment_id: int
    topic: str
    areas: list[str]
    involves_client: bool
    positions: str
    resolution: str


class JointAssessmentOut(Schema):
    id: int
    episode_id: int
    client_id: int
    held_on: dt.date
    client_view: str
    summary: str
    created_at: dt.datetime
    sections: list[SectionOut] = Field(description="The sections of the areas whose data the caller may see")
    disagreements: list[DisagreementOut]


# --- input -------------------------------------------------------------------------------------------------


class AssessmentIn(In):
    client_id: Id
    instrument_code: InstrumentCode
    answers: dict[ItemCode, AnswerValue] = Field(max_length=200, description="Item code → value within its scale")
    assessed_on: dt.date | None = Field(None, description="Default: today")
    episode_id: Id | None = None
    joint_assessment_id: Id | None = None
    notes: LongText = ""


class JointAssessmentIn(In):
    episode_id: Id
    held_on: dt.date
    client_view: LongText = ""
    summary: LongText = ""


class SectionIn(In):
    area: AreaValue
    findings: Annotated[str, Field(min_length=1, max_length=10_000)]
    service_needs: LongText = ""


class DisagreementIn(In):
    topic: Annotated[str, Field(min_length=1, max_length=300)]
    positions: Annotated[str, Field(min_length=1, max_length=10_000)]
    areas: list[AreaValue] = Field(default_factory=list, max_length=len(AssessmentArea.values))
    involves_client: bool = False


class AssessmentFilters(Schema):
    client_id: Id = Field(description="Whose assessments")
    instrument: Annotated[InstrumentCode | None, Field(None, description="Only this instrument's")] = None


# --- operations --------------------------------------------------------------------------------------------


@router.get("/instruments", response={200: Page[InstrumentOut], **error_responses(401, 422)},
            summary="Instruments")
def list_instruments(request: HttpRequest, limit: Limit = None, cursor: Cursor = None) -> Any:
    """Every instrument with its items, scales and score bands (not client data: any signed-in user)."""
    return paginate(selectors.instruments(), cursor=cursor, limit=limit)


@router.get("/instruments/{code}", response={200: InstrumentOut, **error_responses(401, 404, 422)},
            summary="An instrument")
def get_instrument(request: HttpRequest,
                   code: Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]) -> Any:
    instrument = selectors.instrument_get(code=code)
    if instrument is None:
        raise Http404
    return instrument


@router.get("", response={200: Page[AssessmentOut], **error_responses(401, 403, 404, 422)},
            summary="A client's assessments")
def list_assessments(request: HttpRequest, filters: Query[AssessmentFilters], limit: Limit = None,
                     cursor: Cursor = None) -> Any:
    """The client's assessments of the data categories the caller may see (health assessments only to health
    professionals, and so on), with their answers. The read is written to the access log, one row per category
    shown."""
    qs = selectors.assessments_for_client(actor=actor(request), client_id=filters.client_id,
                                          instrument_code=filters.instrument, purpose=_("List assessments (API)"))
    return paginate(qs, cursor=cursor, limit=limit, on_page=lambda rows: selectors.log_assessments_shown(
        actor=actor(request), client_id=filters.client_id, assessments=rows, purpose=_("View assessments (API)")))


@router.post("", response={201: AssessmentOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Record an assessment")
def record_assessment(request: HttpRequest, payload: AssessmentIn) -> Any:
    """Every item of the instrument must be answered within its scale. A client's own answers are a
    self-assessment."""
    assessment = services.assessment_record(actor=actor(request), **payload.dict())
    return 201, assessment


@router.post("/joint", response={201: JointAssessmentOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Start a joint assessment")
def open_joint_assessment(request: HttpRequest, payload: JointAssessmentIn) -> Any:
    joint = services.joint_assessment_open(actor=actor(request), **payload.dict())
    return 201, selectors.JointAssessmentView(joint)


@router.get("/joint/{joint_assessment_id}", response={200: JointAssessmentOut, **error_responses(401, 403, 404)},
            summary="A joint assessment")
def get_joint_assessment(request: HttpRequest, joint_assessment_id: PathId) -> Any:
    """The frame, the disagreements and the sections of the areas whose data category the caller may see."""
    return selectors.joint_assessment_get(actor=actor(request), joint_assessment_id=joint_assessment_id,
                                          purpose=_("View a joint assessment (API)"))


@router.post("/joint/{joint_assessment_id}/sections",
             response={201: SectionOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Write a profession's section of a joint assessment")
def add_section(request: HttpRequest, joint_assessment_id: PathId, payload: SectionIn) -> Any:
    """The caller writes their own profession's section and is its assessor; they must be allowed the area's data
    category (health findings only by a health professional, and so on)."""
    section = services.joint_assessment_add_section(actor=actor(request), joint_assessment_id=joint_assessment_id,
                                                    **payload.dict())
    return 201, section


@router.post("/joint/{joint_assessment_id}/disagreements",
             response={201: DisagreementOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Record a disagreement in a joint assessment")
def record_disagreement(request: HttpRequest, joint_assessment_id: PathId, payload: DisagreementIn) -> Any:
    """Between at least two areas, or with the client (``involves_client``)."""
    disagreement = services.disagreement_record(actor=actor(request), joint_assessment_id=joint_assessment_id,
                                                **payload.dict())
    return 201, disagreement


@router.get("/{assessment_id}", response={200: AssessmentOut, **error_responses(401, 403, 404)},
            summary="An assessment")
def get_assessment(request: HttpRequest, assessment_id: PathId) -> Any:
    return selectors.assessment_get(actor=actor(request), assessment_id=assessment_id,
                                    purpose=_("View an assessment (API)"))
