"""Every rule against the synthetic region's truth: what the generator made happen to each person, recorded
as it happened (gaps.csv), never derived from the rules. Precision and recall must both be 1.0 per rule."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from django.db import transaction

from polku.coordination.models import Alert
from polku.coordination.services import rule_setting_set, sweep
from polku.core.dates import add_months
from polku.synth.generate import Options, generate
from tests.synth.support import START, Rollback, read_csv

pytestmark = pytest.mark.django_db

MONTHS = 36
AS_OF = add_months(START, MONTHS) - dt.timedelta(days=1)  # the window's last day: the truth's as-of

# The documented default thresholds (docs/coordination.md), written out here on purpose: the test must not
# take them from the code it tests.
SITUATION_DAYS = {  # situation kinds: a gap once it has lasted this many days
    "referral_unanswered": 14,
    "referral_waitlisted": 30,
    "service_ended_no_next_step": 30,
    "declined_no_alternative": 14,
    "no_active_service": 30,
    "client_not_contacted": 60,
    "moved_without_handover": 14,
    "review_requested": 14,
}
DEADLINE_WITHIN = {"mapping_period_ending": 14, "plan_review_due": 30, "consent_lapsing": 30}
OVERDUE = ("plan_missing_after_mapping", "plan_review_overdue", "screening_due")
STEP_GRACE = 0
ALL_KINDS = (*SITUATION_DAYS, *DEADLINE_WITHIN, *OVERDUE, "plan_step_overdue")

Key = tuple[int, str, int, dt.date]


def expected_gaps(truth: list[dict[str, str]], days: dict[str, int], within: dict[str, int], grace: int
                  ) -> dict[str, set[Key]]:
    out: dict[str, set[Key]] = defaultdict(set)
    for row in truth:
        kind = row["kind"]
        since = dt.date.fromisoformat(row["since"])
        key = (int(row["client_id"]), row["object_type"], int(row["object_id"]), since)
        if kind in days:
            hit = (AS_OF - since).days >= days[kind]
        elif kind in within:
            hit = since <= AS_OF + dt.timedelta(days=within[kind])
        elif kind == "plan_step_overdue":
            hit = (AS_OF - since).days > grace
        else:
            hit = True
        if hit:
            out[kind].add(key)
    return out


def found_alerts() -> dict[str, set[Key]]:
    out: dict[str, set[Key]] = defaultdict(set)
    for rule, client, object_type, object_id, since in Alert.objects.filter(resolved_at__isnull=True).values_list(
        "rule", "client_id", "object_type", "object_id", "since"
    ):
        out[rule].add((client, object_type, object_id, since))
    return out


def scores(expected: set[Key], found: set[Key]) -> tuple[float, float]:
    hits = len(expected & found)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(expected) if expected else 1.0
    return precision, recall


@pytest.fixture(scope="module")
def region(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    truth_dir = tmp_path_factory.mktemp("truth")
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                generate(Options(clients=5000, seed=42, start=START, months=MONTHS, truth_out=truth_dir))
                yield read_csv(truth_dir / "gaps.csv")
                raise Rollback
        except Rollback:
            pass


def check(truth: list[dict[str, str]], days: dict[str, int], within: dict[str, int], grace: int) -> None:
    expected = expected_gaps(truth, days, within, grace)
    found = found_alerts()
    report = []
    for kind in ALL_KINDS:
        precision, recall = scores(expected[kind], found[kind])
        report.append(f"{kind}: expected {len(expected[kind])}, found {len(found[kind])}, "
                      f"precision {precision:.3f}, recall {recall:.3f}")
    print("\n".join(report))
    for kind in ALL_KINDS:
        missed = sorted(expected[kind] - found[kind])[:5]
        false = sorted(found[kind] - expected[kind])[:5]
        assert not missed and not false, f"{kind}: missed {missed}, false alarms {false}"
    assert set(found) <= set(ALL_KINDS)


def test_every_rule_finds_every_true_gap_and_nothing_else(region: Any) -> None:
    kinds = {row["kind"] for row in region}
    assert kinds == set(ALL_KINDS), f"the region must exercise every rule; missing {set(ALL_KINDS) - kinds}"
    sweep(as_of=AS_OF)
    check(region, SITUATION_DAYS, DEADLINE_WITHIN, STEP_GRACE)
    assert all(found_alerts()[kind] for kind in ALL_KINDS), "every rule has alerts in a 5,000-client region"


def test_other_thresholds_move_the_alerts_exactly_as_the_truth_says(region: Any, admin_user: Any) -> None:
    days = dict(SITUATION_DAYS, referral_unanswered=7, client_not_contacted=30, no_active_service=45)
    within = dict(DEADLINE_WITHIN, consent_lapsing=10, plan_review_due=7)
    grace = 14
    rule_setting_set(actor=admin_user, rule="referral_unanswered", params={"days": 7})
    rule_setting_set(actor=admin_user, rule="client_not_contacted", params={"days": 30})
    rule_setting_set(actor=admin_user, rule="no_active_service", params={"days": 45})
    rule_setting_set(actor=admin_user, rule="consent_lapsing", params={"days": 10})
    rule_setting_set(actor=admin_user, rule="plan_review_due", params={"days_before": 7})
    rule_setting_set(actor=admin_user, rule="plan_step_overdue", params={"grace_days": grace})
    sweep(as_of=AS_OF)
    check(region, days, within, grace)
