"""The sweep's bookkeeping: idempotent, resolves what is gone, all or nothing, settings refused when senseless."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import override

from polku.coordination import rules as rules_module
from polku.coordination.models import Alert, RuleSetting, SweepRun
from polku.coordination.rules import effective_rules
from polku.coordination.services import rule_setting_set, sweep
from polku.coordination.tasks import daily_sweep, queued_sweeps, schedule_next
from polku.core.errors import InvalidInput
from polku.referrals.models import ReferralStatus
from tests import factories as f

from .test_rules import TODAY, ago, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def gaps(joint: Any) -> Any:
    """Two unanswered referrals and an episode with nothing under way but them."""
    joint.episode.start_date = ago(20)
    joint.episode.save()
    refs = []
    for days in (20, 40):
        r = f.referral(joint.client, joint.service, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
        r.sent_at = at(ago(days))
        r.save()
        refs.append(r)
    joint.refs = refs
    return joint


def open_keys() -> set[tuple[str, int]]:
    return set(Alert.objects.filter(resolved_at__isnull=True).values_list("rule", "object_id"))


def test_a_second_sweep_changes_nothing(gaps: Any) -> None:
    first = sweep(as_of=TODAY)
    snapshot = list(Alert.objects.order_by("pk").values())
    second = sweep(as_of=TODAY)
    assert first.run.opened == len(snapshot) > 0
    assert second.run.opened == 0 and second.run.resolved == 0
    assert list(Alert.objects.order_by("pk").values()) == snapshot


def test_gaps_that_are_gone_resolve_and_new_ones_open(gaps: Any) -> None:
    sweep(as_of=TODAY)
    assert ("referral_unanswered", gaps.refs[0].pk) in open_keys()
    gaps.refs[0].status = ReferralStatus.ACCEPTED
    gaps.refs[0].save()
    run = sweep(as_of=TODAY).run
    assert run.resolved == 1
    alert = Alert.objects.get(rule="referral_unanswered", object_id=gaps.refs[0].pk)
    assert alert.resolved_as_of == TODAY and alert.resolved_run == run
    # It comes back as a new alert if the gap reappears; the resolved one stays in the history.
    gaps.refs[0].status = ReferralStatus.SENT
    gaps.refs[0].save()
    sweep(as_of=TODAY)
    assert Alert.objects.filter(rule="referral_unanswered", object_id=gaps.refs[0].pk).count() == 2


def test_a_sweep_that_fails_half_way_leaves_the_alerts_as_they_were(gaps: Any, monkeypatch: Any) -> None:
    sweep(as_of=TODAY)
    before = list(Alert.objects.order_by("pk").values())
    runs = SweepRun.objects.count()
    gaps.refs[0].status = ReferralStatus.ACCEPTED
    gaps.refs[0].save()

    def broken(ctx: Any) -> Any:
        raise RuntimeError("the database went away")

    rule = rules_module.RULES["moved_without_handover"]
    monkeypatch.setitem(rules_module.RULES, "moved_without_handover", rule.__class__(
        **{**rule.__dict__, "query": broken}))
    with pytest.raises(RuntimeError):
        sweep(as_of=TODAY)
    assert list(Alert.objects.order_by("pk").values()) == before
    assert SweepRun.objects.count() == runs


def test_disabled_rule_finds_nothing_and_its_alerts_resolve(gaps: Any) -> None:
    sweep(as_of=TODAY)
    assert any(rule == "referral_unanswered" for rule, _ in open_keys())
    rule_setting_set(actor=None, rule="referral_unanswered", params={}, enabled=False)
    sweep(as_of=TODAY)
    assert not any(rule == "referral_unanswered" for rule, _ in open_keys())


@pytest.mark.parametrize(
    ("rule", "params", "severity", "message"),
    [
        ("referral_unanswered", {"days": -1}, None, "cannot be negative"),
        ("referral_unanswered", {"days": "soon"}, None, "whole number"),
        ("referral_unanswered", {"days": 2.5}, None, "whole number"),
        ("referral_unanswered", {"hours": 3}, None, "has no threshold"),
        ("no_such_rule", {"days": 3}, None, "Unknown rule"),
        ("referral_unanswered", {"days": 3}, 7, "Severity"),
    ],
)
def test_senseless_settings_are_refused_and_nothing_is_saved(rule: str, params: Any, severity: Any,
                                                             message: str) -> None:
    with override("en"), pytest.raises(InvalidInput) as caught:
        rule_setting_set(actor=None, rule=rule, params=params, severity=severity)
    assert message in str(caught.value)
    assert not RuleSetting.objects.exists()


def test_settings_layer_over_the_defaults(settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "RULES": {"referral_waitlisted": {"days": 45, "severity": 3}}}
    rule_setting_set(actor=None, rule="referral_unanswered", params={"days": "21"})
    by_code = {r.rule.code: r for r in effective_rules()}
    assert by_code["referral_unanswered"].params == {"days": 21}
    assert by_code["referral_waitlisted"].params == {"days": 45} and by_code["referral_waitlisted"].severity == 3
    assert by_code["client_not_contacted"].params == {"days": 60}


def test_refused_settings_in_the_environment_fail_the_start_up_check(settings: Any) -> None:
    from polku.coordination.checks import check_rule_settings

    settings.POLKU = {**settings.POLKU, "RULES": {"referral_unanswered": {"days": -5}}}
    with override("en"):
        errors = check_rule_settings()
    assert errors and "cannot be negative" in errors[0].msg


def test_rules_command_refuses_bad_values_with_a_clear_message() -> None:
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("rules", "set", "referral_unanswered", "days=-3", language="en")
    with pytest.raises(CommandError, match="Unknown rule"):
        call_command("rules", "set", "nope", "days=3", language="en")
    with pytest.raises(CommandError):
        call_command("rules", "set", "referral_unanswered", "days", language="en")
    assert not RuleSetting.objects.exists()
    out = StringIO()
    call_command("rules", "set", "referral_unanswered", "days=21", language="en", stdout=out)
    listing = StringIO()
    call_command("rules", language="en", stdout=listing)
    assert "days=21*" in listing.getvalue()


def test_rules_are_refused_in_finnish_too() -> None:
    with pytest.raises(CommandError, match="negatiivinen"):
        call_command("rules", "set", "referral_unanswered", "days=-3", language="fi")


def test_sweep_command_json_counts(gaps: Any) -> None:
    out = StringIO()
    call_command("sweep", as_of=TODAY.isoformat(), format="json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["by_rule"]["referral_unanswered"] == 2
    assert data["opened"] == data["open"] == sum(data["by_rule"].values())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("sweep", as_of="yesterday")


def test_daily_task_sweeps_and_queues_the_next_night_once(gaps: Any) -> None:
    result = daily_sweep.call(TODAY.isoformat(), True)
    assert result["open"] == Alert.objects.filter(resolved_at__isnull=True).count() > 0
    queued = list(queued_sweeps())
    assert len(queued) == 1 and timezone.localtime(queued[0].run_after).hour == 2
    schedule_next()
    assert queued_sweeps().count() == 1, "scheduling again does not double the nightly sweep"


def test_sweep_as_of_moves_deadlines(gaps: Any) -> None:
    sweep(as_of=ago(10))
    assert {obj for rule, obj in open_keys() if rule == "referral_unanswered"} == {gaps.refs[1].pk}
    sweep(as_of=TODAY + dt.timedelta(days=1))
    assert {obj for rule, obj in open_keys() if rule == "referral_unanswered"} == {r.pk for r in gaps.refs}


def test_sweep_command_says_whom_it_evaluated(gaps: Any) -> None:
    from django.db import connection

    def run(**options: Any) -> str:
        out = StringIO()
        with override("en"):
            call_command("sweep", as_of=TODAY.isoformat(), no_progress=True, stdout=out, **options)
        return out.getvalue()

    assert "Full: every client evaluated." in run()
    second = run()
    if connection.vendor == "postgresql":
        assert "Incremental: clients evaluated 0 " in second, "nothing changed and no threshold came due"
        gaps.refs[0].status = ReferralStatus.ACCEPTED
        gaps.refs[0].save()
        assert "Incremental: clients evaluated 1 " in run()
    else:
        assert "Full: every client evaluated." in second, "SQLite has no triggers: every sweep is a full one"
    assert "Full: every client evaluated." in run(full=True)
    out = StringIO()
    call_command("sweep", as_of=TODAY.isoformat(), format="json", stdout=out)
    assert {"incremental", "clients_evaluated"} <= set(json.loads(out.getvalue()))
