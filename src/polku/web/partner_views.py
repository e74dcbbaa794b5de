"""Employment partners in the professional UI: a client's suitable jobs (on the client page) with proposing and a
training step for a skills gap, the client's job preferences, the job openings with the clients who may fit, and
public contracts with how their employment clauses are met (docs/partners.md).

Thin views, as elsewhere: every read of a client's data goes through a service or selector that asks the access
policy and writes the access log. Nothing is sent to an employer from these pages but a proposal the client has
agreed to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from polku.access.policy import staff_of
from polku.clients import selectors as client_selectors
from polku.clients.models import municipality_code_validator
from polku.core.errors import AccessDenied, DomainError, InvalidInput, VersionConflict
from polku.partners import selectors as partner_selectors
from polku.partners import services as partner_services
from polku.partners.models import (
    PROPOSAL_TRANSITIONS,
    Accommodation,
    Demand,
    Employer,
    EmployerKind,
    JobPreferences,
    Opening,
    OpeningKind,
    Proposal,
    ProposalStatus,
    PublicContract,
    Skill,
    TargetGroup,
    WorkLanguage,
)

from .charts import Series, line_chart
from .forms import is_htmx, show_service_errors

OPENINGS_PAGE_SIZE = 25
SUGGESTIONS = 10
CANDIDATES = 20
PREFERENCES_PURPOSE = _("Edit the client's job preferences")
#: A contract's fulfilment status in words, and its tag's look (the words say it, not the colour).
CONTRACT_STATUS = {
    "met": (_("Met"), "success"),
    "on_track": (_("On track"), "info"),
    "behind": (_("Behind"), "error"),
    "not_started": (_("Not started yet"), "warning"),
}
WORK_LANGUAGES = [(value, label) for value, label in WorkLanguage.choices if value != WorkLanguage.ANY]


# --- forms -----------------------------------------------------------------------------------------------------


class ProposeForm(forms.Form):
    """Propose the client to one opening: the client's agreement is asked for every proposal."""

    opening = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    client_agreed = forms.BooleanField(label=_("The client agrees to be proposed"), required=False)

    def __init__(self, *args: Any, opening_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"propose-{opening_id}")
        kwargs.setdefault("initial", {"opening": opening_id})
        super().__init__(*args, **kwargs)


class TrainingStepForm(forms.Form):
    opening = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    plan_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)


class JobPreferencesForm(forms.Form):
    hours_min = forms.IntegerField(label=_("At least hours a week"), min_value=0, max_value=60)
    hours_max = forms.IntegerField(label=_("At most hours a week"), min_value=1, max_value=60)
    max_commute_km = forms.IntegerField(label=_("Longest commute (km)"), min_value=0, max_value=500,
                                        help_text=_("How far from home the client can travel to work."))
    kinds = forms.MultipleChoiceField(label=_("Kinds of job wanted"), choices=OpeningKind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("Leave all unchecked if any kind will do."))
    languages = forms.MultipleChoiceField(label=_("Working languages"), choices=WORK_LANGUAGES, required=False,
                                          widget=forms.CheckboxSelectMultiple,
                                          help_text=_("Leave all unchecked to use the client's preferred "
                                                      "language."))
    accommodations = forms.TypedMultipleChoiceField(label=_("Adjustments the client needs at work"),
                                                    choices=Accommodation.choices, coerce=int, required=False,
                                                    widget=forms.CheckboxSelectMultiple)
    skills = forms.MultipleChoiceField(label=_("The client's skills"), choices=[], required=False,
                                       widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = sorted(((s.code, partner_services.skill_label(s)) for s in Skill.objects.all()),
                         key=lambda c: c[1].lower())
        self.fields["skills"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("hours_min"), data.get("hours_max")
        if low is not None and high is not None and low > high:
            self.add_error("hours_min", _("The least hours cannot be more than the most hours."))
        return data


class OpeningFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of job"), required=False,
                             choices=[("", _("All kinds")), *OpeningKind.choices])
    municipality = forms.CharField(label=_("Municipality code"), required=False, max_length=3,
                                   validators=[municipality_code_validator],
                                   help_text=_("Three digits, for example 091."))
    language = forms.ChoiceField(label=_("Working language"), required=False,
                                 choices=[("", _("All languages")), *WORK_LANGUAGES])
    open_only = forms.BooleanField(label=_("Only openings with places left"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


# --- helpers ---------------------------------------------------------------------------------------------------


def _staff_only(request: HttpRequest) -> Any:
    staff = staff_of(request.user)
    if staff is None:
        raise Http404
    return staff


def _skill_labels(groups: list[Any]) -> dict[int, str]:
    """The labels of every skill in ``groups`` (iterables of skill ids), in one query."""
    ids = {pk for group in groups for pk in group}
    return {s.pk: partner_services.skill_label(s) for s in Skill.objects.filter(pk__in=ids)} if ids else {}


def _names(ids: Any, labels: dict[int, str]) -> list[str]:
    return sorted(labels[pk] for pk in ids if pk in labels)


def _percent(score: float) -> int:
    return round(100 * score)


def _accommodation_labels(mask: int) -> list[str]:
    return [str(label) for value, label in Accommodation.choices if mask & int(value)]


def _distance_text(distance: float | None) -> str:
    if distance is None:
        return gettext("distance not known")
    if distance == 0:
        return gettext("in the same municipality")
    return gettext("about %(km)s km away") % {"km": round(distance)}


def jobs_part(actor: Any, client_id: int, *, employment_visible: bool, plan_version: int | None,
              forms_by_opening: dict[int, ProposeForm] | None = None) -> dict[str, Any]:
    """The client page's "Suitable jobs" section: the best openings (read through ``suggest_openings``, which
    checks the policy and logs the read), each with its propose form and, when skills are missing, the training
    step's form; or ``hidden`` when the reader may not see the client's employment data."""
    if not employment_visible:
        return {"state": "hidden"}
    try:
        profile, matches = partner_services.suggest_openings(actor=actor, client_id=client_id, limit=SUGGESTIONS)
    except AccessDenied:
        return {"state": "hidden"}
    proposed = {p.opening_id: p for p in Proposal.objects.filter(client_id=client_id,
                                                                  opening__in=[m.opening.pk for m in matches])}
    labels = _skill_labels([m.missing_skills for m in matches])
    rows = []
    for match in matches:
        opening = match.opening
        rows.append({
            "opening": opening,
            "percent": _percent(match.score),
            "distance": _distance_text(match.distance_km),
            "reasons": match.reasons,
            "missing": _names(match.missing_skills, labels),
            "proposal": proposed.get(opening.pk),
            "form": (forms_by_opening or {}).get(opening.pk) or ProposeForm(opening_id=opening.pk),
        })
    proposals = [
        {"proposal": p, "next": [(value, ProposalStatus(value).label) for value in ProposalStatus.values
                                 if value in PROPOSAL_TRANSITIONS[p.status]],
         "tag": PROPOSAL_TAGS.get(p.status, "info")}
        for p in Proposal.objects.filter(client_id=client_id).select_related("opening__employer")
        .order_by("-created_at", "-pk")
    ]
    return {
        "state": "shown",
        "rows": rows,
        "proposals": proposals,
        "has_preferences": JobPreferences.objects.filter(client_id=client_id).exists(),
        "plan_version": plan_version,
        "preferences_url": reverse("web:job_preferences", args=[client_id]),
        "profile": profile,
    }


#: The colour of each proposal status's tag.
PROPOSAL_TAGS = {"proposed": "info", "interview": "info", "accepted": "success", "declined": "warning",
                 "withdrawn": "info"}


def _client_page(request: HttpRequest, client_id: int, *, job_form: tuple[int, ProposeForm] | None = None
                 ) -> HttpResponse:
    from .client_views import _render_client_page

    return _render_client_page(request, client_id, job_form=job_form)


def _back_to_jobs(client_id: int) -> HttpResponse:
    return redirect(reverse("web:client_detail", args=[client_id]) + "#suitable-jobs")


# --- a client's jobs -------------------------------------------------------------------------------------------


@login_required
@require_POST
def job_propose(request: HttpRequest, client_id: int) -> HttpResponse:
    """Propose the client to an opening, with the client's agreement (``services.propose``). A refusal is shown
    next to that opening on the client page."""
    opening_id = _opening_id(request.POST, "propose-")
    form = ProposeForm(request.POST, opening_id=opening_id)
    if form.is_valid():
        try:
            partner_services.propose(actor=request.user, client_id=client_id, opening_id=form.cleaned_data["opening"],
                                     client_agreed=form.cleaned_data["client_agreed"])
        except AccessDenied as exc:
            if exc.code != "role":
                raise Http404 from None
            form.add_error(None, str(exc))
        except DomainError as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, gettext("The client was proposed to the employer."))
            return _back_to_jobs(client_id)
    return _client_page(request, client_id, job_form=(opening_id, form))


@login_required
@require_POST
def job_proposal_status(request: HttpRequest, client_id: int, proposal_id: int) -> HttpResponse:
    """Record the employer's answer to a proposal or withdraw it (``services.set_proposal_status``); the status
    the person saw travels with the form, so a change made meanwhile by someone else is not overwritten."""
    if not Proposal.objects.filter(pk=proposal_id, client_id=client_id).exists():
        raise Http404
    try:
        partner_services.set_proposal_status(actor=request.user, proposal_id=proposal_id,
                                             status=request.POST.get("status", ""),
                                             expected_status=request.POST.get("expected_status") or None)
    except AccessDenied as exc:
        if exc.code != "role":
            raise Http404 from None
        messages.error(request, str(exc))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("The proposal's status was recorded."))
    return redirect(reverse("web:client_detail", args=[client_id]) + "#job-proposals")


def _opening_id(data: Any, prefix: str) -> int:
    """The opening a propose form names (its fields are prefixed with the opening's id)."""
    for key in data:
        if key.startswith(prefix) and key.endswith("-opening"):
            number = key[len(prefix):-len("-opening")]
            if number.isdigit():
                return int(number)
    raise Http404


@login_required
@require_POST
def job_training_step(request: HttpRequest, client_id: int) -> HttpResponse:
    """Add a training step that closes the skills gap for an opening to the client's plan, as a new version."""
    form = TrainingStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("The request was incomplete. Try again."))
        return _back_to_jobs(client_id)
    try:
        version = partner_services.add_training_step(actor=request.user, client_id=client_id,
                                                     opening_id=form.cleaned_data["opening"],
                                                     expected_version=form.cleaned_data.get("plan_version"))
    except AccessDenied as exc:
        if exc.code != "role":
            raise Http404 from None
        messages.error(request, str(exc))
    except VersionConflict:
        messages.error(request, gettext("Someone else saved a newer version of the plan meanwhile. Look at the plan "
                                        "below and add the training step again if it is still needed."))
    except InvalidInput as exc:
        errors = [text for texts in (exc.errors or {}).values() for text in texts]
        messages.error(request, " ".join([str(exc), *errors]))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("The training step was added to the plan (version %(number)s).")
                         % {"number": version.number})
    return _back_to_jobs(client_id)


@login_required
def job_preferences(request: HttpRequest, client_id: int) -> HttpResponse:
    """``/clients/<id>/job-preferences/``: what the client wants and needs from work. Saved with the version the
    form was opened with: if someone saved meanwhile, the user's input is kept and the conflict is explained."""
    _staff_only(request)
    try:
        client = client_selectors.client_get(actor=request.user, client_id=client_id, purpose=PREFERENCES_PURPOSE)
        prefs = partner_selectors.job_preferences_get(actor=request.user, client_id=client_id,
                                                      purpose=PREFERENCES_PURPOSE)
    except AccessDenied:
        raise Http404 from None
    conflict: VersionConflict | None = None
    if request.method == "POST":
        form = JobPreferencesForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                partner_services.set_job_preferences(
                    actor=request.user, client_id=client.pk, expected_version=data["version"],
                    hours_min=data["hours_min"], hours_max=data["hours_max"], max_commute_km=data["max_commute_km"],
                    kinds=data["kinds"], languages=data["languages"], accommodations=data["accommodations"],
                    skill_codes=data["skills"], notes=data["notes"])
            except AccessDenied:
                raise Http404 from None
            except VersionConflict as exc:
                conflict = exc
            except DomainError as exc:
                show_service_errors(form, exc)
            else:
                messages.success(request, gettext("The job preferences are saved."))
                return _back_to_jobs(client.pk)
    else:
        initial: dict[str, Any] = {"version": 0, "hours_min": 0, "hours_max": 40, "max_commute_km": 30}
        if prefs is not None:
            initial = {"version": prefs.version, "hours_min": prefs.hours_min, "hours_max": prefs.hours_max,
                       "max_commute_km": prefs.max_commute_km, "kinds": prefs.kinds, "languages": prefs.languages,
                       "accommodations": [v for v in Accommodation.values if prefs.accommodations_needed & v],
                       "skills": [s.code for s in prefs.skills.all()], "notes": prefs.notes}
        form = JobPreferencesForm(initial=initial)
    return render(request, "web/partners/job_preferences.html", {
        "client": client, "form": form, "prefs": prefs, "conflict": conflict,
        "current_version": prefs.version if prefs is not None else 0,
    })


# --- openings --------------------------------------------------------------------------------------------------


@login_required
def opening_list(request: HttpRequest) -> HttpResponse:
    """``/partners/openings/``: the job openings, filtered and a page at a time (no client data)."""
    _staff_only(request)
    form = OpeningFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    page_number: Any = 1
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"kind": data["kind"], "municipality": data["municipality"], "language": data["language"],
                   "open_only": data["open_only"]}
        page_number = data.get("page") or 1
    qs = partner_selectors.openings(**filters) if not form.is_bound or form.is_valid() else Opening.objects.none()
    page = Paginator(qs, OPENINGS_PAGE_SIZE).get_page(page_number)
    query = {k: v for k, v in form.data.items() if k != "page" and v} if form.is_bound else {}
    context = {
        "form": form,
        "page": page,
        "previous_query": urlencode({**query, "page": page.previous_page_number()}) if page.has_previous() else None,
        "next_query": urlencode({**query, "page": page.next_page_number()}) if page.has_next() else None,
    }
    template = "web/partners/_opening_results.html" if is_htmx(request) else "web/partners/openings.html"
    return render(request, template, context)


@login_required
def opening_detail(request: HttpRequest, opening_id: int) -> HttpResponse:
    """``/partners/openings/<id>/``: the opening, its employer, and the clients the reader may see who may fit it
    (no hard constraint broken, best fit first). Proposals are made on each client's page."""
    _staff_only(request)
    opening = get_object_or_404(Opening.objects.select_related("employer"), pk=opening_id)
    candidates = partner_selectors.candidates_for_opening(request.user, opening, limit=CANDIDATES)
    labels = _skill_labels([c.missing_skills for c in candidates])
    employer: Employer = opening.employer
    return render(request, "web/partners/opening_detail.html", {
        "opening": opening,
        "employer": employer,
        "is_social": employer.kind in (EmployerKind.SOCIAL_ENTERPRISE, EmployerKind.INTERMEDIATE_LABOUR_MARKET),
        "physical": Demand(opening.physical_demand).label,
        "cognitive": Demand(opening.cognitive_demand).label,
        "accommodations": _accommodation_labels(opening.accommodations),
        "skills": sorted(partner_services.skill_label(s) for s in opening.skills.all()),
        "candidates": [{"candidate": c, "percent": _percent(c.score), "distance": _distance_text(c.distance_km),
                        "missing": _names(c.missing_skills, labels)} for c in candidates],
    })


# --- contracts -------------------------------------------------------------------------------------------------


def _months(value: Any) -> str:
    return formats.number_format(value, decimal_pos=1, use_l10n=True)


def _contracts_or_refuse(request: HttpRequest) -> HttpResponse | None:
    if partner_selectors.may_see_contracts(request.user):
        return None
    if staff_of(request.user) is None:
        raise Http404
    return render(request, "web/partners/contracts_denied.html", status=403)


def _contract_row(f: Any, groups: dict[str, Any]) -> dict[str, Any]:
    label, tag = CONTRACT_STATUS.get(f.status, (f.status, "info"))
    return {
        "f": f, "status": label, "tag": tag, "required_months": _months(f.contract.required_months),
        "months": _months(f.months), "expected_hires": _months(f.expected_hires),
        "expected_months": _months(f.expected_months),
        "target_groups": [str(groups.get(g, g)) for g in f.contract.target_groups],
    }


@login_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """``/partners/contracts/``: public contracts with employment clauses and how each is met, and the totals by
    procurer and by supplier (small counts shown as "<k"). Managers and administrators see every contract, a
    procurement officer those of their own organisation."""
    refused = _contracts_or_refuse(request)
    if refused is not None:
        return refused
    rows = partner_selectors.fulfilment(partner_selectors.contracts_visible_to(request.user))
    groups = dict(TargetGroup.choices)
    threshold = int(settings.POLKU.get("SMALL_CELL_THRESHOLD", 5))
    return render(request, "web/partners/contracts.html", {
        "table": [_contract_row(f, groups) for f in rows],
        "by_procurer": partner_selectors.report_by(rows, "procurer"),
        "by_supplier": partner_selectors.report_by(rows, "supplier"),
        "threshold": threshold,
    })


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    """``/partners/contracts/<id>/``: one contract's employment clause, how it is met today and month by month
    against what was expected by then (two charts with their tables). No client is named: the page shows counts."""
    refused = _contracts_or_refuse(request)
    if refused is not None:
        return refused
    contract = get_object_or_404(partner_selectors.contracts_visible_to(request.user)
                                 .select_related("procurer", "supplier"), pk=contract_id)
    (today,) = partner_selectors.fulfilment(PublicContract.objects.filter(pk=contract.pk))
    points = partner_selectors.fulfilment_over_time(contract)
    months_chart = line_chart(
        [Series(gettext("Employment months accrued"), [(p.day, p.months) for p in points]),
         Series(gettext("Expected by then"), [(p.day, p.expected_months) for p in points])],
        key="contract-months", title=gettext("Employment months, month by month"),
        y_label=gettext("employment months"), y_min=0,
        y_max=max([float(contract.required_months), *[p.months for p in points], 1.0]))
    hires_chart = line_chart(
        [Series(gettext("Hires"), [(p.day, float(p.hires)) for p in points]),
         Series(gettext("Expected by then"), [(p.day, p.expected_hires) for p in points])],
        key="contract-hires", title=gettext("Hires, month by month"), y_label=gettext("hires"), y_min=0,
        y_max=max([float(contract.required_hires), *[float(p.hires) for p in points], 1.0]))
    return render(request, "web/partners/contract_detail.html", {
        "contract": contract, "row": _contract_row(today, dict(TargetGroup.choices)),
        "value": formats.number_format(contract.value_eur, decimal_pos=0, use_l10n=True, force_grouping=True),
        "charts": [months_chart, hires_chart],
    })


urlpatterns: list[URLPattern | Any] = [
    path("clients/<int:client_id>/job-preferences/", job_preferences, name="job_preferences"),
    path("clients/<int:client_id>/jobs/propose/", job_propose, name="job_propose"),
    path("clients/<int:client_id>/jobs/training-step/", job_training_step, name="job_training_step"),
    path("clients/<int:client_id>/jobs/proposals/<int:proposal_id>/status/", job_proposal_status,
         name="job_proposal_status"),
    path("partners/openings/", opening_list, name="partner_openings"),
    path("partners/openings/<int:opening_id>/", opening_detail, name="partner_opening"),
    path("partners/contracts/", contract_list, name="partner_contracts"),
    path("partners/contracts/<int:contract_id>/", contract_detail, name="partner_contract"),
]
