"""Administration of organisations and staff for administrators (``StaffRole.ADMINISTRATOR``): the organisations,
an organisation's staff, adding a staff member, changing a role, deactivating and reactivating. Everyone else gets
"not found". The rules are in ``polku.organisations.services``; Django's own admin (``/admin/``) stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from polku.access.policy import staff_of
from polku.core.errors import AccessDenied, InvalidInput
from polku.organisations import selectors, services
from polku.organisations.models import StaffMember, StaffRole

from .forms import show_service_errors


def _administrator(request: HttpRequest) -> Any:
    """The signed-in administrator's staff member; anyone else: not found."""
    staff = staff_of(request.user)
    if staff is None or staff.role != StaffRole.ADMINISTRATOR:
        raise Http404
    return staff


class StaffCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("Email (optional)"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=StaffRole.choices)
    unit = forms.TypedChoiceField(label=_("Unit (optional)"), required=False, coerce=int, empty_value=None)
    title = forms.CharField(label=_("Title (optional)"), required=False, max_length=200)
    password = forms.CharField(
        label=_("Initial password (optional)"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty if the person signs in with single sign-on or sets a password later."),
    )

    def __init__(self, *args: Any, units: Sequence[Any] = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "staff-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        unit_field: Any = self.fields["unit"]
        unit_field.choices = [("", gettext("No unit")), *[(u.pk, str(u)) for u in units]]
        self.fields["password"].widget.attrs["autocomplete"] = "new-password"
        self.fields["username"].widget.attrs["autocomplete"] = "off"


@login_required
def admin_home(request: HttpRequest) -> HttpResponse:
    _administrator(request)
    return render(request, "web/administration/home.html",
                  {"organisations": list(selectors.organisations_with_staff_counts())})


def _organisation_page(request: HttpRequest, organisation_id: int, form: StaffCreateForm | None = None,
                       status: int = 200) -> HttpResponse:
    organisation = selectors.organisation_get(organisation_id=organisation_id)
    units = list(organisation.units.all())
    members = list(selectors.staff_of_organisation(organisation_id=organisation.pk))
    return render(request, "web/administration/organisation.html", {
        "organisation": organisation, "members": members, "units": units,
        "form": form or StaffCreateForm(units=units), "roles": StaffRole.choices,
        "me": staff_of(request.user),
    }, status=status)


@login_required
def admin_organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """An organisation's details and staff; POST adds a staff member."""
    _administrator(request)
    if request.method != "POST":
        return _organisation_page(request, organisation_id)
    organisation = selectors.organisation_get(organisation_id=organisation_id)
    form = StaffCreateForm(request.POST, units=list(organisation.units.all()))
    if form.is_valid():
        data = form.cleaned_data
        try:
            member = services.staff_create(
                actor=request.user, organisation_id=organisation.pk, username=data["username"],
                first_name=data["first_name"], last_name=data["last_name"], email=data["email"] or "",
                role=data["role"], unit_id=data["unit"], title=data["title"] or "", password=data["password"] or "",
            )
        except InvalidInput as exc:
            show_service_errors(form, exc)
        except AccessDenied:
            raise Http404 from None
        else:
            messages.success(request, gettext("%(name)s was added as a staff member.")
                             % {"name": member.user.get_full_name() or member.user.get_username()})
            return redirect(reverse("web:admin_organisation", args=[organisation.pk]) + "#staff-heading")
    return _organisation_page(request, organisation.pk, form=form)


def _member_or_404(staff_id: int) -> StaffMember:
    member = StaffMember.objects.select_related("user").filter(pk=staff_id).first()
    if member is None:
        raise Http404
    return member


def _back(member: StaffMember) -> HttpResponse:
    return redirect(reverse("web:admin_organisation", args=[member.organisation_id]) + f"#member-{member.pk}")


def _member_name(member: StaffMember) -> str:
    return str(member.user.get_full_name() or member.user.get_username())


@login_required
@require_POST
def admin_staff_role(request: HttpRequest, staff_id: int) -> HttpResponse:
    _administrator(request)
    member = _member_or_404(staff_id)
    try:
        member = services.staff_set_role(actor=request.user, staff_id=member.pk, role=request.POST.get("role", ""))
    except InvalidInput as exc:
        messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms) or str(exc))
    except AccessDenied:
        raise Http404 from None
    else:
        messages.success(request, gettext("The role of %(name)s is now: %(role)s.")
                         % {"name": _member_name(member), "role": member.get_role_display()})
    return _back(member)


@login_required
@require_POST
def admin_staff_active(request: HttpRequest, staff_id: int) -> HttpResponse:
    _administrator(request)
    member = _member_or_404(staff_id)
    active = request.POST.get("active") == "1"
    try:
        member = services.staff_set_active(actor=request.user, staff_id=member.pk, active=active)
    except InvalidInput as exc:
        messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms) or str(exc))
    except AccessDenied:
        raise Http404 from None
    else:
        text = (gettext("%(name)s can sign in and work again.") if active
                else gettext("%(name)s is deactivated and can no longer see any client data."))
        messages.success(request, text % {"name": _member_name(member)})
    return _back(member)


urlpatterns: list[URLPattern | Any] = [
    path("administration/", admin_home, name="admin_home"),
    path("administration/organisations/<int:organisation_id>/", admin_organisation, name="admin_organisation"),
    path("administration/staff/<int:staff_id>/role/", admin_staff_role, name="admin_staff_role"),
    path("administration/staff/<int:staff_id>/active/", admin_staff_active, name="admin_staff_active"),
]
