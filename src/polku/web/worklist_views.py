"""The staff front page (the coordinator's worklist and caseload, managers' summary), one alert with its history,
what people do about an alert (acknowledge, comment, resolve by hand) and managers' gap overview.

Every client shown comes from the coordination and client selectors, which check the access policy and write the
access log; the actions go through ``polku.coordination.services``. An alert the reader may not see answers 404,
exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from polku.access.policy import staff_of
from polku.clients import selectors as client_selectors
from polku.coordination import selectors, services
from polku.coordination.models import Severity
from polku.coordination.rules import GROUPS, RULES
from polku.core.errors import AccessDenied, InvalidInput
from polku.organisations.models import StaffRole

from .charts import Series, line_chart
from .forms import is_htmx

WORKLIST_SIZE = 25
CASELOAD_PAGE_SIZE = 25
SEVERITY_TAGS = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "info"}
WEEK_CHOICES = (4, 12, 26, 52)


# -- Forms ----------------------------------------------------------------------------------------------------


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000)


class CommentForm(forms.Form):
    note = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("How was it dealt with?"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required. The alert leaves the worklist; if the gap is still there at the "
                                       "next daily sweep, a new alert is opened."))


@dataclass(frozen=True)
class Action:
    form: type[forms.Form]
    prefix: str
    service: Any
    done: Any


ACTIONS: dict[str, Action] = {
    "acknowledge": Action(AcknowledgeForm, "ack", services.alert_acknowledge, _("The alert is acknowledged.")),
    "comment": Action(CommentForm, "comment", services.alert_comment, _("Your comment is saved.")),
    "resolve": Action(ResolveForm, "resolve", services.alert_resolve, _("The alert is resolved.")),
}


def _forms(alert_id: int, bound: tuple[str, forms.Form] | None = None) -> dict[str, forms.Form]:
    """The three action forms of one alert, with ids unique on the page; ``bound`` replaces one with the form
    the user sent (kept input and errors)."""
    out = {name: action.form(auto_id=f"{action.prefix}-{alert_id}-%s", label_suffix="")
           for name, action in ACTIONS.items()}
    if bound is not None:
        out[bound[0]] = bound[1]
    return out


# -- One alert as a card --------------------------------------------------------------------------------------


@dataclass
class Card:
    """An alert worded for its reader, with what the page shows about it."""

    alert: Any
    client_id: int
    client_name: str
    rule_title: str
    text: str
    severity_label: str
    severity_tag: str
    due_text: str
    due_tag: str
    state_text: str
    state_tag: str
    since: dt.date
    action: str
    action_url: str
    mine: bool
    history: list[Any] = field(default_factory=list)
    forms: dict[str, forms.Form] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return bool(self.alert.is_open)

    @property
    def home_next(self) -> str:
        """Where a form sent from the front page returns to (this item on the front page)."""
        return reverse("web:home") + f"#alert-{self.alert.pk}"

    @property
    def comment_or_resolve_open(self) -> bool:
        return any(self.forms[name].errors for name in ("comment", "resolve") if name in self.forms)


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username()) if user is not None else ""


def _card(view: Any, *, client_name: str, mine: bool = False, today: dt.date | None = None,
          bound: tuple[str, forms.Form] | None = None) -> Card:
    alert = view.alert
    today = today or timezone.localdate()
    days = (today - alert.due_on).days
    if days > 0:
        due_text = ngettext("%(days)s day past due", "%(days)s days past due", days) % {"days": days}
        due_tag = "warning"
    elif days == 0:
        due_text, due_tag = gettext("Due today"), "warning"
    else:
        due_text = gettext("Due on %(day)s") % {"day": formats.date_format(alert.due_on, "SHORT_DATE_FORMAT")}
        due_tag = "info"
    if alert.resolved_at is not None:
        state_text = gettext("Resolved on %(day)s") % {
            "day": formats.date_format(timezone.localtime(alert.resolved_at).date(), "SHORT_DATE_FORMAT")}
        state_tag = "success"
    elif alert.acknowledged_at is not None:
        state_text = gettext("Acknowledged by %(name)s") % {"name": _name(alert.acknowledged_by)}
        state_tag = "success"
    else:
        state_text, state_tag = gettext("Not acknowledged yet"), "info"
    return Card(
        alert=alert, client_id=alert.client_id, client_name=client_name, rule_title=view.rule_title, text=view.text,
        severity_label=gettext("Severity: %(level)s") % {"level": Severity(alert.severity).label},
        severity_tag=SEVERITY_TAGS.get(alert.severity, "info"), due_text=due_text, due_tag=due_tag,
        state_text=state_text, state_tag=state_tag, since=alert.since, action=view.action,
        action_url=view.action_url, mine=mine, history=view.history or [],
        forms=_forms(alert.pk, bound) if alert.is_open else {},
    )


# -- Front page -----------------------------------------------------------------------------------------------


def _caseload_page(request: HttpRequest) -> Any:
    """One page of the caseload; the names shown are written to the access log, with each client's number of
    open alerts that concern the reader's organisation (one aggregate query)."""
    page = client_selectors.caseload_page(actor=request.user, limit=CASELOAD_PAGE_SIZE, page=request.GET.get("page"))
    clients = page.object_list
    ids = [c.pk for c in clients]
    if ids:
        counts = dict(
            selectors.alerts_visible_to(request.user).filter(resolved_at__isnull=True, client_id__in=ids)
            .order_by().values("client_id").annotate(n=Count("pk")).values_list("client_id", "n")
        )
        for client in clients:
            client.open_alerts = counts.get(client.pk, 0)
    return page, clients


def front_page(request: HttpRequest) -> HttpResponse:
    """The staff front page, by role: the worklist and caseload for those who work with clients, a summary of
    the gaps for managers, the way to administration for administrators."""
    staff = staff_of(request.user)
    context: dict[str, Any] = {"staff": staff}
    if staff is None:
        return render(request, "web/home.html", context)
    if staff.role == StaffRole.PROCUREMENT_OFFICER:  # no clients: their work is the contracts' clauses
        return redirect("web:partner_contracts")
    if staff.role in (StaffRole.MANAGER, StaffRole.ADMINISTRATOR):
        context["aggregate_role"] = True
        context["is_admin"] = staff.role == StaffRole.ADMINISTRATOR
        try:
            overview = selectors.gap_overview(actor=request.user, weeks=1)
        except AccessDenied:
            overview = None
        if overview is not None:
            context["overview"] = overview
            context["top_rules"] = _count_rows(
                sorted(overview.by_rule, key=lambda r: -(r["open"] or 0))[:5], overview.small_cell)
        return render(request, "web/home.html", context)
    today = timezone.localdate()
    items = selectors.worklist(actor=request.user, limit=WORKLIST_SIZE, as_of=today)
    context["cards"] = [_card(item, client_name=item.client_name, mine=item.mine, today=today) for item in items]
    context["worklist_size"] = WORKLIST_SIZE
    context["page"], context["clients"] = _caseload_page(request)
    return render(request, "web/home.html", context)


# -- One alert and what people do about it --------------------------------------------------------------------


def _alert_or_404(request: HttpRequest, alert_id: int) -> Any:
    try:
        return selectors.alert_get(actor=request.user, alert_id=alert_id)
    except AccessDenied:
        raise Http404 from None


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    view = _alert_or_404(request, alert_id)
    return _detail_response(request, view)


def _detail_response(request: HttpRequest, view: Any, bound: tuple[str, forms.Form] | None = None) -> HttpResponse:
    card = _card(view, client_name=view.alert.client.full_name, bound=bound)
    responsible = view.alert.responsible_person
    return render(request, "web/worklist/alert_detail.html", {
        "card": card, "responsible": _name(responsible.user) if responsible is not None else "",
        "responsible_organisation": view.alert.responsible_organisation,
    })


def _next_url(request: HttpRequest, alert_id: int) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("web:alert_detail", args=[alert_id])


def _item_response(request: HttpRequest, view: Any, *, message: str, level: str,
                   bound: tuple[str, forms.Form] | None = None) -> HttpResponse:
    """The htmx answer: the alert's worklist item, swapped in place, and the message for the status region."""
    card = _card(view, client_name=view.alert.client.full_name, bound=bound)
    return render(request, "web/worklist/_item_response.html",
                  {"card": card, "focus": True, "message": message, "level": level, "htmx_actions": True})


@login_required
@require_POST
def alert_action(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    """Acknowledge, comment or resolve by hand. Without JavaScript: redirect back with a message (or the alert's
    page with the error next to the field); with htmx: the updated item."""
    spec = ACTIONS[action]
    htmx = is_htmx(request)
    form = spec.form(request.POST, auto_id=f"{spec.prefix}-{alert_id}-%s", label_suffix="")
    error = ""
    if form.is_valid():
        try:
            spec.service(actor=request.user, alert_id=alert_id, note=form.cleaned_data["note"])
        except InvalidInput as exc:
            for message in exc.errors.get("note", []) or [str(exc)]:
                form.add_error("note", message)
        except AccessDenied as exc:
            if exc.code != "alert_resolved":
                raise Http404 from None
            error = str(exc)
        else:
            done = str(spec.done)
            if htmx:
                return _item_response(request, selectors.alert_describe(actor=request.user, alert_id=alert_id),
                                      message=done, level="success")
            messages.success(request, done)
            return redirect(_next_url(request, alert_id))
    view = _alert_or_404(request, alert_id)  # checked and logged read of what is shown again
    if error:
        if htmx:
            return _item_response(request, view, message=error, level="error")
        messages.error(request, error)
        return redirect(_next_url(request, alert_id))
    message = gettext("Check the form: %(errors)s") % {"errors": " ".join(str(e) for e in form.errors.get("note", []))}
    if htmx:
        return _item_response(request, view, message=message, level="error", bound=(action, form))
    return _detail_response(request, view, bound=(action, form))


# -- Managers: the gap overview -------------------------------------------------------------------------------


def _cell(value: int | None, threshold: int) -> str:
    if value is None:
        return gettext("fewer than %(n)s") % {"n": threshold}
    return formats.number_format(value, use_l10n=True)


def _nice_top(value: float) -> float:
    """The top of a vertical axis with four even steps of 1, 2 or 5 times a power of ten, at least ``value``."""
    magnitude = 10 ** max(len(str(int(value))) - 2, 0)
    for step in (1, 2, 5, 10, 20, 50, 100):
        if step * magnitude * 4 >= value:
            return float(step * magnitude * 4)
    return float(value)


def _count_rows(rows: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    """Rows of counts with the rule's title and the count as shown (a suppressed one as "fewer than k")."""
    return [{**row, "title": str(RULES[row["rule"]].title), "shown": _cell(row["open"], threshold)} for row in rows]


@login_required
def gaps(request: HttpRequest) -> HttpResponse:
    """Counts of open gaps by rule, provider and service, and the weekly trend by rule group: aggregates only,
    with small counts suppressed. For managers and administrators; others are told it is not for them."""
    try:
        weeks = int(request.GET.get("weeks", 12))
    except ValueError:
        weeks = 12
    if weeks not in WEEK_CHOICES:
        weeks = 12
    try:
        overview = selectors.gap_overview(actor=request.user, weeks=weeks)
    except AccessDenied:
        if staff_of(request.user) is None:
            raise Http404 from None
        return render(request, "web/worklist/gaps_denied.html", status=403)
    k = overview.small_cell
    series = [
        Series(str(title), [(row["week_ending"], row["open_by_group"][group]) for row in overview.trend
                            if row["open_by_group"][group] is not None])
        for group, title in GROUPS.items()
    ]
    values = [n for row in overview.trend for n in row["open_by_group"].values() if n is not None]
    chart = line_chart(series, key="gap-trend", title=gettext("Open alerts at the end of each week, by kind"),
                       y_label=gettext("Open alerts"), y_min=0, y_max=_nice_top(max([*values, 1])))
    bands = {"waiting": "waiting", "under_14": "under_14_days", "from_14_to_30": "14_to_30_days",
             "from_30_to_90": "30_to_90_days", "over_90": "over_90_days"}
    waiting = [{"organisation": row["organisation"], **{key: _cell(row[band], k) for key, band in bands.items()}}
               for row in overview.waiting]
    return render(request, "web/worklist/gaps.html", {
        "overview": overview, "chart": chart, "weeks": weeks, "week_choices": WEEK_CHOICES,
        "by_rule": _count_rows(overview.by_rule, k), "by_provider": _count_rows(overview.by_provider, k),
        "by_service": _count_rows(overview.by_service, k), "waiting": waiting,
        "total_open": _cell(overview.total_open if overview.total_open == 0 or overview.total_open >= k else None, k),
        "threshold": k,
    })


urlpatterns: list[URLPattern | Any] = [
    path("alerts/<int:alert_id>/", alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge/", alert_action, {"action": "acknowledge"}, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/comment/", alert_action, {"action": "comment"}, name="alert_comment"),
    path("alerts/<int:alert_id>/resolve/", alert_action, {"action": "resolve"}, name="alert_resolve"),
    path("gaps/", gaps, name="gaps"),
]
