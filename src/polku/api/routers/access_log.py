"""The access log: a staff member's own actions on client data, and a client's own log (who processed their
data and why, Client Data Act 703/2023 §11). Nobody reads another person's rows."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Query, Router, Schema
from pydantic import Field

from polku.audit.models import AccessAction, AccessLog
from polku.clients import selectors

from ..deps import actor
from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, Limit, PathId
from .organisations import OrganisationRef

router = Router()

if TYPE_CHECKING:
    ActionValue = str
else:
    ActionValue = Literal[tuple(AccessAction.values)]
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(9998, 12, 31))]


class AccessLogEntryOut(Schema):
    id: int
    at: dt.datetime
    actor_name: str = Field(description="Who (a person, or the command of batch work)")
    actor_organisation: OrganisationRef | None
    actor_role: str = Field(description="The role then; client for the client themself, system for batch work")
    client_id: int
    category: str
    category_label: str
    action: str
    action_label: str
    purpose: str = Field(description="Why, in the language of Accept-Language")
    object_type: str
    object_id: str
    allowed: bool
    reason: str = Field(description="The access decision's reason code")

    @staticmethod
    def resolve_purpose(obj: AccessLog) -> str:
        # The log stores the English source text of a marked message; shown in the reader's language.
        return gettext(obj.purpose) if obj.purpose else ""

    @staticmethod
    def resolve_category_label(obj: AccessLog) -> str:
        return str(obj.get_category_display())

    @staticmethod
    def resolve_action_label(obj: AccessLog) -> str:
        return str(obj.get_action_display())


class LogFilters(Schema):
    since: Day | None = Field(None, description="From this day (Finnish time), included")
    until: Day | None = Field(None, description="To this day (Finnish time), included")
    action: ActionValue | None = None


class MyLogFilters(LogFilters):
    client_id: Id | None = None


@router.get("/mine", response={200: Page[AccessLogEntryOut], **error_responses(401, 422)},
            summary="My own actions on client data")
def my_actions(request: HttpRequest, filters: Query[MyLogFilters], limit: Limit = None,
               cursor: Cursor = None) -> Any:
    """The rows of the access log in which the caller is the one who acted, newest first."""
    qs = selectors.access_log_by_actor(actor=actor(request), **filters.dict())
    return paginate(qs, cursor=cursor, limit=limit, descending=True)


@router.get("/client/{client_id}", response={200: Page[AccessLogEntryOut], **error_responses(401, 404, 422)},
            summary="Who has processed my data (for the client)")
def client_log(request: HttpRequest, client_id: PathId, filters: Query[LogFilters], limit: Limit = None,
               cursor: Cursor = None) -> Any:
    """The client's own access log, newest first: every read and write of their data, allowed or refused, by
    whom and why. Only for the client themself; anyone else gets 404 (as for a client that does not exist)."""
    qs = selectors.access_log_for_client(actor=actor(request), client_id=client_id, **filters.dict())
    return paginate(qs, cursor=cursor, limit=limit, descending=True)
