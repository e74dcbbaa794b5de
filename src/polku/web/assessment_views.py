"""Assessments: recording an instrument's answers for a client, and the parties' joint assessment (its frame,
each profession's own section and the points of disagreement).

Views are thin: reads go through ``polku.clients.selectors`` and ``polku.assessments.selectors``, writes through
``polku.assessments.services``; the access policy decides and the access log records each.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from polku.access.policy import staff_of
from polku.assessments import selectors, services
from polku.assessments.models import AREA_DATA_CATEGORY, AssessmentArea, Instrument
from polku.clients import selectors as client_selectors
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, DomainError, InvalidInput
from polku.core.translation import localized

from .forms import date_input, is_htmx, show_service_errors

# --- forms -------------------------------------------------------------------------------------------------


class InstrumentChoiceForm(forms.Form):
    instrument = forms.ChoiceField(label=_("Instrument"), choices=())

    def __init__(self, *args: Any, instruments: list[Instrument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = [  # type: ignore[attr-defined]
            ("", gettext("Choose an instrument")), *[(i.code, str(i)) for i in instruments]]


def _scale_label(label: Any) -> str:
    """A scale point's label: plain text, or ``{"fi": …, "sv": …, "en": …}`` shown in the active language
    (falling back fi → sv → en)."""
    if isinstance(label, dict):
        language = (get_language() or "fi")[:2]
        for code in (language, "fi", "sv", "en"):
            if label.get(code):
                return str(label[code])
        return ""
    return str(label or "")


def _item_field_name(code: str) -> str:
    return f"item_{code}"


class AssessmentForm(forms.Form):
    """One field per item of the instrument (radios over its scale), then the date, a link to a joint assessment
    and notes."""

    assessed_on = forms.DateField(label=_("Date of the assessment"), widget=date_input())
    joint_assessment = forms.TypedChoiceField(label=_("Part of a joint assessment"), coerce=int, required=False,
                                              empty_value=None, choices=())
    notes = forms.CharField(label=_("Notes"), max_length=5000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, instrument: Instrument, joint_choices: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.item_names: list[str] = []
        for item in instrument.items.all():
            labels = item.scale_labels or {}
            choices = []
            for value in range(item.scale_min, item.scale_max + 1):
                label = _scale_label(labels.get(str(value)))
                choices.append((value, f"{value} – {label}" if label and label != str(value) else str(value)))
            name = _item_field_name(item.code)
            self.fields[name] = forms.TypedChoiceField(
                label=localized(item, "text"), choices=choices, coerce=int, widget=forms.RadioSelect,
                error_messages={"required": _("Answer this item.")})
            self.item_names.append(name)
        self.fields["joint_assessment"].choices = [  # type: ignore[attr-defined]
            ("", gettext("Not part of a joint assessment")), *joint_choices]
        # the date, the link and the notes after the items
        self.order_fields([*self.item_names, "assessed_on", "joint_assessment", "notes"])

    def item_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.item_names]

    def answers(self) -> dict[str, int]:
        return {item.code: self.cleaned_data[_item_field_name(item.code)] for item in self.instrument.items.all()}


class JointOpenForm(forms.Form):
    held_on = forms.DateField(label=_("Meeting held on"), widget=date_input())
    client_view = forms.CharField(label=_("The client's own view"), max_length=10_000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    summary = forms.CharField(label=_("Summary of service needs"), max_length=10_000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))


class SectionForm(forms.Form):
    area = forms.ChoiceField(label=_("Area of your section"), choices=())
    findings = forms.CharField(label=_("Findings"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))
    service_needs = forms.CharField(label=_("Service needs"), max_length=10_000, required=False,
                                    widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, areas: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = areas  # type: ignore[attr-defined]


class DisagreementForm(forms.Form):
    topic = forms.CharField(label=_("What the disagreement is about"), max_length=300)
    positions = forms.CharField(label=_("The differing views"), max_length=10_000,
                                widget=forms.Textarea(attrs={"rows": 3}))
    areas = forms.MultipleChoiceField(label=_("Areas involved"), choices=AssessmentArea.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text=_("At least two areas, unless the client disagrees."))
    involves_client = forms.BooleanField(label=_("The client disagrees"), required=False)


# --- the new-assessment page -------------------------------------------------------------------------------


def _staff_only(request: HttpRequest) -> None:
    if staff_of(request.user) is None:
        raise Http404


def _posted_choice(value: Any) -> list[tuple[int, str]]:
    """The posted joint assessment as the only choice: the service checks that it is the client's."""
    return [(int(value), str(value))] if str(value or "").isdigit() else []


def _new_page(request: HttpRequest, client_id: int, *, bound: Any = None, service_error: DomainError | None = None,
              open_form: JointOpenForm | None = None) -> HttpResponse:
    """The page; with ``bound`` (a POST that was refused) the assessment form keeps the input and shows the
    errors, the service's next to the items they concern."""
    _staff_only(request)
    try:
        overview = client_selectors.client_overview(actor=request.user, client_id=client_id)
    except AccessDenied:
        raise Http404 from None
    categories = selectors.visible_categories(request.user, client_id)
    instruments = list(selectors.instruments().filter(data_category__in=categories))
    open_episode = next((e for e in overview.episodes if e.is_open), None)
    joint_visible = DataCategory.EMPLOYMENT in categories
    joints = (list(selectors.joint_assessments_for_client(actor=request.user, client_id=client_id))
              if joint_visible else [])
    joint_choices = [(j.pk, gettext("Joint assessment of %(date)s")
                      % {"date": formats.date_format(j.held_on, "SHORT_DATE_FORMAT")})
                     for j in joints if open_episode is not None and j.episode_id == open_episode.pk]
    code = (bound or request.GET).get("instrument")
    instrument = next((i for i in instruments if i.code == code), None)
    form = None
    if instrument is not None and bound is not None:
        form = AssessmentForm(bound, instrument=instrument, joint_choices=joint_choices, prefix="assessment")
        form.is_valid()
        if service_error is not None:
            show_service_errors(form, service_error, rename={item.code: _item_field_name(item.code)
                                                             for item in instrument.items.all()})
    elif instrument is not None:
        form = AssessmentForm(instrument=instrument, joint_choices=joint_choices, prefix="assessment",
                              initial={"assessed_on": timezone.localdate()})
    choice_form = InstrumentChoiceForm(initial={"instrument": instrument.code if instrument else ""},
                                       instruments=instruments)
    context = {
        "client": overview.client, "instruments": instruments, "choice_form": choice_form,
        "instrument": instrument, "form": form, "open_episode": open_episode, "joints": joints,
        "joint_visible": joint_visible,
        "open_form": open_form or JointOpenForm(prefix="joint", initial={"held_on": timezone.localdate()}),
        "unknown_instrument": bool(code) and instrument is None,
        "instrument_description": localized(instrument, "description") if instrument else "",
    }
    if is_htmx(request) and request.method == "GET":
        return render(request, "web/assessment/_instrument_form.html", context)
    return render(request, "web/assessment/new.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def assessment_new(request: HttpRequest, client_id: int) -> HttpResponse:
    """Choose an instrument, answer its items and save (``assessments.services.assessment_record``)."""
    if request.method != "POST":
        return _new_page(request, client_id)
    _staff_only(request)
    instrument = selectors.instrument_get(code=request.POST.get("instrument", ""))
    if instrument is None:
        return _new_page(request, client_id)
    form = AssessmentForm(request.POST, instrument=instrument, prefix="assessment",
                          joint_choices=_posted_choice(request.POST.get("assessment-joint_assessment")))
    if not form.is_valid():
        return _new_page(request, client_id, bound=request.POST)
    cd = form.cleaned_data
    try:
        services.assessment_record(
            actor=request.user, client_id=client_id, instrument_code=instrument.code, answers=form.answers(),
            assessed_on=cd["assessed_on"], notes=cd.get("notes", ""), joint_assessment_id=cd.get("joint_assessment"),
        )
    except AccessDenied:
        raise Http404 from None
    except DomainError as exc:
        return _new_page(request, client_id, bound=request.POST, service_error=exc)
    messages.success(request, gettext("The assessment was saved."))
    return redirect(reverse("web:client_detail", args=[client_id]) + "#assessments")


@login_required
@require_POST
def joint_assessment_open(request: HttpRequest, client_id: int) -> HttpResponse:
    """Start a joint assessment in the client's open episode."""
    _staff_only(request)
    form = JointOpenForm(request.POST, prefix="joint")
    if not form.is_valid():
        return _new_page(request, client_id, open_form=form)
    try:
        overview = client_selectors.client_overview(actor=request.user, client_id=client_id)
    except AccessDenied:
        raise Http404 from None
    episode = next((e for e in overview.episodes if e.is_open), None)
    if episode is None:
        form.add_error(None, gettext("The client has no open joint-service episode."))
        return _new_page(request, client_id, open_form=form)
    try:
        joint = services.joint_assessment_open(actor=request.user, episode_id=episode.pk, **form.cleaned_data)
    except AccessDenied:
        raise Http404 from None
    except DomainError as exc:
        show_service_errors(form, exc)
        return _new_page(request, client_id, open_form=form)
    messages.success(request, gettext("The joint assessment was started. Add your section below."))
    return redirect("web:joint_assessment", joint.pk)


# --- the joint assessment ----------------------------------------------------------------------------------


def _joint_page(request: HttpRequest, joint_id: int, *, section_form: SectionForm | None = None,
                disagreement_form: DisagreementForm | None = None) -> HttpResponse:
    _staff_only(request)
    try:
        view = selectors.joint_assessment_get(actor=request.user, joint_assessment_id=joint_id)
    except AccessDenied:
        raise Http404 from None
    categories = set(selectors.visible_categories(request.user, view.client_id))
    written = {s.area for s in view.sections}
    areas = [(value, label) for value, label in AssessmentArea.choices
             if AREA_DATA_CATEGORY[value] in categories and value not in written]
    area_labels = dict(AssessmentArea.choices)
    if section_form is not None:  # a refused POST: the same input and errors, with this reader's areas
        refused = section_form
        section_form = SectionForm(refused.data, prefix="section", areas=areas)
        section_form.is_valid()
        for field, errors in refused.errors.items():
            for error in errors:
                if error not in section_form.errors.get(field, []):
                    section_form.add_error(None if field == "__all__" else field, error)
    context = {
        "joint": view, "client": view.joint.episode.client, "episode": view.joint.episode,
        "sections": view.sections, "disagreements": [
            {"obj": d, "areas": [area_labels.get(a, a) for a in d.areas]} for d in view.disagreements],
        "open": view.joint.episode.is_open,
        "section_form": section_form or SectionForm(prefix="section", areas=areas),
        "can_add_section": bool(areas) or section_form is not None,
        "disagreement_form": disagreement_form or DisagreementForm(prefix="disagreement"),
    }
    return render(request, "web/assessment/joint.html", context)


@login_required
def joint_assessment_detail(request: HttpRequest, joint_id: int) -> HttpResponse:
    return _joint_page(request, joint_id)


@login_required
@require_POST
def joint_assessment_section(request: HttpRequest, joint_id: int) -> HttpResponse:
    """The signed-in professional writes their own profession's section."""
    _staff_only(request)
    form = SectionForm(request.POST, prefix="section", areas=list(AssessmentArea.choices))
    if not form.is_valid():
        return _joint_page(request, joint_id, section_form=form)
    try:
        services.joint_assessment_add_section(actor=request.user, joint_assessment_id=joint_id, **form.cleaned_data)
    except AccessDenied as exc:
        if exc.code == "not_found":
            raise Http404 from None
        form.add_error("area", gettext("You may not write this area's section."))
        return _joint_page(request, joint_id, section_form=form)
    except InvalidInput as exc:
        show_service_errors(form, exc)
        return _joint_page(request, joint_id, section_form=form)
    messages.success(request, gettext("Your section was saved."))
    return redirect(reverse("web:joint_assessment", args=[joint_id]) + "#sections")


@login_required
@require_POST
def joint_assessment_disagreement(request: HttpRequest, joint_id: int) -> HttpResponse:
    """Record a point where the professionals, or the client, see the need differently."""
    _staff_only(request)
    form = DisagreementForm(request.POST, prefix="disagreement")
    if not form.is_valid():
        return _joint_page(request, joint_id, disagreement_form=form)
    try:
        services.disagreement_record(actor=request.user, joint_assessment_id=joint_id, **form.cleaned_data)
    except AccessDenied:
        raise Http404 from None
    except InvalidInput as exc:
        show_service_errors(form, exc)
        return _joint_page(request, joint_id, disagreement_form=form)
    messages.success(request, gettext("The disagreement was recorded."))
    return redirect(reverse("web:joint_assessment", args=[joint_id]) + "#disagreements")


urlpatterns = [
    path("clients/<int:client_id>/assessments/new/", assessment_new, name="assessment_new"),
    path("clients/<int:client_id>/joint-assessments/new/", joint_assessment_open, name="joint_assessment_open"),
    path("joint-assessments/<int:joint_id>/", joint_assessment_detail, name="joint_assessment"),
    path("joint-assessments/<int:joint_id>/sections/", joint_assessment_section, name="joint_assessment_section"),
    path("joint-assessments/<int:joint_id>/disagreements/", joint_assessment_disagreement,
         name="joint_assessment_disagreement"),
]

__all__ = ["urlpatterns"]
