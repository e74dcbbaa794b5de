"""Administration of organisations and staff: only for administrators; adding, role changes, deactivation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.test import Client as Browser

from polku.access.policy import decide, staff_of
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, InvalidInput
from polku.organisations import services
from polku.organisations.models import StaffMember, StaffRole, Unit
from tests import factories as f

pytestmark = pytest.mark.django_db


def login(user: Any) -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(user)
    return browser


@pytest.fixture
def admin(joint: Any) -> Any:
    joint.admin = f.staff(f.organisation(name="Hyvinvointialue"), StaffRole.ADMINISTRATOR)
    joint.unit = Unit.objects.create(organisation=joint.employment, name_fi="Keskusta")
    return joint


def add_form(**changes: Any) -> dict[str, Any]:
    data = {"username": "new.person", "first_name": "Uusi", "last_name": "Henkilö", "email": "uusi@example.fi",
            "role": StaffRole.COORDINATOR, "unit": "", "title": "", "password": ""}
    data.update(changes)
    return data


# -- Who may -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "social_worker", "provider_worker", "manager", "nobody"])
@pytest.mark.parametrize("path", ["/administration/", "/administration/organisations/{org}/"])
def test_non_administrators_get_not_found(admin: Any, who: str, path: str) -> None:
    user = f.staff(admin.employment, StaffRole.MANAGER) if who == "manager" else (
        f.user() if who == "nobody" else getattr(admin, who))
    assert login(user).get(path.format(org=admin.employment.pk)).status_code == 404


def test_non_administrators_cannot_post(admin: Any) -> None:
    browser = login(admin.coordinator)
    assert browser.post(f"/administration/organisations/{admin.employment.pk}/", add_form()).status_code == 404
    member = admin.social_worker.staff
    assert browser.post(f"/administration/staff/{member.pk}/active/", {"active": "0"}).status_code == 404
    assert browser.post(f"/administration/staff/{member.pk}/role/", {"role": "manager"}).status_code == 404
    member.refresh_from_db()
    assert member.active and member.role == StaffRole.SOCIAL_WORKER
    assert not get_user_model().objects.filter(username="new.person").exists()


def test_a_deactivated_administrator_gets_not_found(admin: Any) -> None:
    StaffMember.objects.filter(user=admin.admin).update(active=False)
    assert login(admin.admin).get("/administration/").status_code == 404


# -- Pages ---------------------------------------------------------------------------------------------------


def test_home__lists_organisations_with_active_staff_counts(admin: Any) -> None:
    StaffMember.objects.filter(user=admin.outsider).update(active=False)
    page = login(admin.admin).get("/administration/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Työllisyyspalvelut" in html and admin.employment.business_id in html and "Employment services" in html
    assert f'href="/administration/organisations/{admin.employment.pk}/"' in html
    rows = {o.pk: o.active_staff for o in page.context["organisations"]}
    assert rows[admin.employment.pk] == 1 and rows[admin.provider.pk] == 1
    assert rows[admin.outsider.staff.organisation_id] == 0


def test_organisation_page__details_and_staff(admin: Any) -> None:
    page = login(admin.admin).get(f"/administration/organisations/{admin.employment.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert admin.coordinator.username in html and "Coordinator" in html and "Keskusta" in html
    assert 'id="staff-username"' in html and 'for="staff-username"' in html


def test_organisation_page__missing_organisation(admin: Any) -> None:
    assert login(admin.admin).get("/administration/organisations/999999/").status_code == 404


# -- Adding staff --------------------------------------------------------------------------------------------


def test_add_staff__creates_the_user_and_staff_member_and_records_it(admin: Any) -> None:
    browser = login(admin.admin)
    page = browser.post(f"/administration/organisations/{admin.employment.pk}/",
                        add_form(unit=str(admin.unit.pk), title="Ohjaaja"))
    assert page.status_code == 302
    user = get_user_model().objects.get(username="new.person")
    assert not user.has_usable_password() and user.email == "uusi@example.fi"
    member = user.staff
    assert member.organisation == admin.employment and member.role == StaffRole.COORDINATOR
    assert member.unit == admin.unit and member.title == "Ohjaaja" and member.active
    entry = LogEntry.objects.get(object_id=str(member.pk))
    assert entry.user_id == admin.admin.pk and entry.action_flag == ADDITION
    assert "was added" in browser.get(page["Location"]).content.decode()


def test_add_staff__with_an_initial_password(admin: Any) -> None:
    login(admin.admin).post(f"/administration/organisations/{admin.employment.pk}/",
                            add_form(password="a long enough passphrase 42"))
    assert get_user_model().objects.get(username="new.person").check_password("a long enough passphrase 42")


def test_add_staff__duplicate_username__field_error_and_nothing_written(admin: Any) -> None:
    users, members = get_user_model().objects.count(), StaffMember.objects.count()
    page = login(admin.admin).post(f"/administration/organisations/{admin.employment.pk}/",
                                   add_form(username=admin.coordinator.username.upper()))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="staff-username_error"' in html and 'aria-invalid="true"' in html
    assert "already in use" in html and 'value="Uusi"' in html  # the input is kept
    assert get_user_model().objects.count() == users and StaffMember.objects.count() == members
    assert not LogEntry.objects.exists()


def test_add_staff__bad_email_and_missing_name__errors(admin: Any) -> None:
    page = login(admin.admin).post(f"/administration/organisations/{admin.employment.pk}/",
                                   add_form(email="not-an-address", last_name=""))
    html = page.content.decode()
    assert 'id="staff-email_error"' in html and 'id="staff-last_name_error"' in html
    assert not get_user_model().objects.filter(username="new.person").exists()


def test_add_staff__a_unit_of_another_organisation_is_refused(admin: Any) -> None:
    other_unit = Unit.objects.create(organisation=admin.social, name_fi="Muu")
    with pytest.raises(InvalidInput) as caught:
        services.staff_create(actor=admin.admin, organisation_id=admin.employment.pk, username="x.y",
                              first_name="X", last_name="Y", role=StaffRole.COORDINATOR, unit_id=other_unit.pk)
    assert "unit" in caught.value.errors


def test_services__only_administrators(admin: Any) -> None:
    with pytest.raises(AccessDenied):
        services.staff_create(actor=admin.coordinator, organisation_id=admin.employment.pk, username="x.y",
                              first_name="X", last_name="Y", role=StaffRole.COORDINATOR)
    with pytest.raises(AccessDenied):
        services.staff_set_role(actor=admin.coordinator, staff_id=admin.social_worker.staff.pk,
                                role=StaffRole.MANAGER)
    with pytest.raises(AccessDenied):
        services.staff_set_active(actor=admin.coordinator, staff_id=admin.social_worker.staff.pk, active=False)


# -- Role and deactivation -----------------------------------------------------------------------------------


def test_role_change__changes_what_the_person_may_see_and_is_recorded(admin: Any) -> None:
    member = admin.coordinator.staff
    assert decide(admin.coordinator, admin.client, DataCategory.SOCIAL, AccessAction.VIEW).allowed is False
    page = login(admin.admin).post(f"/administration/staff/{member.pk}/role/", {"role": StaffRole.SOCIAL_WORKER})
    assert page.status_code == 302 and page["Location"].endswith(f"#member-{member.pk}")
    member.refresh_from_db()
    assert member.role == StaffRole.SOCIAL_WORKER
    admin.coordinator.refresh_from_db()
    assert decide(admin.coordinator, admin.client, DataCategory.SOCIAL, AccessAction.VIEW).allowed is True
    assert LogEntry.objects.get(object_id=str(member.pk)).action_flag == CHANGE


def test_role_change__unknown_role__error_and_nothing_changed(admin: Any) -> None:
    member = admin.coordinator.staff
    page = login(admin.admin).post(f"/administration/staff/{member.pk}/role/", {"role": "king"}, follow=True)
    assert "Choose a role" in page.content.decode()
    member.refresh_from_db()
    assert member.role == StaffRole.COORDINATOR and not LogEntry.objects.exists()


def test_deactivate__the_person_can_no_longer_see_clients_and_reactivate_restores(admin: Any) -> None:
    member = admin.coordinator.staff
    browser = login(admin.admin)
    assert decide(admin.coordinator, admin.client, DataCategory.BASIC, AccessAction.VIEW).allowed
    page = browser.post(f"/administration/staff/{member.pk}/active/", {"active": "0"})
    assert page.status_code == 302
    admin.coordinator.refresh_from_db()
    assert staff_of(admin.coordinator) is None
    decision = decide(admin.coordinator, admin.client, DataCategory.BASIC, AccessAction.VIEW)
    assert not decision.allowed and decision.reason == "not_staff"
    assert login(admin.coordinator).get(f"/clients/{admin.client.pk}/").status_code == 404
    browser.post(f"/administration/staff/{member.pk}/active/", {"active": "1"})
    admin.coordinator.refresh_from_db()
    assert decide(admin.coordinator, admin.client, DataCategory.BASIC, AccessAction.VIEW).allowed
    assert LogEntry.objects.filter(object_id=str(member.pk), action_flag=CHANGE).count() == 2


def test_an_administrator_cannot_deactivate_themself_or_drop_their_role(admin: Any) -> None:
    own = admin.admin.staff
    browser = login(admin.admin)
    page = browser.post(f"/administration/staff/{own.pk}/active/", {"active": "0"}, follow=True)
    assert "cannot deactivate yourself" in page.content.decode()
    browser.post(f"/administration/staff/{own.pk}/role/", {"role": StaffRole.MANAGER})
    own.refresh_from_db()
    assert own.active and own.role == StaffRole.ADMINISTRATOR and not LogEntry.objects.exists()
