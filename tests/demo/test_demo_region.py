"""The demo: a synthetic region with one working login per role."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client as Browser

from polku.clients.models import Client
from polku.clients.selectors import caseload, responsible_caseload
from polku.demo.region import DEMO_PASSWORD, STAFF, load_demo_region
from polku.episodes.models import JointServiceEpisode
from polku.organisations.models import Organisation, OrganisationKind, StaffRole


@pytest.fixture
def region(db: Any) -> Any:
    return load_demo_region(clients=300, seed=7)


def test_demo_region__every_kind_of_organisation_and_a_login_for_every_role(region: Any) -> None:
    assert set(Organisation.objects.values_list("kind", flat=True)) == set(OrganisationKind.values) - {"other"}
    assert {role for _u, _o, role, _f, _l in STAFF} == set(StaffRole.values)
    assert JointServiceEpisode.objects.count() == 300  # one episode per joint-service client
    assert Client.objects.count() > 300  # plus registered job seekers outside the joint service


def test_demo_region__swept_so_the_coordinator_has_a_worklist(region: Any) -> None:
    from polku.coordination.selectors import worklist

    items = worklist(actor=region.staff["coordinator"])
    assert items and any(i.mine for i in items)


@pytest.mark.parametrize(("username", "sees_clients"), [
    ("coordinator", True), ("socialworker", True), ("health", True), ("kela", True), ("provider", True),
    ("manager", False), ("admin", False),
])
def test_demo_logins__staff_log_in_and_see_their_caseload(region: Any, username: str, sees_clients: bool) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/login/", {"username": username, "password": DEMO_PASSWORD}).status_code == 302
    page = browser.get("/").content.decode()
    visible = list(caseload(actor=region.staff[username])[:50])
    assert bool(visible) is sees_clients
    # The front page lists their own clients (responsible person) when they have any, else every client they may see.
    own = list(responsible_caseload(actor=region.staff[username])[:5])
    assert all(c.last_name in page for c in (own or visible[:5]))
    if username in ("coordinator", "socialworker"):
        assert own and "you are responsible for" in page


def test_demo_logins__provider_sees_only_clients_referred_to_it(region: Any) -> None:
    provider = region.staff["provider"]
    visible = set(caseload(actor=provider).values_list("pk", flat=True))
    referred = set(Client.objects.filter(
        referrals__receiving_organisation=provider.staff.organisation,
        referrals__status__in=["sent", "received", "accepted", "waitlisted", "started"],
    ).values_list("pk", flat=True))
    assert visible and visible <= referred


def test_demo_logins__client_sees_own_data(region: Any) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/login/", {"username": "client", "password": DEMO_PASSWORD}).status_code == 302
    page = browser.get("/me/")
    assert page.status_code == 200 and region.portal_client.first_name in page.content.decode()


def test_demo_command__loads_once_and_prints_logins(db: Any) -> None:
    out = io.StringIO()
    call_command("demo", "--clients", "50", "--no-server", stdout=out)
    assert "coordinator" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    assert JointServiceEpisode.objects.count() == 50
    clients = Client.objects.count()
    out = io.StringIO()
    call_command("demo", "--clients", "50", "--no-server", stdout=out)
    assert "already has data" in out.getvalue()
    assert Client.objects.count() == clients


def test_demo_command__nonsense_count__refused(db: Any) -> None:
    with pytest.raises(SystemExit):
        call_command("demo", "--clients", "0", "--no-server", stdout=io.StringIO(), stderr=io.StringIO())
    assert not Organisation.objects.exists()
