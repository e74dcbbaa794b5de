"""The demo region: loads through the services, every record is valid, and every demo login works."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client as Browser

from polku.clients.models import Client
from polku.demo.region import DEMO_PASSWORD, STAFF, load_demo_region
from polku.episodes.models import JointServiceEpisode
from polku.organisations.models import Organisation, OrganisationKind, StaffRole
from polku.referrals.models import Referral


@pytest.fixture
def region(db: Any) -> Any:
    return load_demo_region(clients=8, seed=7)


def test_demo_region__has_every_kind_of_organisation_and_every_role(region: Any) -> None:
    assert set(Organisation.objects.values_list("kind", flat=True)) == set(OrganisationKind.values) - {"other"}
    assert {role for _u, _o, role, _f, _l in STAFF} == set(StaffRole.values)
    assert Client.objects.count() == 8
    assert JointServiceEpisode.objects.filter(status__in=["mapping", "active"]).count() == 8
    assert Referral.objects.exclude(status="draft").exists()


def test_demo_region__every_record_passes_model_validation(region: Any) -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("polku."):
            continue
        for obj in model.objects.all():
            obj.full_clean()


class _Rollback(Exception):
    pass


def _snapshot() -> list[tuple[Any, ...]]:
    return list(Client.objects.order_by("personal_identity_code").values_list(
        "personal_identity_code", "first_name", "last_name", "gender", "episodes__status", "referrals__status"))


def test_demo_region__is_deterministic_and_uses_test_identity_codes_only(db: Any) -> None:
    from django.db import transaction

    try:
        with transaction.atomic():
            load_demo_region(clients=4, seed=11)
            first = _snapshot()
            raise _Rollback
    except _Rollback:
        pass
    assert not Client.objects.exists()
    load_demo_region(clients=4, seed=11)
    assert _snapshot() == first
    assert all(900 <= int(row[0][7:10]) <= 999 for row in first)  # never a real person's code


@pytest.mark.parametrize(("username", "sees_clients"), [
    ("coordinator", True), ("socialworker", True), ("health", True), ("kela", True), ("manager", False),
    ("admin", False),
])
def test_demo_logins__staff_log_in_and_see_their_caseload(region: Any, username: str, sees_clients: bool) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/login/", {"username": username, "password": DEMO_PASSWORD}).status_code == 302
    page = browser.get("/").content.decode()
    assert any(c.last_name in page for c in region.clients) is sees_clients


def test_demo_logins__client_sees_own_data(region: Any) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/login/", {"username": "client", "password": DEMO_PASSWORD}).status_code == 302
    page = browser.get("/me/")
    assert page.status_code == 200 and region.clients[0].first_name in page.content.decode()


def test_demo_command__loads_once_and_prints_logins(db: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--clients", "3", "--no-server", stdout=out)
    assert "coordinator" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    assert Client.objects.count() == 3
    out = io.StringIO()
    call_command("demo", "--clients", "3", "--no-server", stdout=out)
    assert "already has data" in out.getvalue()
    assert Client.objects.count() == 3


def test_demo_command__nonsense_count__refused(db: Any) -> None:
    with pytest.raises(SystemExit):
        call_command("demo", "--clients", "0", "--no-server", stdout=io.StringIO(), stderr=io.StringIO())
    assert not Organisation.objects.exists()
