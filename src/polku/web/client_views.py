"""The client search, registering a client, and the client page: the client's whole path on one screen.

Thin views: each section is read through a selector that asks the access policy and writes the access log; a
section whose data category the reader may not see says so and shows nothing of it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from polku.access.policy import JOINT_SERVICE_ROLES, client_of, decide, staff_of
from polku.accounts.reauth import recent_auth_required
from polku.assessments import selectors as assessment_selectors
from polku.assessments.models import ScoringRule
from polku.assessments.scoring import score_range
from polku.audit.models import AccessAction
from polku.clients import selectors as client_selectors
from polku.clients import services as client_services
from polku.clients.models import ConsentMethod, EmploymentStatusPeriod, Gender, municipality_code_validator
from polku.core.choices import DataCategory, Language
from polku.core.errors import AccessDenied, InvalidInput
from polku.core.identity import parse_hetu
from polku.episodes.models import EpisodeStatus
from polku.impact import registry as impact_registry
from polku.impact import selectors as impact_selectors
from polku.impact import services as impact_services
from polku.impact.models import ModelKind, OverrideDirection
from polku.organisations.models import Organisation
from polku.plans import selectors as plan_selectors
from polku.referrals import selectors as referral_selectors

from .charts import Series, line_chart
from .forms import is_htmx, show_service_errors
from .partner_views import ProposeForm, jobs_part

#: Every read of the client page is logged with this purpose (the category tells what was read).
PAGE_PURPOSE = _("View client details")
SEARCH_PAGE_SIZE = 25
LOG_PREVIEW = 50
LOG_PAGE_SIZE = 50
#: Categories a consent is recorded for (basic details are covered by any consent).
CONSENT_CATEGORIES = [(value, label) for value, label in DataCategory.choices if value != DataCategory.BASIC]
#: How staff record that a consent was given (electronically is the client's own way).
STAFF_CONSENT_METHODS = [(value, label) for value, label in ConsentMethod.choices if value != ConsentMethod.ELECTRONIC]


# --- forms -----------------------------------------------------------------------------------------------------


class ClientSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or personal identity code"), required=False, max_length=100,
                        help_text=_("Part of the first or last name, or the whole personal identity code."))
    municipality = forms.CharField(label=_("Municipality code"), required=False, max_length=3,
                                   validators=[municipality_code_validator],
                                   help_text=_("Three digits, for example 091."))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.input_type = "search"
        live = {"hx-get": reverse("web:client_search"), "hx-trigger": "input changed delay:500ms",
                "hx-target": "#search-results", "hx-include": "closest form", "hx-push-url": "true",
                "autocomplete": "off"}
        for name in ("q", "municipality"):
            self.fields[name].widget.attrs.update(live)


class ClientRegisterForm(forms.Form):
    personal_identity_code = forms.CharField(label=_("Personal identity code"), max_length=11,
                                             help_text=_("For example 010190-900P."))
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    municipality_code = forms.CharField(label=_("Municipality code"), max_length=3,
                                        validators=[municipality_code_validator],
                                        help_text=_("Three digits, for example 091."))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, initial=Gender.NOT_STATED)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices,
                                           initial=Language.FINNISH)
    start_date = forms.DateField(label=_("Start of the joint service"), required=False,
                                 help_text=_("Leave empty to start today."))
    categories = forms.MultipleChoiceField(
        label=_("The client consents to your organisation processing"), choices=CONSENT_CATEGORIES,
        widget=forms.CheckboxSelectMultiple,
    )
    purpose = forms.CharField(label=_("Purpose of the consent"), max_length=300,
                              initial=_("Multi-sector joint service"))
    consent_method = forms.ChoiceField(label=_("How the consent was given"), choices=STAFF_CONSENT_METHODS,
                                       initial=ConsentMethod.IN_PERSON, widget=forms.RadioSelect)

    def clean_personal_identity_code(self) -> str:
        code = parse_hetu(self.cleaned_data["personal_identity_code"]).code  # a ValidationError shows at the field
        return str(code)

    def clean_start_date(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("start_date")
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("The joint service cannot start in the future."))
        return day


class ConsentRecordForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.none())
    category = forms.ChoiceField(label=_("Data category"), choices=CONSENT_CATEGORIES)
    purpose = forms.CharField(label=_("Purpose"), max_length=300, initial=_("Multi-sector joint service"))
    valid_to = forms.DateField(label=_("Valid until"), required=False,
                               help_text=_("Leave empty if the consent is valid until it is revoked."))
    method = forms.ChoiceField(label=_("How the consent was given"), choices=STAFF_CONSENT_METHODS,
                               initial=ConsentMethod.IN_PERSON)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "consent")
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(active=True).order_by("name_fi", "pk")  # type: ignore[attr-defined]

    def clean_valid_to(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("valid_to")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError(_("The end of a consent cannot be in the past."))
        return day


class ConsentRevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason for revoking"), max_length=300)

    def __init__(self, *args: Any, consent_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"revoke-{consent_id}")
        super().__init__(*args, **kwargs)


class DisagreeForm(forms.Form):
    """A professional's disagreement with the employment-potential estimate: which way, and why."""

    direction = forms.ChoiceField(label=_("How do you disagree with the estimate?"),
                                  choices=OverrideDirection.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Why do you disagree?"), max_length=impact_services.REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("For example, what you know about the client's situation that the "
                                         "estimate does not take into account."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "disagree")
        super().__init__(*args, **kwargs)


# --- helpers ---------------------------------------------------------------------------------------------------


def _may_register(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and staff.role in JOINT_SERVICE_ROLES


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _current_period(periods: list[EmploymentStatusPeriod], today: dt.date) -> EmploymentStatusPeriod | None:
    current = [p for p in periods if p.start_date <= today and (p.end_date is None or p.end_date >= today)]
    return current[-1] if current else None


def _assessment_charts(assessments: list[Any]) -> list[Any]:
    """One chart per instrument with a total score: its total over time, one line per respondent (the
    professionals' assessments and the client's self-assessments share the instrument's scale)."""
    by_instrument: dict[int, list[Any]] = defaultdict(list)
    for assessment in assessments:
        if assessment.score is not None and assessment.instrument.scoring_rule != ScoringRule.NONE:
            by_instrument[assessment.instrument_id].append(assessment)
    charts = []
    for instrument_id, rows in by_instrument.items():
        instrument = rows[0].instrument
        points: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
        for row in sorted(rows, key=lambda a: (a.assessed_on, a.pk)):
            points[row.get_respondent_display()].append((row.assessed_on, float(row.score)))
        series = [Series(name, [(day, value) for day, value in dict(pts).items()]) for name, pts in points.items()]
        low, high = score_range(instrument.scoring_rule,
                                [(i.scale_min, i.scale_max) for i in instrument.items.all()])
        charts.append(line_chart(series, key=f"assessment-chart-{instrument_id}", title=str(instrument),
                                 y_label=gettext("Total score"), y_min=low, y_max=high))
    return sorted(charts, key=lambda c: c.title)


#: How a state is shown: its words and the tag's look (never colour alone: the words say it).
CONSENT_STATES = {
    "active": (_("In force"), "success"),
    "future": (_("Not yet in force"), "info"),
    "ended": (_("Ended"), "warning"),
    "revoked": (_("Revoked"), "error"),
}
STEP_TAGS = {"planned": "info", "in_progress": "info", "done": "success", "cancelled": "warning"}


def _consent_state(consent: Any, now: dt.datetime) -> dict[str, Any]:
    if consent.revoked_at is not None:
        key = "revoked"
    elif consent.is_active(now):
        key = "active"
    elif consent.valid_to is not None and consent.valid_to <= now:
        key = "ended"
    else:
        key = "future"
    label, tag = CONSENT_STATES[key]
    return {"key": key, "label": label, "tag": tag}


def _step_rows(groups: list[Any], today: dt.date) -> list[dict[str, Any]]:
    """The plan's step groups for the page: each step with its tag look and whether it is overdue."""
    return [
        {"organisation": group.organisation,
         "steps": [{"step": step, "tag": STEP_TAGS.get(step.status, "info"),
                    "overdue": step.due_date is not None and step.due_date < today
                    and step.status in ("planned", "in_progress")}
                   for step in group.steps]}
        for group in groups
    ]


def _estimate_chart(estimate: impact_selectors.ClientEstimate) -> Any:
    """The estimate over the joint service, in per cent, with the 90 % range's limits as lines of their own."""
    points = estimate.trajectory
    series = [Series(gettext("Estimate"), [(p.reference_date, 100 * p.probability) for p in points])]
    if any(p.low is not None for p in points):
        series.append(Series(gettext("Lower limit"), [(p.reference_date, 100 * p.low) for p in points
                                                      if p.low is not None]))
        series.append(Series(gettext("Upper limit"), [(p.reference_date, 100 * p.high) for p in points
                                                      if p.high is not None]))
    return line_chart(series, key="estimate-trend", title=gettext("The estimate during the joint service"),
                      y_label=gettext("Chance of work in 12 months (%)"), y_min=0, y_max=100)


def _estimate_part(actor: Any, client_id: int, *, employment_visible: bool, has_open_episode: bool,
                   form: DisagreeForm | None = None) -> dict[str, Any]:
    """The employment-potential section: the estimate (read through its selector, which checks the policy and
    logs the read), or why there is none. Only the estimate's own refusal is caught: the rest of the page does not
    depend on it. Nothing is read (or logged) when there is nothing to show: no model trained, no open episode."""
    if not employment_visible:
        return {"state": "hidden"}
    if not has_open_episode:
        return {"state": "no_episode"}
    if impact_registry.latest(ModelKind.POTENTIAL, impact_selectors.PAGE_OUTCOME) is None:
        return {"state": "no_model"}
    try:
        estimate = impact_selectors.client_estimate(actor=actor, client_id=client_id)
    except AccessDenied:
        return {"state": "hidden"}
    if estimate is None:
        return {"state": "no_episode"}
    hidden = estimate.hidden_reasons
    return {
        "state": "shown",
        "estimate": estimate,
        "average_percent": round(estimate.average * 100),
        "low_percent": None if estimate.low is None else round(estimate.low * 100),
        "high_percent": None if estimate.high is None else round(estimate.high * 100),
        "reasons": estimate.reasons,
        "hidden_reasons_text": ngettext(
            "One more reason comes from data you may not see, so it is not shown.",
            "%(count)s more reasons come from data you may not see, so they are not shown.", hidden,
        ) % {"count": hidden} if hidden else "",
        "chart": _estimate_chart(estimate),
        "segment": estimate.segment,
        "overrides": [(o, round(o.estimate * 100)) for o in estimate.overrides],
        "form": form or DisagreeForm(),
    }


def _suggestions_part(actor: Any, client_id: int, *, employment_visible: bool, has_open_episode: bool,
                      may_refer: bool) -> dict[str, Any]:
    """The "Services that may help" section: services ranked by their estimated effect on this client (read through
    ``service_suggestions``, which checks the policy and logs the read), or why there are none."""
    from polku.catalogue.models import ServiceClass

    if not employment_visible:
        return {"state": "hidden"}
    if not has_open_episode:
        return {"state": "no_episode"}
    try:
        found = impact_selectors.service_suggestions(actor=actor, client_id=client_id)
    except AccessDenied:
        return {"state": "hidden"}
    if found is None:
        return {"state": "no_model"}
    names = dict(ServiceClass.choices)
    return {
        "state": "shown",
        "as_of": found.as_of,
        "run_created_at": found.run_created_at,
        "classes": [{"name": names.get(c.service_class, c.service_class), "effect": c} for c in found.classes],
        "services": [_suggested_row(s) for s in found.services],
        "may_refer": may_refer,
        "hidden_reasons_text": ngettext(
            "One more reason comes from data you may not see, so it is not shown.",
            "%(count)s more reasons come from data you may not see, so they are not shown.", found.hidden_reasons,
        ) % {"count": found.hidden_reasons} if found.hidden_reasons else "",
    }


def _suggested_row(item: Any) -> dict[str, Any]:
    """One suggested service as the template shows it: names of its languages and target groups, and the client's
    latest referral to it (if the reader's organisation may see one)."""
    from polku.web.catalogue_views import language_name, target_group_name

    service = item.service
    return {
        "service": service,
        "effect": item.effect,
        "waiting_days": item.waiting_days,
        "languages": ", ".join(language_name(str(code)) for code in service.languages or []),
        "in_client_language": item.in_client_language,
        "target_groups": ", ".join(target_group_name(str(g)) for g in service.target_groups or []),
        "referral": item.referral,
        "already_referred": item.already_referred,
    }


def _client_page_context(request: HttpRequest, client_id: int) -> dict[str, Any]:
    """Everything the client page shows, each part read through its selector (checked and logged)."""
    actor = request.user
    try:
        overview = client_selectors.client_overview(actor=actor, client_id=client_id)
    except AccessDenied:
        raise Http404 from None
    client = overview.client
    today = timezone.localdate()
    visible = set(assessment_selectors.visible_categories(actor, client.pk))
    open_episode = next((e for e in overview.episodes if e.is_open), None)
    episodes = sorted(overview.episodes, key=lambda e: (e.start_date, e.pk), reverse=True)

    employment: list[EmploymentStatusPeriod] | None = None
    plan = version = None
    step_groups: list[Any] = []
    if DataCategory.EMPLOYMENT in visible:
        employment = list(client_selectors.employment_history(actor=actor, client_id=client.pk))
        if open_episode is not None:
            plan = plan_selectors.plans_visible_to(actor, episode_id=open_episode.pk, purpose=PAGE_PURPOSE).first()
            if plan is not None and plan.current_versions:  # type: ignore[attr-defined]
                version = plan.current_versions[0]  # type: ignore[attr-defined]
                step_groups = plan_selectors.plan_steps_by_organisation(version=version)

    assessments = list(assessment_selectors.assessments_for_client(actor=actor, client_id=client.pk,
                                                                   purpose=PAGE_PURPOSE)
                       .prefetch_related("instrument__items"))
    assessment_selectors.log_assessments_shown(actor=actor, client_id=client.pk, assessments=assessments,
                                               purpose=PAGE_PURPOSE)

    referrals = [(r, referral_selectors.referral_waiting_days(r, today)) for r in
                 referral_selectors.referrals_visible_to(actor, client_id=client.pk)
                 .select_related("service", "receiving_organisation", "sending_organisation")
                 .order_by("-created_at", "-pk")]
    contacts = list(client_selectors.contacts_for_client(actor=actor, client_id=client.pk,
                                                         purpose=PAGE_PURPOSE)[:LOG_PREVIEW])
    potential = _estimate_part(actor, client.pk, employment_visible=DataCategory.EMPLOYMENT in visible,
                               has_open_episode=open_episode is not None)
    jobs = jobs_part(actor, client.pk, employment_visible=DataCategory.EMPLOYMENT in visible,
                     plan_version=version.number if version is not None else None)
    suggestions = _suggestions_part(actor, client.pk, employment_visible=DataCategory.EMPLOYMENT in visible,
                                    has_open_episode=open_episode is not None,
                                    may_refer=client_of(actor) is None)
    own_log = list(client_selectors.access_log_by_actor(actor=actor, client_id=client.pk)[:LOG_PREVIEW + 1])

    may_manage = bool(decide(actor, client.pk, DataCategory.BASIC, AccessAction.MANAGE_CONSENT))
    hidden = [label for value, label in DataCategory.choices if value not in visible]
    return {
        "client": client,
        "age": _age(client.birth_date, today),
        "today": today,
        "visible": {value: value in visible for value in DataCategory.values},
        "hidden_categories": hidden,
        "hidden_assessment_categories": [label for value, label in DataCategory.choices
                                         if value not in visible and value != DataCategory.BASIC],
        "episodes": episodes,
        "open_episode": open_episode,
        "participants": [p for p in open_episode.participants.all() if p.left_on is None] if open_episode else [],
        "consents": overview.consents,
        "may_manage_consent": may_manage,
        "consent_form": ConsentRecordForm() if may_manage else None,
        "revoke_forms": {c.pk: ConsentRevokeForm(consent_id=c.pk) for c in overview.consents
                         if may_manage and c.is_active()},
        "employment": list(reversed(employment)) if employment is not None else None,
        "current_status": _current_period(employment, today) if employment is not None else None,
        "plan": plan,
        "version": version,
        "goals": list(version.goals.all()) if version is not None else [],
        "step_groups": _step_rows(step_groups, today),
        "assessments": assessments,
        "charts": _assessment_charts(assessments),
        "referral_rows": referrals,
        "potential": potential,
        "suggestions": suggestions,
        "jobs": jobs,
        "contacts": contacts,
        "own_log": own_log[:LOG_PREVIEW],
        "own_log_more": len(own_log) > LOG_PREVIEW,
        "is_client_self": client_of(actor) is not None,
        "assessment_new_url": reverse("web:assessment_new", args=[client.pk]),
        "referral_new_url": reverse("web:referral_new", args=[client.pk]),
        "plan_edit_url": reverse("web:plan_edit", args=[open_episode.pk]) if open_episode is not None else None,
        "message_thread_url": reverse("portal:staff_thread", args=[client.pk]),
    }


def _render_client_page(request: HttpRequest, client_id: int, *, consent_form: ConsentRecordForm | None = None,
                        revoke_form: tuple[int, ConsentRevokeForm] | None = None,
                        disagree_form: DisagreeForm | None = None,
                        job_form: tuple[int, ProposeForm] | None = None) -> HttpResponse:
    context = _client_page_context(request, client_id)
    if job_form is not None and context["jobs"]["state"] == "shown":
        for row in context["jobs"]["rows"]:
            if row["opening"].pk == job_form[0]:
                row["form"] = job_form[1]
    if disagree_form is not None and context["potential"]["state"] == "shown":
        context["potential"]["form"] = disagree_form
    if consent_form is not None and context["may_manage_consent"]:
        context["consent_form"] = consent_form
    if revoke_form is not None and revoke_form[0] in context["revoke_forms"]:
        context["revoke_forms"][revoke_form[0]] = revoke_form[1]
    now = timezone.now()
    context["consent_rows"] = [(c, _consent_state(c, now), context["revoke_forms"].get(c.pk))
                               for c in context["consents"]]
    return render(request, "web/client/detail.html", context)


# --- views -----------------------------------------------------------------------------------------------------


@login_required
def client_search(request: HttpRequest) -> HttpResponse:
    """``/clients/``: search the clients one may see; a page at a time, each name shown logged."""
    if client_of(request.user) is not None:
        return redirect("web:home")  # which sends a client to their own pages
    if staff_of(request.user) is None:
        raise Http404
    form = ClientSearchForm(request.GET or None)
    page_number = 1
    results = None
    if form.is_bound and form.is_valid():
        page_number = form.cleaned_data.get("page") or 1
        results = client_selectors.client_search(
            actor=request.user, query=form.cleaned_data["q"], municipality_code=form.cleaned_data["municipality"],
            offset=(page_number - 1) * SEARCH_PAGE_SIZE, limit=SEARCH_PAGE_SIZE,
        )
    elif not form.is_bound:
        results = client_selectors.client_search(actor=request.user, limit=SEARCH_PAGE_SIZE)
    query = {"q": form.data.get("q", ""), "municipality": form.data.get("municipality", "")} if form.is_bound else {}
    context = {
        "form": form,
        "results": results,
        "page_number": page_number,
        "previous_query": _page_query(query, page_number - 1) if page_number > 1 else None,
        "next_query": _page_query(query, page_number + 1) if results is not None and results.has_next else None,
        "may_register": _may_register(request.user),
        "today": timezone.localdate(),
    }
    template = "web/client/_search_results.html" if is_htmx(request) else "web/client/search.html"
    return render(request, template, context)


def _page_query(query: dict[str, str], page: int) -> str:
    from urllib.parse import urlencode

    return urlencode({**{k: v for k, v in query.items() if v}, "page": page})


@login_required
def client_register(request: HttpRequest) -> HttpResponse:
    """``/clients/new/``: register a person in the joint service (the joint-service roles only)."""
    if not _may_register(request.user):
        raise PermissionDenied
    staff = staff_of(request.user)
    assert staff is not None
    form = ClientRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        grants = [client_services.ConsentGrant(organisation_id=staff.organisation_id, category=category,
                                               purpose=data["purpose"]) for category in data["categories"]]
        try:
            client = client_services.client_register(
                actor=request.user, personal_identity_code=data["personal_identity_code"],
                first_name=data["first_name"], last_name=data["last_name"],
                municipality_code=data["municipality_code"], start_date=data["start_date"], consents=grants,
                consent_method=data["consent_method"], gender=data["gender"],
                preferred_language=data["preferred_language"],
            )
        except (InvalidInput, AccessDenied) as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, gettext("The client is registered and the joint service has started."))
            return redirect("web:client_detail", client_id=client.pk)
    return render(request, "web/client/register.html", {"form": form, "organisation": staff.organisation})


@login_required
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    """``/clients/<id>/``: the client's whole path: summary, episodes, consents, assessments, plan, referrals,
    employment history, contacts and the reader's own access-log entries."""
    return _render_client_page(request, client_id)


@login_required
@require_POST
@recent_auth_required  # a consent recorded on the client's behalf: a recent password (polku.accounts.reauth)
def consent_record(request: HttpRequest, client_id: int) -> HttpResponse:
    form = ConsentRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        valid_to = None
        if data["valid_to"] is not None:
            valid_to = timezone.make_aware(dt.datetime.combine(data["valid_to"] + dt.timedelta(days=1), dt.time.min))
        grant = client_services.ConsentGrant(organisation_id=data["organisation"].pk, category=data["category"],
                                             purpose=data["purpose"], valid_to=valid_to)
        try:
            client_services.consent_record(actor=request.user, client_id=client_id, grant=grant,
                                           method=data["method"])
        except AccessDenied:
            raise Http404 from None
        except InvalidInput as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, gettext("The consent is recorded."))
            return redirect(reverse("web:client_detail", args=[client_id]) + "#consents")
    return _render_client_page(request, client_id, consent_form=form)


@login_required
@require_POST
@recent_auth_required
def consent_revoke(request: HttpRequest, client_id: int, consent_id: int) -> HttpResponse:
    form = ConsentRevokeForm(request.POST, consent_id=consent_id)
    if form.is_valid():
        try:
            consent = client_services.consent_revoke(actor=request.user, consent_id=consent_id,
                                                     reason=form.cleaned_data["reason"])
        except AccessDenied:
            raise Http404 from None
        except InvalidInput as exc:
            messages.error(request, str(exc))
            return redirect(reverse("web:client_detail", args=[client_id]) + "#consents")
        messages.success(request, gettext("The consent is revoked. It no longer allows access."))
        return redirect(reverse("web:client_detail", args=[consent.client_id]) + "#consents")
    return _render_client_page(request, client_id, revoke_form=(consent_id, form))


@login_required
@require_POST
def estimate_disagree(request: HttpRequest, client_id: int) -> HttpResponse:
    """Record that the professional disagrees with the client's employment-potential estimate, and why. Without
    JavaScript: back to the client page with a message (or the page with the error next to the field); with htmx:
    the employment-potential section, swapped in place, with the message."""
    form = DisagreeForm(request.POST)
    if form.is_valid():
        try:
            impact_services.record_override(actor=request.user, client_id=client_id,
                                            direction=form.cleaned_data["direction"],
                                            reason=form.cleaned_data["reason"])
        except AccessDenied:
            raise Http404 from None
        except InvalidInput as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, gettext("Your disagreement is recorded. The estimate itself stays as it was."))
            if not is_htmx(request):
                return redirect(reverse("web:client_detail", args=[client_id]) + "#employment-potential")
            form = DisagreeForm()
    if is_htmx(request):
        return _estimate_section(request, client_id, form)
    return _render_client_page(request, client_id, disagree_form=form)


def _estimate_section(request: HttpRequest, client_id: int, form: DisagreeForm) -> HttpResponse:
    """The employment-potential section alone (htmx), read again through the selectors like the whole page."""
    actor = request.user
    try:
        client = client_selectors.client_get(actor=actor, client_id=client_id, purpose=PAGE_PURPOSE)
    except AccessDenied:
        raise Http404 from None
    has_open = client.episodes.exclude(status=EpisodeStatus.CLOSED).exists()
    visible = set(assessment_selectors.visible_categories(actor, client.pk))
    potential = _estimate_part(actor, client.pk, employment_visible=DataCategory.EMPLOYMENT in visible,
                               has_open_episode=has_open, form=form)
    return render(request, "web/client/_estimate.html", {"client": client, "potential": potential, "htmx": True})


@login_required
def client_access_log(request: HttpRequest, client_id: int) -> HttpResponse:
    """``/clients/<id>/access-log/``: the reader's own actions on this client's data, paged (the whole log is
    the client's to read, on their own page)."""
    try:
        client = client_selectors.client_get(actor=request.user, client_id=client_id, purpose=PAGE_PURPOSE)
    except AccessDenied:
        raise Http404 from None
    entries = client_selectors.access_log_by_actor(actor=request.user, client_id=client.pk)
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/client/access_log.html", {"client": client, "page": page})


urlpatterns: list[URLPattern | Any] = [
    path("clients/", client_search, name="client_search"),
    path("clients/new/", client_register, name="client_register"),
    path("clients/<int:client_id>/", client_detail, name="client_detail"),
    path("clients/<int:client_id>/consents/", consent_record, name="client_consent_record"),
    path("clients/<int:client_id>/consents/<int:consent_id>/revoke/", consent_revoke, name="client_consent_revoke"),
    path("clients/<int:client_id>/access-log/", client_access_log, name="client_access_log"),
    path("clients/<int:client_id>/estimate/disagree/", estimate_disagree, name="client_estimate_disagree"),
]
