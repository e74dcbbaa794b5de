"""The front page for each role, the gap overview, an alert, the administration pages, and acknowledging a
worklist item with the keyboard only."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

_numbers = itertools.count(1)


def own_alert(username: str = "coordinator") -> Any:
    """An alert of this test's own, at the top of the person's worklist (their own, high severity, long overdue),
    about a client of their caseload: no other test reads or changes it."""
    from polku.clients.selectors import caseload
    from polku.coordination.models import Alert, Severity

    user = get_user_model().objects.get(username=username)
    client = caseload(actor=user).first()
    assert client is not None
    long_ago = dt.date(2000, 1, 1)
    return Alert.objects.create(
        rule="client_not_contacted", client=client, object_type="episode", object_id=900_000_000 + next(_numbers),
        since=long_ago, due_on=long_ago, severity=Severity.HIGH, category="basic",
        responsible_organisation_id=user.staff.organisation_id, responsible_person=user.staff,
        opened_as_of=timezone.localdate(),
    )


@pytest.mark.parametrize("username", ["coordinator", "socialworker", "provider", "manager", "admin"])
def test_front_page(assert_accessible: Any, username: str) -> None:
    assert_accessible(username, "/", f"worklist-front-{username}")


def test_gap_overview(assert_accessible: Any) -> None:
    assert_accessible("manager", "/gaps/", "worklist-gaps")


def test_alert_detail(assert_accessible: Any) -> None:
    from polku.coordination.selectors import worklist

    items = worklist(actor=get_user_model().objects.get(username="coordinator"))
    alert_id = items[-1].alert.pk if items else own_alert().pk
    assert_accessible("coordinator", f"/alerts/{alert_id}/", "worklist-alert")


def test_administration(assert_accessible: Any) -> None:
    admin = get_user_model().objects.get(username="admin")
    assert_accessible("admin", "/administration/", "worklist-administration")
    assert_accessible("admin", f"/administration/organisations/{admin.staff.organisation_id}/",
                      "worklist-administration-organisation")


def test_coordinator_acknowledges_a_worklist_item_with_the_keyboard_only(visit: Any) -> None:
    from polku.coordination.models import AlertEvent, AlertEventKind

    alert = own_alert()
    tab = visit("coordinator", "en")
    tab.open("/")
    page = tab.page
    item = page.locator(f"#alert-{alert.pk}")
    assert "Not acknowledged yet" in item.inner_text()
    page.locator(f"#ack-{alert.pk}-note").focus()
    page.keyboard.type("I will call the client today")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"ack-{alert.pk}-submit"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#alert-{alert.pk} >> text=Acknowledged by")
    assert "The alert is acknowledged." in page.locator("#worklist-status").inner_text()
    # The swapped item takes the focus (its heading), so the keyboard user goes on from there.
    assert page.evaluate("document.activeElement.closest('li') && document.activeElement.closest('li').id") \
        == f"alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.acknowledged_by is not None and alert.acknowledged_by.username == "coordinator"
    event = AlertEvent.objects.get(alert=alert)
    assert event.kind == AlertEventKind.ACKNOWLEDGED and event.note == "I will call the client today"
