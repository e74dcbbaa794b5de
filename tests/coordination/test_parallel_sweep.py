"""The sweep on helper connections (PostgreSQL, ``coordination/parallel.py``) ends in exactly the alerts and
wake-up days of the same sweep run on the sweep's own connection alone; a helper that fails leaves the previous
alerts intact.

The helpers see only committed data, so these tests commit their region (``transaction=True``); the oracle is a
sweep of the same day inside a transaction (where the helpers cannot be used), rolled back afterwards."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.db import connection, transaction

from polku.coordination import parallel
from polku.coordination.models import Alert, AlertCandidate, ClientWake, SweepRun, WakeStage
from polku.coordination.services import sweep
from polku.referrals.models import Referral, ReferralStatus
from polku.synth.generate import Options, generate
from tests.synth.support import START, Rollback

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MONTHS = 24
AS_OF = START + dt.timedelta(days=MONTHS * 30)
COLUMNS = ("rule", "client_id", "object_type", "object_id", "episode_id", "since", "due_on", "severity",
           "vulnerability", "responsible_organisation_id", "responsible_person_id", "counterpart_organisation_id",
           "service_id", "category")


@pytest.fixture(autouse=True)
def postgresql_with_helpers(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("helper connections are used on PostgreSQL only")
    settings.POLKU = {**settings.POLKU, "SWEEP_CONNECTIONS": 2}


def state() -> tuple[set[tuple[Any, ...]], set[tuple[int, dt.date]]]:
    return (set(Alert.objects.filter(resolved_at__isnull=True).values_list(*COLUMNS)),
            set(ClientWake.objects.values_list("client_id", "next_on")))


def alone(as_of: dt.date, *, full: bool) -> tuple[Any, tuple[set[Any], set[Any]]]:
    """The same sweep on the sweep's own connection only (inside a transaction), rolled back afterwards."""
    try:
        with transaction.atomic():
            assert not parallel.can_run(outer_atomic=connection.in_atomic_block)
            result = sweep(as_of=as_of, full=full)
            after = state()
            raise Rollback
    except Rollback:
        pass
    assert "rules on helper connections" not in result.rule_seconds
    return result, after


def test_helpers_give_the_same_alerts_and_wake_up_days() -> None:
    generate(Options(clients=400, seed=5, start=START, months=MONTHS))
    day = AS_OF - dt.timedelta(days=20)
    oracle, expected = alone(day, full=True)
    result = sweep(as_of=day, full=True)
    assert "rules on helper connections" in result.rule_seconds, "the helpers were not used"
    assert result.run.opened == oracle.run.opened > 50
    assert state() == expected
    assert not AlertCandidate.objects.exists() and not WakeStage.objects.exists()

    # Days pass and referrals are answered: each incremental sweep on helpers matches the one run alone.
    Referral.objects.filter(pk__in=Referral.objects.filter(status=ReferralStatus.SENT).values("pk")[:20]).update(
        status=ReferralStatus.ACCEPTED)
    moved = 0
    for step in (1, 3, 7, 9):
        day += dt.timedelta(days=step)
        oracle, expected = alone(day, full=False)
        result = sweep(as_of=day)
        assert result.run.incremental and oracle.run.incremental
        assert result.run.clients_evaluated == oracle.run.clients_evaluated
        assert (result.run.opened, result.run.resolved) == (oracle.run.opened, oracle.run.resolved)
        assert state() == expected
        moved += result.run.opened + result.run.resolved
    assert moved > 5, "the days passed must open and resolve alerts, or the comparison proves nothing"


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_failing_helper_leaves_the_previous_alerts(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A statement failing while the sweep waits for the rules, or while it does its bookkeeping beside the
    last helpers: the sweep fails and nothing of it stays."""
    generate(Options(clients=150, seed=6, start=START, months=MONTHS))
    sweep(as_of=AS_OF - dt.timedelta(days=30), full=True)
    before, runs = state(), SweepRun.objects.count()
    real = parallel.start

    def broken(first: Any, statements: Any, **kwargs: Any) -> Any:
        statements = list(statements)
        statements.insert(0 if where == "first" else len(statements), parallel.Statement("broken", "SELECT 1 / 0", []))
        return real(first, statements, **kwargs)

    monkeypatch.setattr(parallel, "start", broken)
    with pytest.raises(Exception, match="division by zero"):
        sweep(as_of=AS_OF, full=True)
    assert state() == before
    assert SweepRun.objects.count() == runs


def test_a_failure_cancels_the_statements_still_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep does not wait for a long helper statement once another has failed: it is cancelled."""
    generate(Options(clients=60, seed=7, start=START, months=MONTHS))
    real = parallel.start

    def slow_and_broken(first: Any, statements: Any, **kwargs: Any) -> Any:
        slow = parallel.Statement("slow", "SELECT pg_sleep(60)", [])
        broken = parallel.Statement("broken", "SELECT pg_sleep(0.5), 1 / 0", [])
        return real(first, [slow, broken, *statements], **kwargs)

    monkeypatch.setattr(parallel, "start", slow_and_broken)
    started = time.monotonic()
    with pytest.raises(Exception, match="division by zero"):
        sweep(as_of=AS_OF, full=True)
    assert time.monotonic() - started < 30, "the 60-second statement was waited for, not cancelled"
    assert not Alert.objects.exists()
