"""The multi-sector plan editor: the current version, its agreement and reviews, step progress, the history of
versions, and the form that saves a new version (with the version it started from, so that a stale save is
refused and nothing is overwritten).

Views are thin: the reads go through ``polku.plans.selectors`` and every write through ``polku.plans.services``,
which check the access policy and write the access log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BaseFormSet, formset_factory
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from polku.access.policy import staff_of
from polku.core.errors import AccessDenied, DomainError, InvalidInput, VersionConflict
from polku.plans import selectors, services
from polku.plans.models import GoalArea, ReviewTrigger, SignoffParty, StepKind, StepStatus

from .forms import date_input, is_htmx, show_service_errors

#: Refusals decided by a plan service's own rule after the policy allowed the access: shown as a message, not as
#: "not found" (the user may see the plan; they may not do this particular thing).
RULE_REFUSALS = frozenset({"not_responsible", "not_owner"})
MAX_ROWS = 50


# --- forms -------------------------------------------------------------------------------------------------


class PlanForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    employment_goal = forms.CharField(label=_("Employment goal"), max_length=5000,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    rehabilitative_work_goal = forms.CharField(
        label=_("Goal of rehabilitative work activity"), max_length=5000, required=False,
        help_text=_("Only if the plan includes rehabilitative work activity."),
        widget=forms.Textarea(attrs={"rows": 2}))
    follow_up = forms.CharField(label=_("How progress is followed up"), max_length=5000, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))
    next_review_due = forms.DateField(
        label=_("Next review due"), required=False, widget=date_input(),
        help_text=_("Leave empty to review the plan six months from today."))
    change_summary = forms.CharField(label=_("What changed in this version"), max_length=5000, required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))


class GoalForm(forms.Form):
    area = forms.ChoiceField(label=_("Area"), choices=GoalArea.choices)
    title = forms.CharField(label=_("Goal"), max_length=300)
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def has_changed(self) -> bool:
        """An empty extra row is left out, not an error: only a title or a description makes it a goal."""
        return any(str(self.data.get(self.add_prefix(name), "")).strip() for name in ("title", "description"))


class StepForm(forms.Form):
    goal = forms.TypedChoiceField(label=_("Goal"), coerce=int, choices=())
    description = forms.CharField(label=_("Step"), max_length=500)
    owner = forms.ChoiceField(label=_("Responsible"), choices=())
    due_date = forms.DateField(label=_("Due date"), required=False, widget=date_input())
    status = forms.ChoiceField(label=_("Status"), choices=StepStatus.choices, initial=StepStatus.PLANNED)
    kind = forms.CharField(widget=forms.HiddenInput, required=False, initial=StepKind.ACTION)
    service = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, goal_choices: list[tuple[int, str]], owner_choices: list[tuple[str, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["goal"].choices = goal_choices  # type: ignore[attr-defined]
        self.fields["owner"].choices = owner_choices  # type: ignore[attr-defined]

    def has_changed(self) -> bool:
        """An empty extra row is left out: only a description or a due date makes it a step."""
        return any(str(self.data.get(self.add_prefix(name), "")).strip() for name in ("description", "due_date"))


GoalFormSet = formset_factory(GoalForm, extra=0, can_delete=True, max_num=MAX_ROWS, validate_max=True)
StepFormSet = formset_factory(StepForm, extra=0, can_delete=True, max_num=MAX_ROWS, validate_max=True)


class SignForm(forms.Form):
    plan_version_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    client_agreed_in_person = forms.BooleanField(
        label=_("The client agreed to this version in person"), required=False,
        help_text=_("Leave unticked to agree as your organisation's responsible person."))


class ReviewRequestForm(forms.Form):
    trigger = forms.ChoiceField(label=_("Reason for review"), choices=ReviewTrigger.choices,
                                initial=ReviewTrigger.CHANGED_NEEDS)
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))


class ReviewRecordForm(forms.Form):
    held_on = forms.DateField(label=_("Review held on"), widget=date_input())
    review_id = forms.TypedChoiceField(label=_("Answers the request"), coerce=int, required=False, empty_value=None,
                                       choices=())
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    next_review_due = forms.DateField(label=_("Next review due"), required=False, widget=date_input(),
                                      help_text=_("Leave empty to review again six months after this review."))

    def __init__(self, *args: Any, open_requests: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["review_id"].choices = [("", gettext("A scheduled review")), *open_requests]  # type: ignore


class StepStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=StepStatus.choices)


# --- reading the page --------------------------------------------------------------------------------------


def _editor_data(request: HttpRequest, episode_id: int) -> selectors.PlanEditorData:
    """The plan as the editor shows it; "not found" for anyone but staff who may see the client's plan."""
    if staff_of(request.user) is None:
        raise Http404
    try:
        return selectors.plan_for_editor(actor=request.user, episode_id=episode_id)
    except AccessDenied:
        raise Http404 from None


def _owner_choices(data: selectors.PlanEditorData) -> list[tuple[str, str]]:
    """The participating organisations, any other organisation that owns a step of the current version (a
    service's provider), and the client."""
    choices: dict[str, str] = {}
    for participant in data.episode.participants.all():
        if participant.left_on is None:
            choices[f"org-{participant.organisation_id}"] = str(participant.organisation)
    if data.current is not None:
        for goal in data.current.goals.all():
            for step in goal.steps.all():
                if step.owner_organisation_id is not None:
                    choices.setdefault(f"org-{step.owner_organisation_id}", str(step.owner_organisation))
    return [*choices.items(), ("client", gettext("The client"))]


def _goal_choices(goal_formset: BaseFormSet) -> list[tuple[int, str]]:
    choices = []
    for index, form in enumerate(goal_formset.forms):
        if form.is_bound:
            title = str(form.data.get(form.add_prefix("title"), "")).strip()
        else:
            title = str(form.initial.get("title", ""))
        label = (gettext("Goal %(number)s: %(title)s") % {"number": index + 1, "title": title[:80]} if title
                 else gettext("Goal %(number)s (new)") % {"number": index + 1})
        choices.append((index, label))
    return choices


def _initial_content(data: selectors.PlanEditorData) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                              list[dict[str, Any]]]:
    current = data.current
    today = timezone.localdate()
    plan_initial: dict[str, Any] = {"expected_version": data.plan.current_version if data.plan else 0}
    if data.plan is not None and data.plan.next_review_due and data.plan.next_review_due >= today:
        plan_initial["next_review_due"] = data.plan.next_review_due
    goals: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    if current is not None:
        plan_initial.update(employment_goal=current.employment_goal,
                            rehabilitative_work_goal=current.rehabilitative_work_goal, follow_up=current.follow_up)
        for gi, goal in enumerate(current.goals.all()):
            goals.append({"area": goal.area, "title": goal.title, "description": goal.description})
            for step in goal.steps.all():
                steps.append({
                    "goal": gi, "description": step.description, "due_date": step.due_date, "status": step.status,
                    "owner": "client" if step.owned_by_client else f"org-{step.owner_organisation_id}",
                    "kind": step.kind, "service": step.service_id,
                })
    return plan_initial, goals, steps


@dataclass
class EditorForms:
    plan: PlanForm
    goals: BaseFormSet
    steps: BaseFormSet


def _editor_forms(data: selectors.PlanEditorData, post: QueryDict | None = None) -> EditorForms:
    owner_choices = _owner_choices(data)
    if post is None:
        plan_initial, goals_initial, steps_initial = _initial_content(data)
        goals = GoalFormSet(prefix="goals", initial=goals_initial)
        goals.extra = 0 if goals_initial else 1
        steps = StepFormSet(prefix="steps", initial=steps_initial,
                            form_kwargs={"goal_choices": _goal_choices(goals), "owner_choices": owner_choices})
        steps.extra = 1
        return EditorForms(PlanForm(prefix="plan", initial=plan_initial), goals, steps)
    goals = GoalFormSet(post, prefix="goals")
    steps = StepFormSet(post, prefix="steps",
                        form_kwargs={"goal_choices": _goal_choices(goals), "owner_choices": owner_choices})
    return EditorForms(PlanForm(post, prefix="plan"), goals, steps)


def _kept(formset: BaseFormSet) -> list[tuple[int, forms.Form]]:
    """The rows of a valid formset that are in the plan: not removed, not an empty extra row."""
    kept = []
    for index, form in enumerate(formset.forms):
        if formset.can_delete and form.cleaned_data.get("DELETE"):
            continue
        if index >= formset.initial_form_count() and not form.has_changed():
            continue
        kept.append((index, form))
    return kept


_ERROR_KEY = re.compile(r"^goals\[(\d+)\](?:\.steps\[(\d+)\])?(?:\.(\w+))?$")
_STEP_FIELDS = {"description": "description", "due_date": "due_date", "status": "status",
                "owner_organisation": "owner", "owned_by_client": "owner", "service": "owner", "kind": "owner"}


def _show_service_errors(exc: InvalidInput, editor: EditorForms, goal_rows: list[forms.Form],
                         step_rows: list[list[forms.Form]]) -> None:
    """Put the service's field errors next to the fields they concern."""
    if not exc.errors:
        editor.plan.add_error(None, str(exc))
    for key, errors in exc.errors.items():
        for message in errors:
            match = _ERROR_KEY.match(key)
            if match is None:
                field = key if key in editor.plan.fields and key != "expected_version" else None
                editor.plan.add_error(field, message)
                continue
            gi, si, name = int(match[1]), match[2], match[3]
            if si is None:
                form = goal_rows[gi] if gi < len(goal_rows) else editor.plan
                form.add_error(name if name in form.fields else None, message)
            else:
                row = step_rows[gi][int(si)] if gi < len(step_rows) and int(si) < len(step_rows[gi]) else None
                if row is None:
                    editor.plan.add_error(None, message)
                else:
                    row.add_error(_STEP_FIELDS.get(name or ""), message)


def _content(editor: EditorForms) -> tuple[list[services.GoalInput], list[forms.Form], list[list[forms.Form]]]:
    """The service's goals from valid forms, and the forms each goal and step came from (for its errors).
    Raises :class:`InvalidInput` for a step whose goal is removed."""
    goal_rows = _kept(editor.goals)
    position = {index: n for n, (index, _form) in enumerate(goal_rows)}
    step_rows: list[list[forms.Form]] = [[] for _goal in goal_rows]
    step_inputs: list[list[services.StepInput]] = [[] for _goal in goal_rows]
    for _index, form in _kept(editor.steps):
        cd = form.cleaned_data
        if cd["goal"] not in position:
            form.add_error("goal", gettext("Choose a goal that stays in the plan."))
            continue
        owner = cd["owner"]
        kind = cd.get("kind") or StepKind.ACTION
        step_rows[position[cd["goal"]]].append(form)
        step_inputs[position[cd["goal"]]].append(services.StepInput(
            description=cd["description"], owned_by_client=owner == "client",
            owner_organisation_id=int(owner[4:]) if owner.startswith("org-") else None,
            kind=kind, service_id=cd.get("service"), due_date=cd.get("due_date"), status=cd["status"],
        ))
    goals = [services.GoalInput(area=form.cleaned_data["area"], title=form.cleaned_data["title"],
                                description=form.cleaned_data.get("description", ""), steps=tuple(steps))
             for (_index, form), steps in zip(goal_rows, step_inputs, strict=True)]
    return goals, [form for _index, form in goal_rows], step_rows


def _context(request: HttpRequest, data: selectors.PlanEditorData, *, editor: EditorForms | None = None,
             sign_form: SignForm | None = None, request_form: ReviewRequestForm | None = None,
             review_form: ReviewRecordForm | None = None, conflict: VersionConflict | None = None) -> dict[str, Any]:
    staff = staff_of(request.user)
    assert staff is not None
    current = data.current
    open_requests = [(r.pk, f"{r.get_trigger_display()} ({timezone.localtime(r.requested_at).date():%Y-%m-%d})")
                     for r in data.reviews if r.held_on is None]
    signoffs = list(current.signoffs.all()) if current is not None else []
    responsible = any(p.responsible_person_id == staff.pk and p.organisation_id == staff.organisation_id
                      and p.left_on is None for p in data.episode.participants.all())
    own_signed = any(s.party == SignoffParty.ORGANISATION and s.organisation_id == staff.organisation_id
                     for s in signoffs)
    client_signed = any(s.party == SignoffParty.CLIENT for s in signoffs)
    steps = []
    if current is not None:
        for goal in current.goals.all():
            for step in goal.steps.all():
                steps.append(step)
    return {
        "episode": data.episode, "client": data.episode.client, "plan": data.plan, "current": current,
        "versions": list(reversed(data.versions)), "reviews": data.reviews,
        "signoffs": signoffs, "client_signed": client_signed, "own_signed": own_signed,
        "responsible": responsible, "editable": data.episode.is_open, "staff": staff,
        "editor": editor or _editor_forms(data),
        "sign_form": sign_form or SignForm(prefix="sign",
                                           initial={"plan_version_id": current.pk if current else None}),
        "request_form": request_form or ReviewRequestForm(prefix="request"),
        "review_form": review_form or ReviewRecordForm(prefix="review", open_requests=open_requests,
                                                       initial={"held_on": timezone.localdate()}),
        "status_choices": StepStatus.choices,
        "updatable_steps": {s.pk for s in steps if s.owner_organisation_id in (None, staff.organisation_id)},
        "conflict": conflict,
    }


def _page(request: HttpRequest, data: selectors.PlanEditorData, **kwargs: Any) -> HttpResponse:
    return render(request, "web/plan/editor.html", _context(request, data, **kwargs))


def _back(episode_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:plan_edit", args=[episode_id]) + (f"#{anchor}" if anchor else ""))


# --- views -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, episode_id: int) -> HttpResponse:
    """The editor. A POST saves a new version (or, with ``add_step``, shows one more empty step row)."""
    data = _editor_data(request, episode_id)
    if request.method != "POST":
        return _page(request, data)
    if not data.episode.is_open:
        messages.error(request, gettext("The episode is closed; its plan can no longer change."))
        return _back(episode_id)
    if "add_step" in request.POST:
        post = request.POST.copy()
        total = int(post.get("steps-TOTAL_FORMS") or 0) if str(post.get("steps-TOTAL_FORMS", "")).isdigit() else 0
        post["steps-TOTAL_FORMS"] = str(min(total + 1, MAX_ROWS))
        return _page(request, data, editor=_editor_forms(data, post))
    if "add_goal" in request.POST:
        post = request.POST.copy()
        total = int(post.get("goals-TOTAL_FORMS") or 0) if str(post.get("goals-TOTAL_FORMS", "")).isdigit() else 0
        post["goals-TOTAL_FORMS"] = str(min(total + 1, MAX_ROWS))
        return _page(request, data, editor=_editor_forms(data, post))
    editor = _editor_forms(data, request.POST)
    valid = [editor.plan.is_valid(), editor.goals.is_valid(), editor.steps.is_valid()]
    if not all(valid):
        return _page(request, data, editor=editor)
    goals, goal_rows, step_rows = _content(editor)
    if any(form.errors for rows in step_rows for form in rows) or any(f.errors for f in editor.steps.forms):
        return _page(request, data, editor=editor)
    cd = editor.plan.cleaned_data
    try:
        version = services.plan_add_version(
            actor=request.user, episode_id=episode_id, expected_version=cd["expected_version"],
            employment_goal=cd["employment_goal"], goals=goals,
            rehabilitative_work_goal=cd.get("rehabilitative_work_goal", ""), follow_up=cd.get("follow_up", ""),
            change_summary=cd.get("change_summary", ""), next_review_due=cd.get("next_review_due"),
        )
    except AccessDenied:
        raise Http404 from None
    except VersionConflict as exc:
        data = _editor_data(request, episode_id)
        return _page(request, data, editor=editor, conflict=exc)
    except InvalidInput as exc:
        _show_service_errors(exc, editor, goal_rows, step_rows)
        return _page(request, data, editor=editor)
    except DomainError as exc:
        editor.plan.add_error(None, str(exc))
        return _page(request, data, editor=editor)
    messages.success(request, gettext("The plan was saved as version %(number)s.") % {"number": version.number})
    return _back(episode_id, "current")


@login_required
@require_GET
def plan_step_row(request: HttpRequest, episode_id: int) -> HttpResponse:
    """One more empty step row for the editor (htmx); the row count is raised out of band."""
    data = _editor_data(request, episode_id)
    raw = request.GET.get("steps-TOTAL_FORMS", "")
    index = min(int(raw), MAX_ROWS) if raw.isdigit() else 0
    goals = _editor_forms(data).goals
    form = StepForm(prefix=f"steps-{index}", goal_choices=_goal_choices(goals), owner_choices=_owner_choices(data),
                    initial={"status": StepStatus.PLANNED, "kind": StepKind.ACTION})
    form.fields["DELETE"] = forms.BooleanField(label=_("Remove this step"), required=False)
    form.fields["description"].widget.attrs["autofocus"] = True  # htmx moves the focus to the new row
    return render(request, "web/plan/_step_row.html",
                  {"form": form, "index": index, "number": index + 1, "total": index + 1, "autofocus": True,
                   "oob_total": True})


def _rule_refusal(request: HttpRequest, exc: AccessDenied) -> None:
    if exc.code not in RULE_REFUSALS:
        raise Http404 from None
    messages.error(request, str(exc))


@login_required
@require_POST
def plan_sign(request: HttpRequest, episode_id: int) -> HttpResponse:
    data = _editor_data(request, episode_id)
    form = SignForm(request.POST, prefix="sign")
    if not form.is_valid() or data.current is None:
        return _page(request, data, sign_form=form)
    version_id = form.cleaned_data["plan_version_id"]
    if version_id not in {v.pk for v in data.versions}:
        raise Http404
    try:
        services.plan_sign(actor=request.user, plan_version_id=version_id,
                           client_agreed_in_person=form.cleaned_data["client_agreed_in_person"])
    except AccessDenied as exc:
        _rule_refusal(request, exc)
        return _back(episode_id, "agreement")
    except DomainError as exc:
        messages.error(request, str(exc))
        return _back(episode_id, "agreement")
    if form.cleaned_data["client_agreed_in_person"]:
        messages.success(request, gettext("Recorded that the client agreed to the plan."))
    else:
        messages.success(request, gettext("You agreed to the plan for your organisation."))
    return _back(episode_id, "agreement")


@login_required
@require_POST
def plan_review_request(request: HttpRequest, episode_id: int) -> HttpResponse:
    data = _editor_data(request, episode_id)
    form = ReviewRequestForm(request.POST, prefix="request")
    if data.plan is None:
        raise Http404
    if not form.is_valid():
        return _page(request, data, request_form=form)
    try:
        services.plan_request_review(actor=request.user, plan_id=data.plan.pk, trigger=form.cleaned_data["trigger"],
                                     notes=form.cleaned_data["notes"])
    except AccessDenied:
        raise Http404 from None
    except InvalidInput as exc:
        show_service_errors(form, exc)
        return _page(request, data, request_form=form)
    messages.success(request, gettext("A review of the plan was requested."))
    return _back(episode_id, "reviews")


@login_required
@require_POST
def plan_review_record(request: HttpRequest, episode_id: int) -> HttpResponse:
    data = _editor_data(request, episode_id)
    if data.plan is None:
        raise Http404
    open_requests = [(r.pk, str(r.get_trigger_display())) for r in data.reviews if r.held_on is None]
    form = ReviewRecordForm(request.POST, prefix="review", open_requests=open_requests)
    if not form.is_valid():
        return _page(request, data, review_form=form)
    cd = form.cleaned_data
    try:
        services.plan_record_review(actor=request.user, plan_id=data.plan.pk, held_on=cd["held_on"],
                                    notes=cd["notes"], review_id=cd.get("review_id"),
                                    next_review_due=cd.get("next_review_due"))
    except AccessDenied:
        raise Http404 from None
    except InvalidInput as exc:
        show_service_errors(form, exc, rename={"review": "review_id"})
        return _page(request, data, review_form=form)
    messages.success(request, gettext("The review was recorded."))
    return _back(episode_id, "reviews")


@login_required
@require_POST
def plan_step_status(request: HttpRequest, episode_id: int, step_id: int) -> HttpResponse:
    """Mark progress on a step of the current version (no new version). htmx gets the step's new status."""
    data = _editor_data(request, episode_id)
    steps = {s.pk: s for g in (data.current.goals.all() if data.current else []) for s in g.steps.all()}
    if step_id not in steps:
        raise Http404
    form = StepStatusForm(request.POST, prefix=f"step-{step_id}")
    htmx = is_htmx(request)
    error = ""
    step = steps[step_id]
    if form.is_valid():
        try:
            step = services.step_set_status(actor=request.user, step_id=step_id, status=form.cleaned_data["status"])
        except AccessDenied as exc:
            if exc.code not in RULE_REFUSALS:
                raise Http404 from None
            error = str(exc)
        except DomainError as exc:
            error = str(exc)
    else:
        error = gettext("Choose the status of the step.")
    if htmx:
        return render(request, "web/plan/_step_status.html", {"step": step, "error": error},
                      status=200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, gettext("The status of the step was updated."))
    return _back(episode_id, "current")


urlpatterns = [
    path("episodes/<int:episode_id>/plan/", plan_edit, name="plan_edit"),
    path("episodes/<int:episode_id>/plan/step-row/", plan_step_row, name="plan_step_row"),
    path("episodes/<int:episode_id>/plan/agree/", plan_sign, name="plan_sign"),
    path("episodes/<int:episode_id>/plan/review-requests/", plan_review_request, name="plan_review_request"),
    path("episodes/<int:episode_id>/plan/reviews/", plan_review_record, name="plan_review_record"),
    path("episodes/<int:episode_id>/plan/steps/<int:step_id>/status/", plan_step_status, name="plan_step_status"),
]

__all__ = ["urlpatterns"]
