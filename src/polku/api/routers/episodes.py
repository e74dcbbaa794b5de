"""Joint-service episodes: the client's periods in the joint service, their participants, opening and closing."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field

from polku.access.policy import log_list_access
from polku.core.choices import DataCategory
from polku.core.translation import localized
from polku.episodes import selectors, services
from polku.episodes.models import EndReason, EpisodeStatus

from ..deps import actor
from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

# The values of the model's choices, so that the OpenAPI document lists them; mypy cannot read a Literal
# built at run time, so it sees plain text.
if TYPE_CHECKING:
    StatusValue = str
    EndReasonValue = str
else:
    StatusValue = Literal[tuple(EpisodeStatus.values)]
    EndReasonValue = Literal[tuple(EndReason.values)]


class ParticipantOut(Schema):
    id: int
    episode_id: int
    organisation_id: int
    organisation_name: str
    responsible_person_id: int
    responsible_person_name: str
    joined_on: dt.date
    left_on: dt.date | None

    @staticmethod
    def resolve_organisation_name(obj: Any) -> str:
        return localized(obj.organisation, "name")

    @staticmethod
    def resolve_responsible_person_name(obj: Any) -> str:
        user = obj.responsible_person.user
        return str(user.get_full_name() or user.get_username())


class EpisodeOut(Schema):
    id: int
    client_id: int
    status: str
    start_date: dt.date
    mapping_period_end: dt.date
    end_date: dt.date | None
    end_reason: str
    end_notes: str
    created_at: dt.datetime
    version: int
    participants: list[ParticipantOut]


class EpisodeFilters(Schema):
    client_id: Annotated[Id | None, Field(None, description="Only this client's episodes")] = None
    status: Annotated[StatusValue | None, Field(None, description="Only episodes in this status")] = None


class EpisodeOpen(In):
    client_id: Id
    start_date: dt.date | None = Field(None, description="Default: today")


class ParticipantIn(In):
    responsible_person_id: Id = Field(description="The staff member responsible in the organisation that joins")
    joined_on: dt.date | None = Field(None, description="Default: today")


class EpisodeCloseIn(In):
    end_date: dt.date
    end_reason: EndReasonValue
    notes: Annotated[str, Field(max_length=2000)] = ""


@router.get("", response={200: Page[EpisodeOut], **error_responses(401, 403, 404, 422)},
            summary="Joint-service episodes the caller may see")
def list_episodes(request: HttpRequest, filters: Query[EpisodeFilters], limit: Limit = None,
                  cursor: Cursor = None) -> Any:
    """The episodes of the clients whose basic details the caller may see, oldest first. With ``client_id``
    the read of that client is logged once; otherwise each client shown is written to the access log."""
    qs = selectors.episodes_visible_to(actor(request), client_id=filters.client_id, status=filters.status,
                                       purpose=_("View joint-service episodes (API)"))
    if filters.client_id is not None:
        return paginate(qs, cursor=cursor, limit=limit)
    return paginate(qs, cursor=cursor, limit=limit, on_page=lambda rows: log_list_access(
        user=actor(request), client_ids=sorted({e.client_id for e in rows}), category=DataCategory.BASIC,
        purpose=_("Joint-service episode list (API)")))


@router.post("", response={201: EpisodeOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Open a joint-service episode")
def open_episode(request: HttpRequest, payload: EpisodeOpen) -> Any:
    """Opens a new episode for a client whose previous one is closed (a newly registered client gets one on
    registration). The caller's organisation takes part, with the caller as its responsible person."""
    episode = services.episode_open(actor=actor(request), client_id=payload.client_id, start_date=payload.start_date)
    return 201, episode


@router.get("/{episode_id}", response={200: EpisodeOut, **error_responses(401, 404)},
            summary="A joint-service episode")
def get_episode(request: HttpRequest, episode_id: PathId) -> Any:
    return selectors.episode_get(actor=actor(request), episode_id=episode_id,
                                 purpose=_("View a joint-service episode (API)"))


@router.post("/{episode_id}/participants", response={201: ParticipantOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Add an organisation to an episode")
def add_participant(request: HttpRequest, episode_id: PathId, payload: ParticipantIn) -> Any:
    """The organisation of ``responsible_person_id`` joins the episode with that person responsible. Only the
    professionals of an organisation already taking part may add another."""
    participant = services.episode_add_participant(actor=actor(request), episode_id=episode_id,
                                                   responsible_person_id=payload.responsible_person_id,
                                                   joined_on=payload.joined_on)
    return 201, participant


@router.post("/{episode_id}/close", response={200: EpisodeOut, **error_responses(401, 403, 404, 409, 422)},
             summary="Close an episode")
def close_episode(request: HttpRequest, episode_id: PathId, payload: EpisodeCloseIn) -> Any:
    return services.episode_close(actor=actor(request), episode_id=episode_id, end_date=payload.end_date,
                                  end_reason=payload.end_reason, notes=payload.notes)
