"""/me: who is calling; /me/export: a client's copy of all their data (GDPR Article 15), logged."""

from __future__ import annotations

import json
from typing import Any

from polku.audit.models import AccessAction, AccessLog
from polku.core.choices import DataCategory
from polku.organisations.models import ROLE_DATA_CATEGORIES, StaffMember, StaffRole, Unit
from tests import factories as f


def _client_user(joint: Any) -> Any:
    joint.client.user = f.user()
    joint.client.save()
    return joint.client.user


def test_me__staff_member(joint: Any, api_as: Any) -> None:
    unit = Unit.objects.create(organisation=joint.social, name_fi="Aikuissosiaalityö")
    StaffMember.objects.filter(user=joint.social_worker).update(unit=unit, title="sosiaalityöntekijä")
    r = api_as(joint.social_worker).get("/me")
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "staff" and body["client"] is None
    assert body["username"] == joint.social_worker.username
    staff = body["staff"]
    assert staff["organisation"] == {"id": joint.social.pk, "name": "Sosiaalipalvelut"}
    assert staff["unit"] == {"id": unit.pk, "name": "Aikuissosiaalityö"}
    assert staff["role"] == "social_worker" and staff["role_label"]
    assert staff["title"] == "sosiaalityöntekijä"
    assert set(staff["data_categories"]) == set(ROLE_DATA_CATEGORIES[StaffRole.SOCIAL_WORKER])
    assert DataCategory.HEALTH not in staff["data_categories"]
    # no client data is looked at, so nothing is logged
    assert not AccessLog.objects.filter(actor=joint.social_worker).exists()


def test_me__manager_sees_no_categories(joint: Any, api_as: Any) -> None:
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    body = api_as(manager).get("/me").json()
    assert body["staff"]["data_categories"] == [] and body["staff"]["unit"] is None


def test_me__client(joint: Any, api_as: Any) -> None:
    user = _client_user(joint)
    body = api_as(user).get("/me").json()
    assert body["kind"] == "client" and body["staff"] is None
    assert body["client"] == {"id": joint.client.pk, "first_name": joint.client.first_name,
                              "last_name": joint.client.last_name}


def test_me__neither_staff_nor_client(db: Any, api_as: Any) -> None:
    body = api_as(f.user()).get("/me").json()
    assert body["kind"] == "user" and body["staff"] is None and body["client"] is None


def test_export__client_gets_all_their_data_and_the_export_is_logged(joint: Any, api_as: Any) -> None:
    user = _client_user(joint)
    api_as(joint.coordinator).get(f"/clients/{joint.client.pk}")  # a staff read the copy must show
    r = api_as(user).get("/me/export")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/json")
    assert r["Content-Disposition"].startswith("attachment; filename=")
    assert r["Cache-Control"] == "no-store"
    data = json.loads(r.content)
    assert data["format"] == "polku-client-data"
    assert data["client"]["id"] == joint.client.pk
    assert data["client"]["personal_identity_code"] == joint.client.personal_identity_code
    assert {c["organisation"]["id"] for c in data["consents"]} == {
        joint.employment.pk, joint.social.pk, joint.provider.pk}
    assert [e["id"] for e in data["episodes"]] == [joint.episode.pk]

    exports = AccessLog.objects.filter(client=joint.client, action=AccessAction.EXPORT)
    assert exports.count() == 1
    row = exports.get()
    assert row.actor == user and row.allowed and row.category == DataCategory.BASIC
    assert (row.actor_role, row.reason) == ("client", "own_data")
    assert (row.object_type, row.object_id) == ("Client", str(joint.client.pk))
    # the copy includes its own log row, and the staff member's read
    logged = {(e["id"], e["action"]) for e in data["access_log"]}
    assert (row.pk, "export") in logged
    assert any(e["actor"] and e["actor"]["id"] == joint.coordinator.pk for e in data["access_log"])


def test_export__only_for_a_client(joint: Any, api_as: Any) -> None:
    for who in (joint.coordinator, joint.social_worker, joint.outsider, f.user()):
        r = api_as(who).get("/me/export")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert not AccessLog.objects.filter(action=AccessAction.EXPORT).exists()


def test_export__other_clients_data_is_not_in_the_copy(joint: Any, api_as: Any) -> None:
    user = _client_user(joint)
    other = f.client()
    f.episode(other, (joint.employment, joint.coordinator))
    data = json.loads(api_as(user).get("/me/export").content)
    assert data["client"]["id"] == joint.client.pk
    assert other.personal_identity_code not in json.dumps(data)
    assert all(e["client_id"] == joint.client.pk for e in data["episodes"])
