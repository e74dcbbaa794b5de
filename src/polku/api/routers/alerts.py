"""Coordination alerts: the ones that concern the caller's organisation, the caller's worklist, and what people do
about an alert (acknowledge, comment, resolve by hand).

An alert is shown only to staff of an organisation that may see the client's basic data and that the alert
concerns (docs/coordination.md). Its wording, and the service, provider, consent or record it names, are given
only when the reader's role and their organisation's consent cover the alert's data category; otherwise those
fields are null and the text says "a referral" or "a consent". The client's vulnerability score, which the
worklist is ordered by, is not given: it is made of social and health data that few readers may see.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, TypeAlias

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import BeforeValidator, Field

from polku.access.policy import log_list_access
from polku.coordination import selectors, services
from polku.coordination.models import Severity
from polku.coordination.rules import RULES
from polku.core.choices import DataCategory

from ..deps import actor
from ..pagination import DEFAULT_LIMIT, Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, In, Limit, PathId

router = Router()

RuleValue: TypeAlias = Literal[tuple(RULES)]  # type: ignore[valid-type]
SeverityLevel: TypeAlias = Literal[tuple(Severity.values)]  # type: ignore[valid-type]


def _digits_to_int(value: Any) -> Any:
    """A query parameter arrives as text; an integer Literal compares with numbers."""
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


SeverityValue = Annotated[SeverityLevel, BeforeValidator(_digits_to_int)]
Note = Annotated[str, Field(max_length=2000)]
RequiredNote = Annotated[str, Field(min_length=1, max_length=2000)]


class HistoryOut(Schema):
    at: dt.datetime | dt.date
    what: str
    by: str
    note: str


class AlertOut(Schema):
    """An alert worded for the caller. ``category``, ``service_id``, ``counterpart_organisation_id`` and
    ``object_id`` are null when the caller may not see the data category the alert belongs to."""

    id: int
    rule: str
    rule_title: str
    text: str
    client_id: int
    episode_id: int | None
    object_type: str
    object_id: int | None
    category: str | None
    service_id: int | None
    counterpart_organisation_id: int | None
    responsible_organisation_id: int | None
    responsible_person_id: int | None
    severity: int
    severity_label: str
    since: dt.date
    due_on: dt.date
    is_open: bool
    opened_at: dt.datetime
    opened_as_of: dt.date
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
    resolved_as_of: dt.date | None
    resolved_by: str | None
    action: str
    action_code: str
    action_url: str


class AlertDetail(AlertOut):
    history: list[HistoryOut]


class WorkItemOut(AlertOut):
    days_overdue: int
    mine: bool
    client_name: str
    history: list[HistoryOut]


class WorklistOut(Schema):
    items: list[WorkItemOut]
    limit: int


class AlertFilters(Schema):
    rule: RuleValue | None = None
    client_id: Id | None = None
    open: bool | None = Field(None, description="true: open alerts only; false: resolved ones only")
    severity: SeverityValue | None = Field(None, description="1 low, 2 medium, 3 high")


class NoteIn(In):
    note: Note = ""


class RequiredNoteIn(In):
    note: RequiredNote


def _name(user: Any) -> str | None:
    return None if user is None else str(user.get_full_name() or user.get_username())


def _alert_out(view: Any, **extra: Any) -> dict[str, Any]:
    """The alert's fields for its reader: what it names only when ``view.may_see_details``."""
    alert, details = view.alert, view.may_see_details
    return {
        "id": alert.pk, "rule": alert.rule, "rule_title": view.rule_title, "text": view.text,
        "client_id": alert.client_id, "episode_id": alert.episode_id, "object_type": alert.object_type,
        "object_id": alert.object_id if details else None, "category": alert.category if details else None,
        "service_id": alert.service_id if details else None,
        "counterpart_organisation_id": alert.counterpart_organisation_id if details else None,
        "responsible_organisation_id": alert.responsible_organisation_id,
        "responsible_person_id": alert.responsible_person_id, "severity": alert.severity,
        "severity_label": str(Severity(alert.severity).label), "since": alert.since, "due_on": alert.due_on,
        "is_open": alert.is_open, "opened_at": alert.opened_at,
        "opened_as_of": alert.opened_as_of, "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": _name(alert.acknowledged_by), "resolved_at": alert.resolved_at,
        "resolved_as_of": alert.resolved_as_of, "resolved_by": _name(alert.resolved_by),
        "action": view.action, "action_code": view.action_code, "action_url": view.action_url,
        **({"history": view.history} if view.history is not None else {}),
        **extra,
    }


@router.get("", response={200: Page[AlertOut], **error_responses(401, 422)},
            summary="Alerts that concern the caller's organisation")
def list_alerts(request: HttpRequest, filters: Query[AlertFilters], limit: Limit = None,
                cursor: Cursor = None) -> Any:
    """Open and resolved alerts, newest first. Each client shown is written to the access log."""
    user = actor(request)
    qs = selectors.alerts_visible_filtered(user, rule=filters.rule, client_id=filters.client_id,
                                           is_open=filters.open, severity=filters.severity)
    page = paginate(qs, cursor=cursor, limit=limit, descending=True, on_page=lambda rows: log_list_access(
        user=user, client_ids=sorted({a.client_id for a in rows}), category=DataCategory.BASIC,
        purpose=_("Coordination alert list (API)")))
    page["items"] = [_alert_out(selectors.alert_view(a, actor=user)) for a in page["items"]]
    return page


@router.get("/worklist", response={200: WorklistOut, **error_responses(401, 404, 422)},
            summary="The caller's worklist")
def get_worklist(request: HttpRequest, limit: Limit = None) -> Any:
    """The open alerts the caller should act on, most urgent first (docs/coordination.md), each with the action
    that resolves it and its history. Managers get counts (``polku gaps``), not lists: 404. The clients shown are
    written to the access log."""
    size = limit or DEFAULT_LIMIT
    items = selectors.worklist(actor=actor(request), limit=size)
    return {"limit": size, "items": [
        _alert_out(item, days_overdue=item.days_overdue, mine=item.mine, client_name=item.client_name)
        for item in items
    ]}


@router.get("/{alert_id}", response={200: AlertDetail, **error_responses(401, 403, 404, 422)},
            summary="An alert and its history")
def get_alert(request: HttpRequest, alert_id: PathId) -> Any:
    return _alert_out(selectors.alert_get(actor=actor(request), alert_id=alert_id,
                                          purpose=_("View a coordination alert (API)")))


@router.post("/{alert_id}/acknowledge", response={200: AlertDetail, **error_responses(401, 403, 404, 422)},
             summary="Acknowledge an alert")
def acknowledge_alert(request: HttpRequest, alert_id: PathId, payload: NoteIn) -> Any:
    """The first acknowledgement names who took the alert up; later ones are kept as comments."""
    services.alert_acknowledge(actor=actor(request), alert_id=alert_id, note=payload.note)
    return _alert_out(selectors.alert_describe(actor=actor(request), alert_id=alert_id))


@router.post("/{alert_id}/comment", response={201: AlertDetail, **error_responses(401, 403, 404, 422)},
             summary="Comment on an alert")
def comment_alert(request: HttpRequest, alert_id: PathId, payload: RequiredNoteIn) -> Any:
    services.alert_comment(actor=actor(request), alert_id=alert_id, note=payload.note)
    return 201, _alert_out(selectors.alert_describe(actor=actor(request), alert_id=alert_id))


@router.post("/{alert_id}/resolve", response={200: AlertDetail, **error_responses(401, 403, 404, 422)},
             summary="Resolve an alert by hand")
def resolve_alert(request: HttpRequest, alert_id: PathId, payload: RequiredNoteIn) -> Any:
    """Say how it was dealt with (``note``). If the gap is still there at the next sweep, the sweep opens a new
    alert for it."""
    services.alert_resolve(actor=actor(request), alert_id=alert_id, note=payload.note)
    return _alert_out(selectors.alert_describe(actor=actor(request), alert_id=alert_id))
