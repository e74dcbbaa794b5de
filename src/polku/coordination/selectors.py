"""Reads of alerts: a person's worklist (client-level, checked and logged) and managers' counts (aggregates only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from polku.access.policy import (
    Purpose,
    authorize,
    client_data_service,
    consent_filter,
    decide,
    deny,
    log_list_access,
    relationship_filter,
    staff_of,
    visibility_filter,
    visible_client_ids,
)
from polku.audit.models import AccessAction
from polku.clients.models import Consent
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.core.paging import VisibleRows
from polku.organisations.models import Organisation, StaffRole
from polku.referrals.models import Referral, ReferralStatus

from .models import Alert, AlertEvent, AlertEventKind, Severity, SweepRun
from .rules import ACTIONS, GROUPS, RULES

AGGREGATE_ROLES = frozenset({StaffRole.MANAGER, StaffRole.ADMINISTRATOR})


def alerts_visible_to(actor: Any) -> QuerySet[Alert]:
    """Open and resolved alerts the actor may see: about clients whose basic data their organisation may see
    (relationship and consent, the access policy's own filters), and that concern their organisation (as the
    responsible one or as the other party). Managers and administrators see none (they get counts)."""
    staff = staff_of(actor)
    if staff is None or DataCategory.BASIC not in staff.data_categories:
        return Alert.objects.none()
    org = staff.organisation_id
    return Alert.objects.filter(
        Q(responsible_person_id=staff.pk) | Q(responsible_organisation_id=org) | Q(counterpart_organisation_id=org),
        relationship_filter(org, OuterRef("client_id")),
        consent_filter(org, DataCategory.BASIC, OuterRef("client_id")),
    )


def alerts_visible_filtered(
    actor: Any, *, rule: str | None = None, client_id: int | None = None, is_open: bool | None = None,
    severity: int | None = None,
) -> QuerySet[Alert]:
    """:func:`alerts_visible_to`, narrowed by rule, client, open or resolved and severity, with what
    :func:`alert_view` needs to word each alert for the reader. Not logged: callers log the rows they show."""
    staff = staff_of(actor)
    qs = alerts_visible_to(actor)
    if rule is not None:
        qs = qs.filter(rule=rule)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if is_open is not None:
        qs = qs.filter(resolved_at__isnull=is_open)
    if severity is not None:
        qs = qs.filter(severity=severity)
    if staff is None:
        return qs
    return with_detail_allowed(qs, staff.organisation_id).select_related(
        "service", "counterpart_organisation", "acknowledged_by", "resolved_by")


def with_detail_allowed(qs: QuerySet[Alert], organisation_id: int) -> QuerySet[Alert]:
    """Annotate ``detail_allowed``: the client's consent in force covers the organisation and the alert's data
    category (one of the two conditions of :func:`may_see_details`)."""
    return qs.annotate(detail_allowed=Exists(
        Consent.objects.active_on().filter(client_id=OuterRef("client_id"), organisation_id=organisation_id,
                                           category=OuterRef("category"))
    ))


def may_see_details(alert: Any, categories: frozenset[str]) -> bool:
    """Whether the reader may see the service, provider or consent an alert names: basic alerts always; others
    when the reader's role covers the alert's data category and their organisation has the client's consent for
    it (``alert.detail_allowed``, from :func:`with_detail_allowed`)."""
    return alert.category == DataCategory.BASIC or (
        alert.category in categories and bool(getattr(alert, "detail_allowed", False))
    )


def alert_check(*, actor: Any, alert_id: int, action: str, purpose: Purpose) -> Alert:
    """The alert, if it is among those the actor may see (:func:`alerts_visible_to`), else a refusal: "not
    found" for an alert that does not exist; otherwise logged like the access policy's own (the client they may
    not see, or an alert that does not concern their organisation). Logs nothing when the alert is visible: the
    caller authorizes the read or write it does."""
    alert = alerts_visible_to(actor).filter(pk=alert_id).first()
    if alert is not None:
        return alert
    hidden = Alert.objects.filter(pk=alert_id).first()
    if hidden is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    decision = decide(actor, hidden.client_id, DataCategory.BASIC, action)
    if decision.allowed:
        code, message = "not_concerned", _("This alert does not concern your organisation.")
    else:
        code, message = decision.reason, _("You do not have access to this client's data.")
    raise deny(actor, hidden.client_id, DataCategory.BASIC, action, purpose=purpose, obj=hidden, code=code,
               message=message)


@dataclass
class HistoryEntry:
    at: dt.datetime | dt.date
    what: str
    by: str
    note: str = ""


@dataclass
class WorkItem:
    """One line of a worklist, worded for its reader."""

    alert: Alert
    rule_title: str
    text: str
    severity: str
    since: dt.date
    days_overdue: int
    vulnerability: int
    mine: bool
    action: str
    action_url: str
    client_name: str
    history: list[HistoryEntry] = field(default_factory=list)
    may_see_details: bool = False
    action_code: str = ""


def worklist(*, actor: Any, limit: int = 50, as_of: dt.date | None = None) -> list[WorkItem]:
    """What the actor should do first: their own alerts, then their organisation's unassigned ones, then those
    where their organisation is the other party; within each, high severity first, then the most days past
    due, then the most vulnerable client. The names shown are written to the access log."""
    staff = staff_of(actor)
    if staff is None:
        raise AccessDenied(_("Only staff members have a worklist."), code="not_staff")
    if staff.role in AGGREGATE_ROLES:
        raise AccessDenied(_("Managers see counts of gaps (polku gaps), not lists of clients."), code="role")
    as_of = as_of or timezone.localdate()
    alerts = _worklist_alerts(staff, limit)
    if alerts:
        log_list_access(user=actor, client_ids=sorted({a.client_id for a in alerts}), category=DataCategory.BASIC,
                        purpose=_("Worklist of coordination alerts"))
    events: dict[int, list[AlertEvent]] = {}
    for event in AlertEvent.objects.filter(alert__in=alerts).select_related("by"):
        events.setdefault(event.alert_id, []).append(event)
    categories = staff.data_categories
    return [_item(alert, staff, categories, as_of, events.get(alert.pk, [])) for alert in alerts]


def _worklist_alerts(staff: Any, limit: int) -> list[Alert]:
    """The first ``limit`` open alerts of the worklist's order, bucket by bucket. Each bucket walks its partial
    index (``alert_worklist_*``) in the order shown, and the clients of each chunk of alerts are checked against
    the access policy in one query (:class:`polku.core.paging.VisibleRows`), so the cost follows the page, not
    the organisation's open alerts (a million and more in a large region). ``alert.bucket`` tells which bucket
    an alert came from."""
    org = staff.organisation_id
    user = staff.user
    mine = Q(responsible_person_id=staff.pk)
    ours = Q(responsible_organisation_id=org)
    buckets = (mine, ours & ~mine, Q(counterpart_organisation_id=org) & ~ours & ~mine)
    shown = with_detail_allowed(Alert.objects.all(), org).select_related(
        "client", "service", "counterpart_organisation", "responsible_person__user", "acknowledged_by")
    alerts: list[Alert] = []
    for number, bucket in enumerate(buckets):
        if len(alerts) >= limit:
            break
        walk = Alert.objects.filter(bucket, resolved_at__isnull=True).order_by(
            "-severity", "due_on", "-vulnerability", "pk")
        found = VisibleRows(walk, lambda ids: visible_client_ids(user, DataCategory.BASIC, ids),
                            filtered=walk.filter(visibility_filter(user)), rows=shown,
                            chunk=limit).first(limit - len(alerts))
        for alert in found:
            alert.bucket = number
        alerts.extend(found)
    return alerts


def _item(alert: Any, staff: Any, categories: frozenset[str], as_of: dt.date, events: list[AlertEvent]) -> WorkItem:
    rule = RULES[alert.rule]
    may_see = may_see_details(alert, categories)
    return WorkItem(
        alert=alert,
        rule_title=str(rule.title),
        text=alert_text(alert, may_see_details=may_see),
        severity=str(Severity(alert.severity).label),
        since=alert.since,
        days_overdue=(as_of - alert.due_on).days,
        vulnerability=alert.vulnerability,
        mine=alert.bucket == 0,
        action=str(ACTIONS[rule.action]),
        action_url=action_url(alert),
        client_name=alert.client.full_name,
        history=alert_history(alert, events),
        may_see_details=may_see,
        action_code=rule.action,
    )


def alert_text(alert: Any, *, may_see_details: bool) -> str:
    """One sentence on what is wrong, naming a service or another organisation only when the reader may see
    the data category it belongs to."""
    service = str(alert.service) if may_see_details and alert.service_id else ""
    other = str(alert.counterpart_organisation) if may_see_details and alert.counterpart_organisation_id else ""
    since = formats.date_format(alert.since, "SHORT_DATE_FORMAT")  # in the reader's language's format
    rule = alert.rule
    if rule in {"referral_unanswered", "referral_waitlisted", "service_ended_no_next_step",
                "declined_no_alternative"} and service:
        templates = {
            "referral_unanswered": gettext("Referral to %(service)s (%(other)s), sent %(since)s, has had no answer."),
            "referral_waitlisted": gettext("On the waiting list of %(service)s (%(other)s) since %(since)s."),
            "service_ended_no_next_step": gettext("%(service)s (%(other)s) ended on %(since)s; nothing has followed."),
            "declined_no_alternative": gettext("%(other)s declined the referral to %(service)s on %(since)s; no "
                                          "alternative yet."),
        }
        return templates[rule] % {"service": service, "other": other, "since": since}
    if rule == "consent_lapsing" and other:
        return gettext("The consent for %(other)s ends on %(since)s.") % {"other": other, "since": since}
    generic = {
        "screening_due": gettext("Unemployed since %(since)s and not in the joint service."),
        "mapping_period_ending": gettext("The mapping period ends on %(since)s and there is no plan yet."),
        "plan_missing_after_mapping": gettext("The mapping period ended on %(since)s and there is still no plan."),
        "plan_review_due": gettext("The plan review is due on %(since)s."),
        "plan_review_overdue": gettext("The plan review was due on %(since)s."),
        "review_requested": gettext("The client asked for a plan review on %(since)s."),
        "referral_unanswered": gettext("A referral sent on %(since)s has had no answer."),
        "referral_waitlisted": gettext("The client has been on a waiting list since %(since)s."),
        "service_ended_no_next_step": gettext("A service ended on %(since)s and nothing has followed."),
        "declined_no_alternative": gettext("A referral was declined on %(since)s and there is no alternative yet."),
        "no_active_service": gettext("Nothing has been under way for the client since %(since)s."),
        "plan_step_overdue": gettext("A plan step was due on %(since)s and is not done."),
        "client_not_contacted": gettext("No contact with the client since %(since)s."),
        "consent_lapsing": gettext("A consent ends on %(since)s."),
        "moved_without_handover": gettext("The client moved on %(since)s and nobody has taken over."),
    }
    return generic[rule] % {"since": since}


def action_url(alert: Any) -> str:
    """Where the action that resolves the alert starts (the client's page, at the right section)."""
    anchors = {
        "refer_to_joint_service": "episodes",
        "open_plan": "plan",
        "review_plan": "plan",
        "chase_referral": "referrals",
        "pick_next_service": "referrals",
        "contact_client": "contacts",
        "renew_consent": "consents",
        "hand_over": "episodes",
    }
    return reverse("web:client_detail", args=[alert.client_id]) + "#" + anchors[RULES[alert.rule].action]


def alert_history(alert: Any, events: list[AlertEvent] | None = None) -> list[HistoryEntry]:
    """Opened (by the sweep), acknowledged, commented and resolved by hand (by people), resolved when the gap is
    gone (by the sweep), in time order."""
    if events is None:
        events = list(AlertEvent.objects.filter(alert=alert).select_related("by"))
    sweep = gettext("the daily sweep")
    out = [HistoryEntry(alert.opened_at, gettext("opened (as of %(day)s)") % {"day": alert.opened_as_of.isoformat()},
                        sweep)]
    for event in events:
        who = event.by.get_full_name() or event.by.get_username()
        out.append(HistoryEntry(event.at, str(event.get_kind_display()).lower(), who, event.note))
    if alert.resolved_at is not None and not any(e.kind == AlertEventKind.RESOLVED for e in events):
        out.append(HistoryEntry(alert.resolved_at, gettext("resolved: the gap is gone (as of %(day)s)")
                                % {"day": alert.resolved_as_of.isoformat()}, sweep))
    return sorted(out, key=lambda e: e.at if isinstance(e.at, dt.datetime) else timezone.now())


@dataclass
class AlertView:
    """An alert worded for its reader: what it names only when they may see it (:func:`may_see_details`)."""

    alert: Alert
    rule_title: str
    text: str
    may_see_details: bool
    action_code: str
    action: str
    action_url: str
    history: list[HistoryEntry] | None = None


def alert_view(alert: Any, *, actor: Any, history: bool = False) -> AlertView:
    """Word an alert (from :func:`alerts_visible_filtered`) for the actor. Not logged: the caller has checked
    and logged the read or write (the list's rows, :func:`alert_get`, or the service that changed it)."""
    staff = staff_of(actor)
    categories = staff.data_categories if staff is not None else frozenset()
    may_see = may_see_details(alert, categories)
    rule = RULES[alert.rule]
    return AlertView(
        alert=alert,
        rule_title=str(rule.title),
        text=alert_text(alert, may_see_details=may_see),
        may_see_details=may_see,
        action_code=rule.action,
        action=str(ACTIONS[rule.action]),
        action_url=action_url(alert),
        history=alert_history(alert) if history else None,
    )


@client_data_service
def alert_get(*, actor: Any, alert_id: int, purpose: Purpose | None = None) -> AlertView:
    """One alert with its history, checked and logged as one read of the client's basic data."""
    purpose = purpose or _("View a coordination alert")
    alert_check(actor=actor, alert_id=alert_id, action=AccessAction.VIEW, purpose=purpose)
    alert = alerts_visible_filtered(actor).get(pk=alert_id)
    authorize(actor, alert.client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=purpose, obj=alert)
    return alert_view(alert, actor=actor, history=True)


def alert_describe(*, actor: Any, alert_id: int) -> AlertView:
    """An alert that a service has just changed for the actor (and logged), worded for them, with its history."""
    return alert_view(alerts_visible_filtered(actor).get(pk=alert_id), actor=actor, history=True)


# -- Managers: counts and trends ------------------------------------------------------------------------------


@dataclass
class GapOverview:
    as_of: dt.date
    total_open: int
    by_rule: list[dict[str, Any]]
    by_provider: list[dict[str, Any]]
    by_service: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    waiting: list[dict[str, Any]]
    last_sweep: SweepRun | None
    small_cell: int


def _suppress(count: int, threshold: int) -> int | None:
    """Counts of people below the small-cell threshold are not shown (``None``), so nobody is singled out."""
    return count if count == 0 or count >= threshold else None


def gap_overview(*, actor: Any, weeks: int = 12, as_of: dt.date | None = None) -> GapOverview:
    """Counts of open gaps by rule, provider and service; weekly trend of opened, resolved and open alerts (open
    also by rule group); referral waiting times by provider. Aggregates only: no client is named, small counts
    are suppressed."""
    staff = staff_of(actor)
    if not (staff is not None and staff.role in AGGREGATE_ROLES) and not getattr(actor, "is_superuser", False):
        raise AccessDenied(_("Only managers and administrators see the gap statistics."), code="role")
    if weeks < 1 or weeks > 260:
        from polku.core.errors import InvalidInput

        raise InvalidInput(_("Weeks must be between 1 and 260."), errors={"weeks": [str(_("Out of range."))]})
    as_of = as_of or timezone.localdate()
    k = int(settings.POLKU["SMALL_CELL_THRESHOLD"])
    open_alerts = Alert.objects.filter(resolved_at__isnull=True)
    by_rule = [
        {"rule": code, "title": str(RULES[code].title), "open": _suppress(n, k)}
        for code, n in dict(open_alerts.order_by().values_list("rule").annotate(n=Count("pk"))).items()
    ]
    by_rule.sort(key=lambda r: list(RULES).index(r["rule"]))
    names = {o.pk: str(o) for o in Organisation.objects.all()}
    by_provider = [
        {"organisation": names.get(row["counterpart_organisation_id"], "?"), "rule": row["rule"],
         "open": _suppress(row["n"], k)}
        for row in open_alerts.filter(counterpart_organisation_id__isnull=False)
        .order_by()
        .values("counterpart_organisation_id", "rule")
        .annotate(n=Count("pk"))
        .order_by("-n")
    ]
    by_service = [
        {"service": row["service__name_fi"] and _service_name(row), "rule": row["rule"],
         "open": _suppress(row["n"], k)}
        for row in open_alerts.filter(service_id__isnull=False)
        .order_by()
        .values("service_id", "service__name_fi", "service__name_sv", "service__name_en", "rule")
        .annotate(n=Count("pk"))
        .order_by("-n")
    ]
    trend = []
    rules_in = {group: [code for code, rule in RULES.items() if rule.group == group] for group in GROUPS}
    for w in range(weeks - 1, -1, -1):
        end = as_of - dt.timedelta(days=7 * w)
        start = end - dt.timedelta(days=6)
        open_then = Q(opened_as_of__lte=end) & (Q(resolved_as_of__isnull=True) | Q(resolved_as_of__gt=end))
        row = Alert.objects.aggregate(
            open=Count("pk", filter=open_then),
            opened=Count("pk", filter=Q(opened_as_of__gte=start, opened_as_of__lte=end)),
            resolved=Count("pk", filter=Q(resolved_as_of__gte=start, resolved_as_of__lte=end)),
            **{f"group_{group}": Count("pk", filter=open_then & Q(rule__in=codes))
               for group, codes in rules_in.items()},
        )
        trend.append({"week_ending": end, "open": _suppress(row["open"], k), "opened": _suppress(row["opened"], k),
                      "resolved": _suppress(row["resolved"], k),
                      # open at the week's end by rule group (screening, deadlines, gaps)
                      "open_by_group": {group: _suppress(row[f"group_{group}"], k) for group in rules_in}})
    waiting_statuses = [ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.WAITLISTED]
    now = timezone.now()
    bands = {"under_14_days": (0, 14), "14_to_30_days": (14, 30), "30_to_90_days": (30, 90),
             "over_90_days": (90, None)}
    aggregates = {
        name: Count("pk", filter=Q(sent_at__lte=now - dt.timedelta(days=low))
                    & (Q() if high is None else Q(sent_at__gt=now - dt.timedelta(days=high))))
        for name, (low, high) in bands.items()
    }
    waiting = [
        {"organisation": names.get(row.pop("receiving_organisation_id"), "?"),
         **{key: _suppress(value, k) for key, value in row.items()}}
        for row in Referral.objects.filter(status__in=waiting_statuses, sent_at__isnull=False)
        .order_by()
        .values("receiving_organisation_id")
        .annotate(waiting=Count("pk"), **aggregates)
    ]
    return GapOverview(
        as_of=as_of,
        total_open=open_alerts.count(),
        by_rule=by_rule,
        by_provider=by_provider,
        by_service=by_service,
        trend=trend,
        waiting=sorted(waiting, key=lambda r: -(r["waiting"] or 0)),
        last_sweep=SweepRun.objects.filter(finished_at__isnull=False).first(),
        small_cell=k,
    )


def _service_name(row: dict[str, Any]) -> str:
    from django.utils.translation import get_language

    lang = (get_language() or "fi")[:2]
    return row.get(f"service__name_{lang}") or row["service__name_fi"]
