"""Referrals: the ones the caller's organisation sent or receives, drafting one, and every state change.

Each state change is an action (``POST /referrals/{id}/accept`` …) that the state machine in
``polku.referrals.services`` checks: a change the referral's state does not allow is ``409``, one that belongs to
the other side of the referral is refused (``403``, or ``404`` when the caller may not see the client at all).
Referrals carry a ``version`` and an ``ETag``; an action may send it back in ``If-Match`` (optional), and a stale
one is ``412`` with nothing changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeAlias

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema
from pydantic import Field

from polku.access.policy import log_list_access
from polku.core.choices import DataCategory
from polku.referrals import selectors, services
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition

from ..deps import actor, etag, required_if_match
from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

StatusValue: TypeAlias = Literal[tuple(ReferralStatus.values)]  # type: ignore[valid-type]
DirectionValue: TypeAlias = Literal["sent", "received"]
Reason = Annotated[str, Field(min_length=1, max_length=2000, description="Why (required)")]
OptionalReason = Annotated[str, Field(max_length=2000, description="Why (optional)")]
IfMatch = Annotated[str | None, Header(None, alias="If-Match", max_length=200,
                                       description="The referral's ETag as read (optional); stale → 412.")]

ACTION_ERRORS = error_responses(401, 403, 404, 409, 412, 422)


class ReferralOut(Schema):
    id: int
    client_id: int
    episode_id: int | None
    service_id: int
    sending_organisation_id: int
    receiving_organisation_id: int
    status: str
    reason_for_referral: str
    status_reason: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    received_at: dt.datetime | None
    decided_at: dt.datetime | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    status_changed_at: dt.datetime
    version: int


class TransitionOut(Schema):
    from_status: str
    to_status: str
    at: dt.datetime
    by: str
    reason: str

    @staticmethod
    def resolve_by(obj: ReferralTransition) -> str:
        return str(obj.by.get_full_name() or obj.by.get_username())


class ReferralDetail(ReferralOut):
    transitions: list[TransitionOut]

    @staticmethod
    def resolve_transitions(obj: Referral) -> list[Any]:
        return selectors.referral_transitions(obj)


class ReferralFilters(Schema):
    client_id: Id | None = None
    status: StatusValue | None = None
    direction: DirectionValue | None = Field(
        None, description="sent: those the caller's organisation sent; received: those it receives")
    service_id: Id | None = None


class ReferralCreate(In):
    client_id: Id
    service_id: Id
    episode_id: Id | None = None
    reason_for_referral: Annotated[str, Field(max_length=4000)] = ""


class ReasonIn(In):
    reason: Reason


class OptionalReasonIn(In):
    reason: OptionalReason = ""


def _with_etag(response: HttpResponse, referral: Referral) -> Referral:
    response["ETag"] = etag("referral", referral.pk, referral.version)
    return referral


def _act(request: HttpRequest, response: HttpResponse, referral_id: int, if_match: str | None,
         service: Callable[..., Referral], **fields: Any) -> Referral:
    """Run one state change, with the version ``If-Match`` names when the caller sent one."""
    expected = required_if_match(request, "referral", referral_id) if if_match else None
    referral = service(actor=actor(request), referral_id=referral_id, expected_version=expected, **fields)
    return _with_etag(response, referral)


@router.get("", response={200: Page[ReferralOut], **error_responses(401, 422)},
            summary="Referrals the caller's organisation sent or receives")
def list_referrals(request: HttpRequest, filters: Query[ReferralFilters], limit: Limit = None,
                   cursor: Cursor = None) -> Any:
    """Newest first. Only referrals of clients the caller may see now; each client shown is written to the
    access log."""
    qs = selectors.referrals_visible_to(actor(request), **filters.dict())
    return paginate(qs, cursor=cursor, limit=limit, descending=True, on_page=lambda rows: log_list_access(
        user=actor(request), client_ids=sorted({r.client_id for r in rows}), category=DataCategory.BASIC,
        purpose=_("Referral list (API)")))


@router.post("", response={201: ReferralOut, **error_responses(401, 403, 404, 422)},
             summary="Draft a referral")
def create_referral(request: HttpRequest, response: HttpResponse, payload: ReferralCreate) -> Any:
    """A draft referral of the client to a service, from the caller's organisation; ``send`` sends it."""
    referral = services.referral_create(actor=actor(request), **payload.dict())
    return 201, _with_etag(response, referral)


@router.get("/{referral_id}", response={200: ReferralDetail, **error_responses(401, 403, 404, 422)},
            summary="A referral and its state changes")
def get_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId) -> Any:
    referral = selectors.referral_get(actor=actor(request), referral_id=referral_id,
                                      purpose=_("View a referral (API)"))
    return _with_etag(response, referral)


@router.post("/{referral_id}/send", response={200: ReferralOut, **ACTION_ERRORS}, summary="Send a draft")
def send_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId, if_match: IfMatch = None) -> Any:
    """By the sending organisation; the client must consent to the receiver seeing the service's data category."""
    return _act(request, response, referral_id, if_match, services.referral_send)


@router.post("/{referral_id}/receive", response={200: ReferralOut, **ACTION_ERRORS},
             summary="Mark a referral received")
def receive_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId,
                     if_match: IfMatch = None) -> Any:
    """By the receiving organisation."""
    return _act(request, response, referral_id, if_match, services.referral_receive)


@router.post("/{referral_id}/accept", response={200: ReferralOut, **ACTION_ERRORS}, summary="Accept a referral")
def accept_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId,
                    if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from received or waitlisted."""
    return _act(request, response, referral_id, if_match, services.referral_accept)


@router.post("/{referral_id}/waitlist", response={200: ReferralOut, **ACTION_ERRORS},
             summary="Put a referral on the waiting list")
def waitlist_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId, payload: OptionalReasonIn,
                      if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from received."""
    return _act(request, response, referral_id, if_match, services.referral_waitlist, reason=payload.reason)


@router.post("/{referral_id}/decline", response={200: ReferralOut, **ACTION_ERRORS}, summary="Decline a referral")
def decline_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId, payload: ReasonIn,
                     if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from received or waitlisted; a reason is required."""
    return _act(request, response, referral_id, if_match, services.referral_decline, reason=payload.reason)


@router.post("/{referral_id}/start", response={200: ReferralOut, **ACTION_ERRORS}, summary="Start the service")
def start_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId,
                   if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from accepted."""
    return _act(request, response, referral_id, if_match, services.referral_start)


@router.post("/{referral_id}/complete", response={200: ReferralOut, **ACTION_ERRORS},
             summary="Complete the service")
def complete_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId,
                      if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from started."""
    return _act(request, response, referral_id, if_match, services.referral_complete)


@router.post("/{referral_id}/interrupt", response={200: ReferralOut, **ACTION_ERRORS},
             summary="Interrupt the service")
def interrupt_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId, payload: ReasonIn,
                       if_match: IfMatch = None) -> Any:
    """By the receiving organisation, from started; a reason is required."""
    return _act(request, response, referral_id, if_match, services.referral_interrupt, reason=payload.reason)


@router.post("/{referral_id}/cancel", response={200: ReferralOut, **ACTION_ERRORS}, summary="Cancel a referral")
def cancel_referral(request: HttpRequest, response: HttpResponse, referral_id: PathId, payload: ReasonIn,
                    if_match: IfMatch = None) -> Any:
    """By the sending organisation, before the service has started; a reason is required."""
    return _act(request, response, referral_id, if_match, services.referral_cancel, reason=payload.reason)
