"""The client portal's pages: thin views over the portal's selectors and services (and those of the apps that own
the data). Only a client reaches the portal pages; anyone else gets "not found", as for another client's data."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polku.access.policy import client_of, staff_of
from polku.accounts.reauth import recent_auth_required
from polku.assessments.scoring import score_range
from polku.core.errors import AccessDenied, DomainError, InvalidInput
from polku.web.charts import Series, line_chart
from polku.web.forms import is_htmx, show_service_errors

from . import selectors, services
from .forms import (
    ConsentGrantForm,
    ConsentRevokeForm,
    LogFilterForm,
    MessageForm,
    PlanChangeForm,
    ReplyForm,
    SelfAssessmentForm,
)

LOG_PAGE_SIZE = 50

#: The portal's own navigation: (url name, label).
NAV = [
    ("portal:home", gettext_lazy("My path")),
    ("portal:plan", gettext_lazy("My plan")),
    ("portal:progress", gettext_lazy("My progress")),
    ("portal:consents", gettext_lazy("My consents")),
    ("portal:access_log", gettext_lazy("Who has seen my data")),
    ("portal:messages", gettext_lazy("Messages")),
]


def client_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in as a client, else "not found"; a refusal by the policy is "not found" too."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if client_of(request.user) is None:
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except AccessDenied:
            raise Http404 from None

    return wrapper


def _page(request: HttpRequest, template: str, context: dict[str, Any], section: str,
          status: int = 200) -> HttpResponse:
    unread = selectors.unread_replies(actor=request.user)
    nav = [{"url": reverse(name), "label": label, "current": name == section,
            "unread": unread if name == "portal:messages" else 0} for name, label in NAV]
    context = {"portal_nav": nav, **context}
    return render(request, template, context, status=status)


# --- My path ---------------------------------------------------------------------------------------------------

def _my_group(request: HttpRequest) -> dict[str, Any] | None:
    """The client's own group from the impact model's segments, described to them (None when there is none).
    Without a segments model nothing is read, so nothing is logged."""
    from polku.impact import registry
    from polku.impact.models import ModelKind
    from polku.impact.selectors import own_segment

    if registry.latest(ModelKind.SEGMENTS) is None:
        return None
    try:
        return own_segment(actor=request.user)
    except AccessDenied:
        return None


@client_only
def home(request: HttpRequest) -> HttpResponse:
    path = selectors.my_path(actor=request.user)
    return _page(request, "portal/home.html", {"path": path, "plan": path.plan, "group": _my_group(request)},
                 "portal:home")


# --- My plan ---------------------------------------------------------------------------------------------------

def _plan_page(request: HttpRequest, *, change_form: PlanChangeForm | None = None, status: int = 200) -> HttpResponse:
    view = selectors.my_plan(actor=request.user)
    return _page(request, "portal/plan.html",
                 {"view": view, "plan": view.plan, "change_form": change_form or PlanChangeForm()},
                 "portal:plan", status=status)


@client_only
def plan(request: HttpRequest) -> HttpResponse:
    return _plan_page(request)


@client_only
def step_done(request: HttpRequest, step_id: int) -> HttpResponse:
    from polku.plans.models import StepStatus
    from polku.plans.services import step_set_status

    if request.method != "POST":
        return redirect("portal:plan")
    try:
        step_set_status(actor=request.user, step_id=step_id, status=StepStatus.DONE)
    except (InvalidInput, DomainError) as exc:
        if isinstance(exc, AccessDenied) and exc.code != "not_owner":
            raise
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Well done! The step is marked done."))
    if is_htmx(request):
        view = selectors.my_plan(actor=request.user)
        return render(request, "portal/_plan_goals.html", {"view": view, "plan": view.plan, "htmx": True})
    return redirect("portal:home" if request.POST.get("next") == "home" else "portal:plan")


@client_only
def plan_propose(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("portal:plan")
    form = PlanChangeForm(request.POST)
    view = selectors.my_plan(actor=request.user)
    if view.plan.plan is None:
        messages.error(request, _("You do not have a plan yet."))
        return redirect("portal:plan")
    if form.is_valid():
        try:
            services.plan_change_propose(actor=request.user, plan_id=view.plan.plan.pk, body=form.cleaned_data["body"])
        except InvalidInput as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, _("Thank you. We sent your proposal and asked for a review of your plan."))
            return redirect("portal:plan")
    return _plan_page(request, change_form=form, status=400)


@client_only
def plan_review(request: HttpRequest) -> HttpResponse:
    from polku.plans.services import plan_request_review

    if request.method != "POST":
        return redirect("portal:plan")
    view = selectors.my_plan(actor=request.user)
    if view.plan.plan is None:
        messages.error(request, _("You do not have a plan yet."))
    else:
        plan_request_review(actor=request.user, plan_id=view.plan.plan.pk)
        messages.success(request, _("We asked the professionals to review your plan with you."))
    return redirect("portal:plan")


# --- Messages --------------------------------------------------------------------------------------------------

@client_only
def messages_page(request: HttpRequest) -> HttpResponse:
    own = selectors.own_client(request.user)
    form = MessageForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.message_send(actor=request.user, client_id=own.pk, body=form.cleaned_data["body"])
            except InvalidInput as exc:
                show_service_errors(form, exc)
            else:
                messages.success(request, _("Your message was sent."))
                if not is_htmx(request):
                    return redirect("portal:messages")
                form = MessageForm()
        if form.errors:
            status = 400
    thread = services.message_thread_open(actor=request.user, client_id=own.pk,
                                          purpose=gettext_lazy("The client's own portal: messages"))
    context = {"thread": thread, "form": form}
    if is_htmx(request):
        # 200 even with an error: htmx swaps in only successful answers, and the form shows its error itself
        return render(request, "portal/_thread.html", {**context, "htmx": True})
    return _page(request, "portal/messages.html", context, "portal:messages", status=status)


@login_required
def staff_thread(request: HttpRequest, client_id: int) -> HttpResponse:
    """A professional reads and answers a client's messages (staff who may see the client's basic data)."""
    if staff_of(request.user) is None:
        raise Http404
    form = ReplyForm(request.POST or None)
    status = 200
    try:
        if request.method == "POST":
            if form.is_valid():
                try:
                    services.message_reply(actor=request.user, client_id=client_id, body=form.cleaned_data["body"])
                except InvalidInput as exc:
                    show_service_errors(form, exc)
                else:
                    messages.success(request, _("Your reply was sent."))
                    return redirect("portal:staff_thread", client_id=client_id)
            status = 400
        thread = services.message_thread_open(actor=request.user, client_id=client_id)
    except AccessDenied:
        raise Http404 from None
    return render(request, "portal/staff_thread.html", {"thread": thread, "form": form}, status=status)


# --- My progress -----------------------------------------------------------------------------------------------

def _progress_chart(progress: selectors.MyProgress) -> Any:
    from polku.assessments.models import Respondent

    mine = [(a.assessed_on, float(a.score)) for a in progress.assessments
            if a.respondent == Respondent.CLIENT and a.score is not None]
    theirs = [(a.assessed_on, float(a.score)) for a in progress.assessments
              if a.respondent != Respondent.CLIENT and a.score is not None]
    instrument = progress.instrument
    low, top = score_range(instrument.scoring_rule, [(i.scale_min, i.scale_max) for i in instrument.items.all()]
                           ) if instrument else (0.0, 100.0)
    return line_chart([Series(_("My own answers"), mine), Series(_("Professionals' assessments"), theirs)],
                      key="my-progress", title=_("How much things stand in the way of work or study"),
                      y_label=_("points"), y_min=low, y_max=top)


@client_only
def progress(request: HttpRequest) -> HttpResponse:
    from polku.assessments.services import assessment_record

    data = selectors.my_progress(actor=request.user)
    if data.instrument is None:
        raise Http404
    form = SelfAssessmentForm(request.POST or None, instrument=data.instrument)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                assessment_record(actor=request.user, client_id=data.client.pk, instrument_code=data.instrument.code,
                                  answers=form.answers(), episode_id=data.episode_id)
            except InvalidInput as exc:
                show_service_errors(form, exc)
            else:
                messages.success(request, _("Thank you. Your answers are saved."))
                return redirect("portal:progress")
        status = 400
    return _page(request, "portal/progress.html",
                 {"data": data, "form": form, "chart": _progress_chart(data), "rows": _progress_rows(data)},
                 "portal:progress", status=status)


def _progress_rows(progress: selectors.MyProgress) -> list[dict[str, Any]]:
    """The answers newest first, with who answered and what the score means (the instrument's band, in the
    reader's language)."""
    from polku.assessments.models import Respondent
    from polku.core.translation import localized

    class _Band:
        def __init__(self, band: dict[str, Any]) -> None:
            for code in ("fi", "sv", "en"):
                setattr(self, f"label_{code}", band.get(f"label_{code}", ""))

    bands = {b.get("code"): localized(_Band(b), "label") for b in (progress.instrument.bands or [])}
    return [{"day": a.assessed_on, "score": a.score,
             "who": _("You") if a.respondent == Respondent.CLIENT else (
                 str(a.organisation) if a.organisation_id else _("A professional")),
             "band": bands.get(a.band, "")}
            for a in reversed(progress.assessments)]


# --- My consents -----------------------------------------------------------------------------------------------

@client_only
def consents(request: HttpRequest) -> HttpResponse:
    from polku.clients.services import ConsentGrant, consent_record

    view = selectors.my_consents(actor=request.user)
    form = ConsentGrantForm(request.POST or None, organisations=view.organisations)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            grant = ConsentGrant(organisation_id=form.cleaned_data["organisation"],
                                 category=form.cleaned_data["category"], purpose=form.cleaned_data["purpose"])
            try:
                consent_record(actor=request.user, client_id=view.client.pk, grant=grant)
            except InvalidInput as exc:
                show_service_errors(form, exc)
            else:
                messages.success(request, _("Thank you. Your consent is saved."))
                return redirect("portal:consents")
        status = 400
    return _page(request, "portal/consents.html", {"view": view, "form": form}, "portal:consents", status=status)


@client_only
def consent_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    from polku.clients.services import consent_revoke as revoke

    consent = selectors.my_consent(actor=request.user, consent_id=consent_id)
    if not consent.is_active(timezone.now()):
        messages.error(request, _("This consent is no longer in force."))
        return redirect("portal:consents")
    form = ConsentRevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revoke(actor=request.user, consent_id=consent.pk, reason=form.cleaned_data["reason"])
        except InvalidInput as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The consent is withdrawn. %(organisation)s can no longer see this "
                                        "information.") % {"organisation": consent.organisation})
        return redirect("portal:consents")
    return _page(request, "portal/consent_revoke.html", {"consent": consent, "form": form}, "portal:consents")


# --- Who has seen my data --------------------------------------------------------------------------------------

@client_only
def access_log(request: HttpRequest) -> HttpResponse:
    filters = LogFilterForm(request.GET or None)
    include_own = bool(filters.is_valid() and filters.cleaned_data["own"])
    paginator = Paginator(selectors.my_access_log(actor=request.user, include_own=include_own), LOG_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return _page(request, "portal/access_log.html",
                 {"page": page, "filters": filters, "include_own": include_own}, "portal:access_log")


# --- Download my data ------------------------------------------------------------------------------------------

@client_only
@recent_auth_required  # the right-of-access export: a recent sign-in or password (polku.accounts.reauth)
def export(request: HttpRequest) -> HttpResponse:
    from polku.clients.selectors import own_data_export

    if request.method != "POST":
        return _page(request, "portal/export.html", {}, "")
    _client, data = own_data_export(actor=request.user)
    name = f"polku-my-data-{timezone.localdate().isoformat()}.json"
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
