"""Referrals in the professional UI: the referral form for a client, the sender's and the receiver's lists
(the inbox), and one referral with the state changes the current user's side may make.

Every read goes through ``polku.referrals.selectors`` (logged: one row per client shown in a list, one for a
referral read) and every change through ``polku.referrals.services``, which check the access policy and the
state machine. A referral or client the user may not see answers 404, like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from polku.access.policy import log_list_access, staff_of
from polku.catalogue.models import Service, ServiceClass
from polku.clients.selectors import client_get
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, DomainError, IllegalTransition, InvalidInput, VersionConflict
from polku.core.paging import CappedPaginator
from polku.core.translation import localized
from polku.referrals import selectors, services
from polku.referrals.models import Referral, ReferralStatus
from polku.web.catalogue_views import set_choices

from .forms import is_htmx, show_service_errors

S = ReferralStatus
PAGE_SIZE = 25

#: Wrong-side and role refusals of a referral the user still sees: shown as an error, not as "not found".
SHOWN_REFUSALS = frozenset({"wrong_side", "role"})


# --- the referral form -------------------------------------------------------------------------------------------

class ReferralForm(forms.Form):
    service = forms.TypedChoiceField(label=_("Service"), coerce=int,
                                     help_text=_("The provider receives the referral and the client's data of the "
                                                 "service's category."))
    reason_for_referral = forms.CharField(
        label=_("Why is the client referred?"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the client needs and what has been agreed with the client. The provider sees this."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "service", service_choices())


def service_choices() -> list[Any]:
    """The active services, grouped by service class, each named with its provider (two queries)."""
    labels = dict(ServiceClass.choices)
    groups: dict[str, list[tuple[int, str]]] = {}
    for service in Service.objects.filter(active=True).select_related("provider"):
        groups.setdefault(service.service_class, []).append(
            (service.pk, f"{localized(service, 'name')} – {service.provider}"))
    choices: list[Any] = [("", _("Choose a service"))]
    for value, _label in ServiceClass.choices:
        if value in groups:
            choices.append((labels[value], sorted(groups[value], key=lambda item: item[1].lower())))
    return choices


def _not_found() -> Http404:
    return Http404()


@login_required
def referral_new(request: HttpRequest, client_id: int) -> HttpResponse:
    if staff_of(request.user) is None:
        raise Http404
    if request.method == "POST":
        form = ReferralForm(request.POST)
        if form.is_valid():
            try:
                referral = services.referral_create_and_send(
                    actor=request.user, client_id=client_id, service_id=form.cleaned_data["service"],
                    reason_for_referral=form.cleaned_data["reason_for_referral"])
            except AccessDenied:
                raise _not_found() from None
            except InvalidInput as exc:
                show_service_errors(form, exc)
            else:
                messages.success(request, _("The referral was sent to %(provider)s.")
                                 % {"provider": referral.receiving_organisation})
                return redirect(reverse("web:client_detail", args=[client_id]) + "#referrals")
        status = 400
    else:
        initial = {}
        service_param = request.GET.get("service", "")
        if service_param.isdigit():
            initial["service"] = int(service_param)
        form = ReferralForm(initial=initial)
        status = 200
    try:
        client = client_get(actor=request.user, client_id=client_id, purpose=_("Refer a client"))
    except AccessDenied:
        raise _not_found() from None
    return render(request, "web/referral/new.html", {"client": client, "form": form}, status=status)


# --- the lists ---------------------------------------------------------------------------------------------------

class ListFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "status", [("", _("All statuses")), *S.choices])


@dataclass
class ReferralRow:
    referral: Referral
    service: str
    other_organisation: str
    waiting_days: int | None
    tag: str


def _rows(referrals: list[Referral], *, direction: str) -> list[ReferralRow]:
    today = timezone.localdate()
    return [
        ReferralRow(
            referral=r, service=localized(r.service, "name"),
            other_organisation=str(r.receiving_organisation if direction == selectors.SENT
                                   else r.sending_organisation),
            waiting_days=selectors.referral_waiting_days(r, today), tag=_status_tag(r.status),
        )
        for r in referrals
    ]


@login_required
def referral_list(request: HttpRequest) -> HttpResponse:
    staff = staff_of(request.user)
    if staff is None:
        raise Http404
    form = ListFilterForm(request.GET or None)
    status = form.cleaned_data.get("status") or None if form.is_valid() else None
    pages = {}
    shown: set[int] = set()
    for direction, param in ((selectors.RECEIVED, "received_page"), (selectors.SENT, "sent_page")):
        found = selectors.referral_rows(request.user, direction=direction, status=status, chunk=PAGE_SIZE)
        page = CappedPaginator(found, PAGE_SIZE).get_page(request.GET.get(param))
        rows = _rows(list(page.object_list), direction=direction)
        shown.update(row.referral.client_id for row in rows)
        query = {str(k): str(v) for k, v in request.GET.items() if k != param and v}
        pages[direction] = {"page": page, "rows": rows, "param": param, "querystring": urlencode(query)}
    if shown:
        log_list_access(user=request.user, client_ids=sorted(shown), category=DataCategory.BASIC,
                        purpose=_("Referral list"))
    context = {"form": form, "received": pages[selectors.RECEIVED], "sent": pages[selectors.SENT],
               "organisation": staff.organisation}
    template = "web/referral/_lists.html" if is_htmx(request) else "web/referral/list.html"
    return render(request, template, context)


# --- one referral and its actions -------------------------------------------------------------------------------

#: URL action → (target state, the service that makes the change).
ACTIONS: dict[str, tuple[str, Any]] = {
    "send": (S.SENT, services.referral_send),
    "receive": (S.RECEIVED, services.referral_receive),
    "accept": (S.ACCEPTED, services.referral_accept),
    "waitlist": (S.WAITLISTED, services.referral_waitlist),
    "decline": (S.DECLINED, services.referral_decline),
    "start": (S.STARTED, services.referral_start),
    "complete": (S.COMPLETED, services.referral_complete),
    "interrupt": (S.INTERRUPTED, services.referral_interrupt),
    "cancel": (S.CANCELLED, services.referral_cancel),
}
ACTION_BY_STATE = {target: name for name, (target, _service) in ACTIONS.items()}

ACTION_LABELS: dict[str, Any] = {
    "send": _("Send the referral"),
    "receive": _("Mark as received"),
    "accept": _("Accept"),
    "waitlist": _("Put on the waiting list"),
    "decline": _("Decline"),
    "start": _("Mark the service started"),
    "complete": _("Mark the service completed"),
    "interrupt": _("Interrupt the service"),
    "cancel": _("Cancel the referral"),
}
REASON_LABELS: dict[str, Any] = {
    "waitlist": _("Note for the waiting list (optional)"),
    "decline": _("Reason for declining"),
    "interrupt": _("Reason for interrupting"),
    "cancel": _("Reason for cancelling"),
}
SUCCESS: dict[str, Any] = {
    "send": _("The referral was sent."),
    "receive": _("The referral was marked as received."),
    "accept": _("The referral was accepted."),
    "waitlist": _("The referral was put on the waiting list."),
    "decline": _("The referral was declined."),
    "start": _("The service was marked as started."),
    "complete": _("The service was marked as completed."),
    "interrupt": _("The service was marked as interrupted."),
    "cancel": _("The referral was cancelled."),
}
DANGER = frozenset({"decline", "interrupt", "cancel"})


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        kwargs["prefix"] = action
        super().__init__(*args, **kwargs)
        self.action = action
        self.label = ACTION_LABELS[action]
        self.danger = action in DANGER
        self.asks_reason = action in REASON_LABELS
        if self.asks_reason:
            self.fields["reason"].label = REASON_LABELS[action]
            self.fields["reason"].required = ACTIONS[action][0] in services.REASON_REQUIRED
        else:
            del self.fields["reason"]


def _actions_for(request: HttpRequest, referral: Referral, bound: ActionForm | None = None) -> list[ActionForm]:
    staff = staff_of(request.user)
    forms_ = []
    for target in services.transitions_for(referral, staff.organisation_id if staff else None):
        name = ACTION_BY_STATE[target]
        if bound is not None and bound.action == name:
            forms_.append(bound)
        else:
            forms_.append(ActionForm(action=name, initial={"version": referral.version}))
    return forms_


def _status_tag(status: str) -> str:
    if status in (S.ACCEPTED, S.STARTED, S.COMPLETED):
        return "success"
    if status in (S.DECLINED, S.INTERRUPTED):
        return "error"
    if status in (S.WAITLISTED, S.CANCELLED):
        return "warning"
    return "info"


def _render_detail(request: HttpRequest, referral: Referral, *, bound: ActionForm | None = None,
                   status: int = 200) -> HttpResponse:
    staff = staff_of(request.user)
    organisation_id = staff.organisation_id if staff else None
    side = []
    if organisation_id == referral.sending_organisation_id:
        side.append("sender")
    if organisation_id == referral.receiving_organisation_id:
        side.append("receiver")
    htmx = is_htmx(request)
    context = {
        "referral": referral,
        "service_name": localized(referral.service, "name"),
        "transitions": selectors.referral_transitions(referral),
        "actions": _actions_for(request, referral, bound),
        "is_sender": "sender" in side, "is_receiver": "receiver" in side,
        "status_tag": _status_tag(referral.status),
        "waiting_days": selectors.referral_waiting_days(referral),
        "htmx": htmx,
    }
    if htmx:
        return render(request, "web/referral/_detail.html", context, status=200)
    return render(request, "web/referral/detail.html", context, status=status)


def _get_referral(request: HttpRequest, referral_id: int) -> Referral:
    try:
        referral = selectors.referral_get(actor=request.user, referral_id=referral_id)
    except AccessDenied:
        raise _not_found() from None
    return Referral.objects.select_related(
        "client", "service", "service__provider", "sending_organisation", "receiving_organisation", "created_by"
    ).get(pk=referral.pk)


@login_required
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    if staff_of(request.user) is None:
        raise Http404
    return _render_detail(request, _get_referral(request, referral_id))


@login_required
@require_POST
def referral_action(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    if staff_of(request.user) is None or action not in ACTIONS:
        raise Http404
    service = ACTIONS[action][1]
    form = ActionForm(request.POST, action=action)
    detail_url = reverse("web:referral_detail", args=[referral_id])
    if form.is_valid():
        fields: dict[str, Any] = {"expected_version": form.cleaned_data.get("version")}
        if "reason" in form.fields:
            fields["reason"] = form.cleaned_data["reason"]
        try:
            service(actor=request.user, referral_id=referral_id, **fields)
        except AccessDenied as exc:
            if exc.code not in SHOWN_REFUSALS:
                raise _not_found() from None
            messages.error(request, str(exc))
        except InvalidInput as exc:
            show_service_errors(form, exc)
        except (IllegalTransition, VersionConflict, DomainError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, SUCCESS[action])
            if is_htmx(request):
                return _render_detail(request, _get_referral(request, referral_id))
            return redirect(detail_url)
        if not form.errors:
            if is_htmx(request):
                return _render_detail(request, _get_referral(request, referral_id))
            return redirect(detail_url)
    # Field errors: show the page again with the error next to the field and the input kept.
    return _render_detail(request, _get_referral(request, referral_id), bound=form, status=400)


urlpatterns = [
    path("clients/<int:client_id>/referrals/new/", referral_new, name="referral_new"),
    path("referrals/", referral_list, name="referrals"),
    path("referrals/<int:referral_id>/", referral_detail, name="referral_detail"),
    path("referrals/<int:referral_id>/<slug:action>/", referral_action, name="referral_action"),
]
