"""The multi-sector employment plan: versions (guarded by ETag / If-Match), sign-offs, reviews, step progress."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Header, Path, Query, Router, Schema
from pydantic import Field

from polku.access.policy import log_list_access
from polku.plans import selectors, services
from polku.plans.models import GoalArea, ReviewTrigger, StepKind, StepStatus

from ..deps import actor, etag, required_if_match
from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

# The values of the model's choices, so that the OpenAPI document lists them; mypy cannot read a Literal
# built at run time, so it sees plain text.
if TYPE_CHECKING:
    AreaValue = str
    KindValue = str
    StepStatusValue = str
    TriggerValue = str
else:
    AreaValue = Literal[tuple(GoalArea.values)]
    KindValue = Literal[tuple(StepKind.values)]
    StepStatusValue = Literal[tuple(StepStatus.values)]
    TriggerValue = Literal[tuple(ReviewTrigger.values)]
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version's number within its plan")]
IfMatch = Annotated[str | None, Header(None, alias="If-Match", max_length=200,
                                       description='The plan\'s ETag as read: "plan-{id}-v{version}"')]
LongText = Annotated[str, Field(max_length=5000)]


def _user_name(user: Any) -> str:
    return "" if user is None else str(user.get_full_name() or user.get_username())


# --- output ------------------------------------------------------------------------------------------------


class StepOut(Schema):
    id: int
    goal_id: int
    position: int
    kind: str
    description: str
    service_id: int | None
    owner_organisation_id: int | None
    owned_by_client: bool
    due_date: dt.date | None
    status: str
    status_changed_at: dt.datetime | None


class GoalOut(Schema):
    id: int
    position: int
    area: str
    title: str
    description: str
    steps: list[StepOut]


class SignoffOut(Schema):
    id: int
    plan_version_id: int
    party: str
    organisation_id: int | None
    signed_by_name: str
    signed_at: dt.datetime

    @staticmethod
    def resolve_signed_by_name(obj: Any) -> str:
        return _user_name(obj.signed_by)


class PlanVersionOut(Schema):
    id: int
    plan_id: int
    number: int
    employment_goal: str
    rehabilitative_work_goal: str
    follow_up: str
    change_summary: str
    created_by_name: str
    created_at: dt.datetime
    goals: list[GoalOut]
    signoffs: list[SignoffOut]

    @staticmethod
    def resolve_created_by_name(obj: Any) -> str:
        return _user_name(obj.created_by)


class ReviewOut(Schema):
    id: int
    plan_id: int
    trigger: str
    requested_at: dt.datetime
    held_on: dt.date | None
    reviewed_by_name: str
    notes: str
    resulting_version_id: int | None

    @staticmethod
    def resolve_reviewed_by_name(obj: Any) -> str:
        return _user_name(obj.reviewed_by)


class PlanOut(Schema):
    id: int
    episode_id: int
    client_id: int
    current_version: int = Field(description="0 before the first version")
    etag: str = Field(description="Send this back in If-Match to add a version")
    next_review_due: dt.date | None
    created_at: dt.datetime
    current: PlanVersionOut | None = Field(description="The current version's content; null before the first")
    reviews: list[ReviewOut]

    @staticmethod
    def resolve_client_id(obj: Any) -> int:
        return int(obj.episode.client_id)

    @staticmethod
    def resolve_etag(obj: Any) -> str:
        return etag("plan", obj.pk, obj.current_version)

    @staticmethod
    def resolve_current(obj: Any) -> Any:
        versions = getattr(obj, "current_versions", None)
        if versions is None:
            versions = list(obj.versions.filter(number=obj.current_version))
        return versions[0] if versions else None


# --- input -------------------------------------------------------------------------------------------------


class StepIn(In):
    description: Annotated[str, Field(min_length=1, max_length=500)]
    kind: KindValue = StepKind.ACTION
    owner_organisation_id: Id | None = Field(None, description="A participating organisation or the service's "
                                                                "provider; or set owned_by_client")
    owned_by_client: bool = False
    service_id: Id | None = Field(None, description="Required when kind is service")
    due_date: dt.date | None = None
    status: StepStatusValue = StepStatus.PLANNED


class GoalIn(In):
    area: AreaValue
    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: LongText = ""
    steps: list[StepIn] = Field(default_factory=list, max_length=50)


class PlanVersionIn(In):
    employment_goal: Annotated[str, Field(min_length=1, max_length=5000)]
    rehabilitative_work_goal: LongText = ""
    follow_up: LongText = ""
    change_summary: LongText = ""
    next_review_due: dt.date | None = Field(None, description="Default: the review interval from today")
    goals: list[GoalIn] = Field(min_length=1, max_length=50)


class PlanCreate(PlanVersionIn):
    episode_id: Id


class SignIn(In):
    client_agreed_in_person: bool = Field(False, description="Staff record that the client agreed in person")


class ReviewRequestIn(In):
    trigger: TriggerValue = ReviewTrigger.CLIENT_REQUEST
    notes: LongText = ""


class ReviewIn(In):
    held_on: dt.date
    notes: LongText = ""
    review_id: Id | None = Field(None, description="The review request this review answers")
    next_review_due: dt.date | None = Field(None, description="Default: the review interval from held_on")


class StepStatusIn(In):
    status: StepStatusValue


class PlanFilters(Schema):
    episode_id: Annotated[Id | None, Field(None, description="Only the plan of this episode")] = None
    client_id: Annotated[Id | None, Field(None, description="Only this client's plans")] = None


def _content(payload: PlanVersionIn) -> dict[str, Any]:
    """The service's arguments for a version's content."""
    goals = [
        services.GoalInput(area=g.area, title=g.title, description=g.description,
                           steps=tuple(services.StepInput(**s.dict()) for s in g.steps))
        for g in payload.goals
    ]
    return {**payload.dict(exclude={"goals", "episode_id"}), "goals": goals}


def _version_response(response: HttpResponse, version: Any) -> None:
    response["ETag"] = etag("plan", version.plan_id, version.number)


# --- operations --------------------------------------------------------------------------------------------


@router.post("/steps/{step_id}/status", response={200: StepOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Mark progress on a plan step")
def set_step_status(request: HttpRequest, step_id: PathId, payload: StepStatusIn) -> Any:
    """The step's responsible organisation (or, for the client's own steps, the client or a participating
    professional) sets its status. Only steps of the current version change."""
    return services.step_set_status(actor=actor(request), step_id=step_id, status=payload.status)


@router.get("", response={200: Page[PlanOut], **error_responses(401, 403, 404, 422)},
            summary="Plans the caller may see")
def list_plans(request: HttpRequest, filters: Query[PlanFilters], limit: Limit = None, cursor: Cursor = None) -> Any:
    """The plans of the clients whose employment data the caller may see, each with its current version and
    ``etag``. With ``episode_id`` or ``client_id`` the read of that client is logged once; otherwise each client
    shown is written to the access log."""
    qs = selectors.plans_visible_to(actor(request), episode_id=filters.episode_id, client_id=filters.client_id,
                                    purpose=_("View the multi-sector plan (API)"))
    if filters.episode_id is not None or filters.client_id is not None:
        return paginate(qs, cursor=cursor, limit=limit)
    return paginate(qs, cursor=cursor, limit=limit, on_page=lambda rows: log_list_access(
        user=actor(request), client_ids=sorted({p.episode.client_id for p in rows}),
        category=services.PLAN_CATEGORY, purpose=_("Multi-sector plan list (API)")))


@router.post("", response={201: PlanVersionOut, **error_responses(401, 403, 404, 409, 412, 422)},
             summary="Write the first version of an episode's plan")
def create_plan(request: HttpRequest, response: HttpResponse, payload: PlanCreate) -> Any:
    """Creates the episode's plan with its first version and answers with the plan's ``ETag``. If the plan already
    has a version, 412: read it and add a version with ``POST /plans/{plan_id}/versions``."""
    version = services.plan_add_version(actor=actor(request), episode_id=payload.episode_id, expected_version=0,
                                        **_content(payload))
    _version_response(response, version)
    return 201, version


@router.get("/{plan_id}", response={200: PlanOut, **error_responses(401, 403, 404)}, summary="A plan")
def get_plan(request: HttpRequest, response: HttpResponse, plan_id: PathId) -> Any:
    """The plan with its current version's goals, steps and sign-offs, and its reviews. The ``ETag`` names the
    current version: send it in ``If-Match`` to add a version."""
    plan = selectors.plan_get(actor=actor(request), plan_id=plan_id, purpose=_("View the multi-sector plan (API)"))
    response["ETag"] = etag("plan", plan.pk, plan.current_version)
    return plan


@router.get("/{plan_id}/versions", response={200: Page[PlanVersionOut], **error_responses(401, 403, 404, 422)},
            summary="A plan's versions")
def list_versions(request: HttpRequest, plan_id: PathId, limit: Limit = None, cursor: Cursor = None) -> Any:
    qs = selectors.plan_versions(actor=actor(request), plan_id=plan_id,
                                 purpose=_("View the versions of the multi-sector plan (API)"))
    return paginate(qs, cursor=cursor, limit=limit)


@router.post("/{plan_id}/versions",
             response={201: PlanVersionOut, **error_responses(401, 403, 404, 409, 412, 422, 428)},
             summary="Save a new version of a plan")
def add_version(request: HttpRequest, response: HttpResponse, plan_id: PathId, payload: PlanVersionIn,
                if_match: IfMatch = None) -> Any:
    """Send the plan's ``ETag`` in ``If-Match`` (without it, 428). If someone saved a version since you read it,
    412 and nothing is written: read the plan again and make your changes on top. The answer carries the new
    ``ETag``."""
    expected = required_if_match(request, "plan", plan_id)
    episode_id = selectors.plan_episode_id(plan_id=plan_id)
    if episode_id is None:
        raise Http404
    version = services.plan_add_version(actor=actor(request), episode_id=episode_id, expected_version=expected,
                                        **_content(payload))
    _version_response(response, version)
    return 201, version


@router.get("/{plan_id}/versions/{number}", response={200: PlanVersionOut, **error_responses(401, 403, 404)},
            summary="A version of a plan")
def get_version(request: HttpRequest, plan_id: PathId, number: VersionNumber) -> Any:
    return selectors.plan_version_get(actor=actor(request), plan_id=plan_id, number=number,
                                      purpose=_("View a version of the multi-sector plan (API)"))


@router.post("/{plan_id}/versions/{number}/sign",
             response={201: SignoffOut, **error_responses(401, 403, 404, 409, 422)}, summary="Agree a plan version")
def sign_version(request: HttpRequest, plan_id: PathId, number: VersionNumber, payload: SignIn) -> Any:
    """The caller agrees the current version: as their organisation's responsible person, as the client, or (with
    ``client_agreed_in_person``) recording that the client agreed in person."""
    version_id = selectors.plan_version_id(plan_id=plan_id, number=number)
    if version_id is None:
        raise Http404
    signoff = services.plan_sign(actor=actor(request), plan_version_id=version_id,
                                 client_agreed_in_person=payload.client_agreed_in_person)
    return 201, signoff


@router.post("/{plan_id}/review-requests", response={201: ReviewOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Ask for a review of a plan")
def request_review(request: HttpRequest, plan_id: PathId, payload: ReviewRequestIn) -> Any:
    review = services.plan_request_review(actor=actor(request), plan_id=plan_id, trigger=payload.trigger,
                                          notes=payload.notes)
    return 201, review


@router.post("/{plan_id}/reviews", response={201: ReviewOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Record a review of a plan")
def record_review(request: HttpRequest, plan_id: PathId, payload: ReviewIn) -> Any:
    """Records that the plan was reviewed (answering ``review_id``, or a scheduled review) and sets the next."""
    review = services.plan_record_review(actor=actor(request), plan_id=plan_id, held_on=payload.held_on,
                                         notes=payload.notes, review_id=payload.review_id,
                                         next_review_due=payload.next_review_due)
    return 201, review
