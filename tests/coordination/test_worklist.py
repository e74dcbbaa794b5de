"""Worklists: the right alerts for the right people, worded for what the reader may see, logged, and never
across organisations; managers get counts only."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from polku.audit.models import AccessLog
from polku.coordination.models import Alert
from polku.coordination.selectors import gap_overview, worklist
from polku.coordination.services import alert_acknowledge, alert_comment, sweep
from polku.core.errors import AccessDenied, InvalidInput
from polku.organisations.models import StaffRole
from polku.referrals.models import ReferralStatus
from tests import factories as f

from .test_rules import TODAY, ago, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def swept(joint: Any) -> Any:
    """An unanswered referral to the provider and one to a health service (health data), then a sweep."""
    joint.episode.start_date = ago(20)
    joint.episode.save()
    joint.client.consents.update(valid_from=at(ago(100)))
    health_service = f.service(joint.provider, "health", name_fi="Terapia")
    for svc in (joint.service, health_service):
        r = f.referral(joint.client, svc, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
        r.sent_at = at(ago(20))
        r.save()
    joint.health_service = health_service
    joint.manager = f.staff(joint.employment, StaffRole.MANAGER)
    sweep(as_of=TODAY)
    return joint


def rules_of(items: list[Any]) -> list[str]:
    return [i.alert.rule for i in items]


def test_the_responsible_coordinator_sees_their_alerts_first_and_the_read_is_logged(swept: Any) -> None:
    before = AccessLog.objects.count()
    items = worklist(actor=swept.coordinator, as_of=TODAY)
    assert rules_of(items).count("referral_unanswered") == 2
    assert all(i.mine for i in items)
    assert items == sorted(items, key=lambda i: (-i.alert.severity, i.alert.due_on, -i.vulnerability))
    logged = AccessLog.objects.filter(actor=swept.coordinator, object_type="list")
    assert AccessLog.objects.count() == before + 1 and logged.get().client_id == swept.client.pk
    assert all(i.action_url.startswith(f"/clients/{swept.client.pk}/") for i in items)


def test_details_of_data_the_reader_may_not_see_are_left_out(swept: Any) -> None:
    texts = {i.alert.service_id: i.text for i in worklist(actor=swept.coordinator, as_of=TODAY)
             if i.alert.rule == "referral_unanswered"}
    # The coordinator's role covers rehabilitation data (with consent) but never health data.
    assert str(swept.service) in texts[swept.service.pk]
    assert "Terapia" not in texts[swept.health_service.pk]
    assert swept.provider.name_fi not in texts[swept.health_service.pk]


def test_the_provider_sees_only_what_concerns_it(swept: Any) -> None:
    items = worklist(actor=swept.provider_worker, as_of=TODAY)
    assert set(rules_of(items)) == {"referral_unanswered"}
    assert not any(i.mine for i in items)
    # Once the client's consent to the provider is revoked, the provider sees nothing of the client.
    swept.client.consents.filter(organisation=swept.provider).update(revoked_at=timezone.now())
    assert worklist(actor=swept.provider_worker, as_of=TODAY) == []


def test_another_organisation_sees_nothing(swept: Any) -> None:
    assert worklist(actor=swept.outsider, as_of=TODAY) == []
    alert = Alert.objects.filter(resolved_at__isnull=True).first()
    assert alert is not None
    with pytest.raises(AccessDenied):
        alert_acknowledge(actor=swept.outsider, alert_id=alert.pk)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    refused = AccessLog.objects.get(actor=swept.outsider)
    assert not refused.allowed and refused.reason == "no_relationship" and refused.client_id == alert.client_id


def test_managers_get_counts_never_lists(swept: Any, settings: Any) -> None:
    with pytest.raises(AccessDenied):
        worklist(actor=swept.manager)
    with pytest.raises(AccessDenied):
        gap_overview(actor=swept.coordinator)
    overview = gap_overview(actor=swept.manager, weeks=4, as_of=TODAY)
    assert overview.total_open == Alert.objects.filter(resolved_at__isnull=True).count()
    by_rule = {r["rule"]: r["open"] for r in overview.by_rule}
    assert by_rule["referral_unanswered"] is None, "two alerts are under the small-cell threshold"
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 1}
    overview = gap_overview(actor=swept.manager, weeks=4, as_of=TODAY)
    assert {r["rule"]: r["open"] for r in overview.by_rule}["referral_unanswered"] == 2
    assert overview.trend[-1]["open"] == overview.total_open
    # The weekly open count by rule group adds up to the week's open count, and the unanswered referrals are gaps.
    assert all(sum(w["open_by_group"].values()) == w["open"] for w in overview.trend)
    assert overview.trend[-1]["open_by_group"]["gap"] >= 2
    assert any(w["organisation"] == str(swept.provider) and w["waiting"] == 2 for w in overview.waiting)
    names = json.dumps([overview.by_rule, overview.by_provider, overview.by_service, overview.waiting], default=str)
    assert swept.client.last_name not in names


def test_acknowledge_and_comment_make_the_history(swept: Any) -> None:
    item = worklist(actor=swept.coordinator, as_of=TODAY)[0]
    alert_acknowledge(actor=swept.coordinator, alert_id=item.alert.pk, note="Soitan palveluntuottajalle")
    alert_comment(actor=swept.coordinator, alert_id=item.alert.pk, note="Ei vastannut, yritän huomenna")
    with pytest.raises(InvalidInput):
        alert_comment(actor=swept.coordinator, alert_id=item.alert.pk, note="   ")
    again = next(i for i in worklist(actor=swept.coordinator, as_of=TODAY) if i.alert.pk == item.alert.pk)
    assert again.alert.acknowledged_by == swept.coordinator
    notes = [h.note for h in again.history]
    assert notes == ["", "Soitan palveluntuottajalle", "Ei vastannut, yritän huomenna"]
    assert AccessLog.objects.filter(actor=swept.coordinator, action="update", object_type="Alert").count() == 2


def test_worklist_command(swept: Any) -> None:
    out = StringIO()
    call_command("worklist", user=swept.coordinator.username, language="en", stdout=out)
    text = out.getvalue()
    assert swept.client.full_name in text and "Chase the referral" in text
    out = StringIO()
    call_command("worklist", user=swept.coordinator.username, format="json", stdout=out)
    data = json.loads(out.getvalue())
    assert {d["rule"] for d in data} >= {"referral_unanswered"}
    with pytest.raises(CommandError):
        call_command("worklist", user=swept.manager.username)
    with pytest.raises(CommandError, match="No user"):
        call_command("worklist", user="nobody-at-all", language="en")
    ack = StringIO()
    call_command("worklist", user=swept.coordinator.username, ack=data[0]["alert"], note="ok", language="en",
                 stdout=ack)
    assert "acknowledged" in ack.getvalue()


def test_gaps_command_for_managers(swept: Any) -> None:
    out = StringIO()
    call_command("gaps", user=swept.manager.username, weeks=2, language="en", stdout=out)
    assert "By rule" in out.getvalue() and "<5" in out.getvalue()
    assert swept.client.last_name not in out.getvalue()
    with pytest.raises(CommandError):
        call_command("gaps", user=swept.coordinator.username)


def test_order__own_then_organisation_then_other_party_each_by_severity_due_and_vulnerability(joint: Any) -> None:
    """The worklist is taken bucket by bucket (an index walk each); the order must be the documented one, also
    when a page ends inside a bucket, and alerts of clients the reader may not see never fill a page."""
    import datetime as dt
    import itertools

    from polku.organisations.models import StaffMember

    me = StaffMember.objects.get(user=joint.coordinator)
    colleague = f.staff(joint.employment, StaffRole.COORDINATOR)
    colleague_member = StaffMember.objects.get(user=colleague)
    hidden = f.client()  # no relationship, no consent: never on the page
    combos = itertools.product(
        [("mine", me, joint.employment, None), ("ours", colleague_member, joint.employment, None),
         ("ours", None, joint.employment, None), ("other", None, joint.social, joint.employment)],
        [1, 2, 3], [5, 1], [0, 4])
    expected: list[tuple[int, int, dt.date, int]] = []
    for n, ((bucket, person, org, counterpart), severity, due, vulnerability) in enumerate(combos):
        for client in (joint.client, hidden):
            alert = Alert.objects.create(
                rule="mapping_period_ending", client=client, object_type="test", object_id=n, since=TODAY,
                due_on=ago(due), severity=severity, vulnerability=vulnerability, responsible_person=person,
                responsible_organisation=org, counterpart_organisation=counterpart, category="basic",
                opened_as_of=TODAY)
            if client == joint.client:
                expected.append((["mine", "ours", "other"].index(bucket), -severity, ago(due), -vulnerability,
                                 alert.pk))
    expected.sort()
    wanted = [row[-1] for row in expected]
    for limit in (5, 16, 40, len(wanted), 200):
        items = worklist(actor=joint.coordinator, limit=limit, as_of=TODAY)
        assert [i.alert.pk for i in items] == wanted[:limit]
        assert [i.mine for i in items] == [row[0] == 0 for row in expected[:limit]]
