"""Concurrent updates to the same plan, referral and consent from many workers at once, on PostgreSQL (issue 11,
"Concurrency and faults"): no lost update and no illegal state.

Each test starts several threads (each with its own database connection and transaction, as separate web workers
would have) that act on the same record in random order from a seeded generator, then checks invariants that hold
only if every write either won cleanly or was refused without writing:

* plan: every saved version has a distinct number, numbered 1..N without gaps, exactly one per successful save,
  and each success was based on the version it replaced (optimistic concurrency);
* referral: the transition rows form one path through the state machine (each starts where the previous ended,
  every move allowed, by the right side), ending in the referral's status, with its version counting the moves;
* consent: revoked exactly once however many revoke it at the same moment; every recorded consent is there.

The number of workers and rounds is kept small enough for CI (a few seconds); ``POLKU_STRESS_ROUNDS`` raises it for
a longer run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from polku.clients.models import Consent
from polku.clients.services import ConsentGrant, consent_record, consent_revoke
from polku.core.errors import DomainError
from polku.plans.models import GoalArea, Plan, PlanVersion
from polku.plans.services import GoalInput, StepInput, plan_add_version
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition
from polku.referrals.services import referral_create, referral_transition
from tests.referrals.test_state_machine import ALLOWED

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WORKERS = 8
ROUNDS = int(os.environ.get("POLKU_STRESS_ROUNDS", "6"))
S = ReferralStatus
# The referral state machine written out independently of the code (the state-machine tests' own table).


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are tested on PostgreSQL (row locks); SQLite serialises writers")


def run_workers(work: Callable[[int, random.Random], None], workers: int = WORKERS) -> list[BaseException]:
    """Run ``work(index, rng)`` in ``workers`` threads released together; return what they raised."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def main(index: int) -> None:
        rng = random.Random(1000 + index)
        try:
            barrier.wait()
            work(index, rng)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=main, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _goals(joint: Any, title: str) -> list[GoalInput]:
    return [GoalInput(area=GoalArea.EMPLOYMENT, title=title, steps=[
        StepInput(description="Update CV", owned_by_client=True),
        StepInput(description="Debt advice", owner_organisation_id=joint.social.pk)])]


def test_plan__many_workers_saving__no_lost_update(joint: Any) -> None:
    plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                     employment_goal="Work", goals=_goals(joint, "start"))
    saved: list[tuple[int, str]] = []  # (the version the save was based on, its title)
    conflicts = Counter[int]()
    lock = threading.Lock()

    def work(index: int, rng: random.Random) -> None:
        actor = joint.coordinator if index % 2 else joint.social_worker
        for round_ in range(ROUNDS):
            seen = Plan.objects.get(episode=joint.episode).current_version
            title = f"worker {index} round {round_}"
            try:
                plan_add_version(actor=actor, episode_id=joint.episode.pk, expected_version=seen,
                                 employment_goal=f"Work {title}", goals=_goals(joint, title))
            except DomainError:
                with lock:
                    conflicts[index] += 1
            else:
                with lock:
                    saved.append((seen, title))

    errors = run_workers(work)
    assert not errors, errors
    versions = list(PlanVersion.objects.filter(plan__episode=joint.episode).order_by("number")
                    .values_list("number", "employment_goal"))
    numbers = [n for n, _goal in versions]
    assert numbers == list(range(1, len(versions) + 1))  # no gap, no duplicate
    assert len(versions) == 1 + len(saved)  # every success is there, every refusal wrote nothing
    assert len(saved) + sum(conflicts.values()) == WORKERS * ROUNDS
    # Each success replaced exactly the version it was based on: no two saves on the same base.
    bases = [base for base, _title in saved]
    assert len(set(bases)) == len(bases)
    by_number = dict(versions)
    for base, title in saved:
        assert by_number[base + 1] == f"Work {title}"
    assert Plan.objects.get(episode=joint.episode).current_version == len(versions)


def test_referral__senders_and_receivers_at_once__one_legal_path(joint: Any) -> None:
    referrals = []
    for _ in range(4):
        referral = referral_create(actor=joint.coordinator, client_id=joint.client.pk,
                                   service_id=joint.service.pk, reason_for_referral="Work trial")
        referral = referral_transition(actor=joint.coordinator, referral_id=referral.pk, to_status=S.SENT)
        referrals.append(referral.pk)
    targets = [S.RECEIVED, S.ACCEPTED, S.WAITLISTED, S.DECLINED, S.STARTED, S.COMPLETED, S.INTERRUPTED,
               S.CANCELLED]

    def work(index: int, rng: random.Random) -> None:
        actor = joint.coordinator if index % 2 else joint.provider_worker
        for _ in range(ROUNDS * 2):
            referral_id = rng.choice(referrals)
            target = rng.choice(targets)
            # Half the workers send the version they read (as the UI does), half send none (the API allows it).
            version = Referral.objects.get(pk=referral_id).version if index % 4 < 2 else None
            with contextlib.suppress(DomainError):  # refused: wrong side, not allowed now, or stale
                referral_transition(actor=actor, referral_id=referral_id, to_status=target, reason="because",
                                    expected_version=version)

    errors = run_workers(work)
    assert not errors, errors
    for referral in Referral.objects.filter(pk__in=referrals):
        moves = list(ReferralTransition.objects.filter(referral=referral).order_by("pk")
                     .values_list("from_status", "to_status", "by_id"))
        assert moves[0][:2] == ("", S.DRAFT)
        for (_a, previous_to, _by), (start, end, by) in itertools.pairwise(moves):
            assert start == previous_to, moves  # each move starts where the last one ended
            assert (start, end) in ALLOWED, moves
            side = ALLOWED[(start, end)]
            expected_actor = joint.coordinator if side == "sender" else joint.provider_worker
            assert by == expected_actor.pk, moves
        assert referral.status == moves[-1][1]
        assert referral.version == len(moves)  # version 1 at creation, one more per move


def test_consent__revoked_at_once_by_many__exactly_once(joint: Any) -> None:
    grant = ConsentGrant(organisation_id=joint.provider.pk, category="rehabilitation", purpose="Work trial")
    consents = [consent_record(actor=joint.coordinator, client_id=joint.client.pk, grant=grant).pk
                for _ in range(3)]
    revoked = Counter[int]()
    recorded: list[int] = []
    lock = threading.Lock()

    def work(index: int, rng: random.Random) -> None:
        actor = joint.coordinator if index % 2 else joint.social_worker
        for consent_id in rng.sample(consents, len(consents)):
            try:
                consent_revoke(actor=actor, consent_id=consent_id, reason=f"worker {index}")
            except DomainError:
                pass
            else:
                with lock:
                    revoked[consent_id] += 1
        if index % 3 == 0:  # some record a new consent meanwhile
            new = consent_record(actor=actor, client_id=joint.client.pk, grant=grant)
            with lock:
                recorded.append(new.pk)

    errors = run_workers(work)
    assert not errors, errors
    assert all(revoked[pk] == 1 for pk in consents), revoked  # each revoked once, by exactly one worker
    for consent in Consent.objects.filter(pk__in=consents):
        assert consent.revoked_at is not None and consent.revoke_reason.startswith("worker ")
    assert set(recorded) <= set(Consent.objects.filter(revoked_at__isnull=True).values_list("pk", flat=True))
