"""Administration of staff: adding a staff member, changing a role, deactivating and reactivating.

Only an active administrator (``StaffRole.ADMINISTRATOR``) may do these. Each change is validated before anything
is written, runs in one transaction and is recorded in Django's admin log (``LogEntry``), which the admin site shows
under "Recent actions" and in each object's history: staff data is not client data, so the access log is not the
place for it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from polku.access.policy import staff_of
from polku.core.errors import AccessDenied, InvalidInput

from .models import Organisation, StaffMember, StaffRole, Unit


def _require_administrator(actor: Any) -> StaffMember:
    staff = staff_of(actor)
    if staff is None or staff.role != StaffRole.ADMINISTRATOR:
        raise AccessDenied(_("Only administrators can manage staff."), code="role")
    return staff


def _record(actor: Any, obj: Any, flag: int, message: str) -> None:
    """One row in Django's admin log (the admin site's history of the object)."""
    LogEntry.objects.create(
        user_id=actor.pk, content_type_id=ContentType.objects.get_for_model(type(obj)).pk, object_id=str(obj.pk),
        object_repr=str(obj)[:200], action_flag=flag, change_message=message,
    )


def _field_error(field: str, message: Any) -> InvalidInput:
    return InvalidInput(_("The data is not valid."), errors={field: [str(message)]})


def _valid_role(role: str) -> str:
    if role not in StaffRole.values:
        raise _field_error("role", _("Choose a role from the list."))
    return role


@transaction.atomic
def staff_create(
    *, actor: Any, organisation_id: int, username: str, first_name: str, last_name: str, role: str,
    email: str = "", unit_id: int | None = None, title: str = "", password: str = "",
) -> StaffMember:
    """Create a user account and its staff member in one organisation. Without ``password`` the account gets an
    unusable password (the person signs in with single sign-on or is given a password by other means)."""
    _require_administrator(actor)
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise _field_error("organisation", _("No such organisation."))
    errors: dict[str, list[str]] = {}
    user_model = get_user_model()
    username = username.strip()
    if not username:
        errors["username"] = [str(_("This field is required."))]
    else:
        try:
            user_model.username_validator(username)
        except ValidationError as exc:
            errors["username"] = [str(m) for m in exc.messages]
        else:
            if len(username) > 150:
                errors["username"] = [str(_("At most 150 characters."))]
            elif user_model.objects.filter(username__iexact=username).exists():
                errors["username"] = [str(_("This username is already in use."))]
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if not value.strip():
            errors[name] = [str(_("This field is required."))]
        elif len(value.strip()) > 150:
            errors[name] = [str(_("At most 150 characters."))]
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [str(_("Give a valid email address."))]
    if role not in StaffRole.values:
        errors["role"] = [str(_("Choose a role from the list."))]
    unit = None
    if unit_id is not None:
        unit = Unit.objects.filter(pk=unit_id, organisation_id=organisation.pk).first()
        if unit is None:
            errors["unit"] = [str(_("Choose a unit of this organisation."))]
    if len(title) > 200:
        errors["title"] = [str(_("At most 200 characters."))]
    if password:
        try:
            validate_password(password, user_model(username=username, first_name=first_name, last_name=last_name,
                                                   email=email))
        except ValidationError as exc:
            errors["password"] = [str(m) for m in exc.messages]
    if errors:
        raise InvalidInput(_("The data is not valid."), errors=errors)
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=email, password=password or None,
                                                  first_name=first_name.strip(), last_name=last_name.strip())
    except IntegrityError as exc:  # taken by someone else a moment ago
        raise _field_error("username", _("This username is already in use.")) from exc
    member = StaffMember.objects.create(user=user, organisation=organisation, unit=unit, role=role,
                                        title=title.strip())
    _record(actor, member, ADDITION, f"Added staff member {username} ({role}) to organisation {organisation.pk}")
    return member


def _locked_member(staff_id: int) -> StaffMember:
    member = (StaffMember.objects.select_for_update().select_related("user", "organisation")
              .filter(pk=staff_id).first())
    if member is None:
        raise _field_error("staff", _("No such staff member."))
    return member


@transaction.atomic
def staff_set_role(*, actor: Any, staff_id: int, role: str) -> StaffMember:
    """Change a staff member's role (which decides the data categories their work needs)."""
    own = _require_administrator(actor)
    _valid_role(role)
    member = _locked_member(staff_id)
    if member.pk == own.pk and role != StaffRole.ADMINISTRATOR:
        raise _field_error("role", _("You cannot take away your own administrator role."))
    if member.role != role:
        old = member.role
        member.role = role
        member.save(update_fields=["role"])
        _record(actor, member, CHANGE, f"Role changed from {old} to {role}")
    return member


@transaction.atomic
def staff_set_active(*, actor: Any, staff_id: int, active: bool) -> StaffMember:
    """Deactivate (or reactivate) a staff member: an inactive staff member sees no client data at all."""
    own = _require_administrator(actor)
    member = _locked_member(staff_id)
    if member.pk == own.pk and not active:
        raise _field_error("active", _("You cannot deactivate yourself."))
    if member.active != active:
        member.active = active
        member.save(update_fields=["active"])
        _record(actor, member, CHANGE, "Reactivated" if active else "Deactivated")
    return member


__all__ = ["staff_create", "staff_set_active", "staff_set_role"]
