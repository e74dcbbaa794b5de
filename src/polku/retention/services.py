"""The retention job: find what has expired under each rule and anonymise or delete it, in batches of bulk
updates and deletes (never a loop over clients), and log the run (:class:`RetentionRun`).

Anonymising a client replaces every direct identifier (names, identity code, phone, email, address, the portal
account's name and email) and every free-text field of their record by an empty value or a placeholder, and
keeps the rest: dates, statuses, categories, scores. The pseudonymised statistics (the indicator facts, the
analysis table) are therefore computed as before; only the analysis table's pseudonym of that person changes,
since it is a keyed hash of the identity code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat, TruncYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.assessments.models import Assessment, Disagreement, JointAssessment, JointAssessmentSection
from polku.clients.models import Client, ClientContact, Consent
from polku.coordination.models import Alert, AlertEvent
from polku.core.errors import DomainError
from polku.episodes.models import JointServiceEpisode
from polku.impact.models import EstimateOverride
from polku.partners.models import JobPreferences
from polku.plans.models import Goal, PlanReview, PlanVersion, Step
from polku.portal.models import ClientMessage
from polku.referrals.models import Referral, ReferralTransition

from . import selectors
from .models import RetentionRuleResult, RetentionRun
from .rules import ANONYMISE, ANONYMISED_PREFIX, DELETE, PLACEHOLDER, REPORT, Rule, effective_rules

#: Rows per transaction.
BATCH = 1000

ProgressFn = Callable[[str, int, int], None]

#: Direct identifiers of the client (replaced when anonymising).
CLIENT_IDENTIFIERS = ("personal_identity_code", "first_name", "last_name", "phone", "email", "address", "user")

#: Every free-text field of a client's record: (model, path from the model to the client, values written over
#: the fields). A test (tests/retention/test_anonymise.py) fails when a model tied to a client gains a text
#: field that is not here.
FREE_TEXT: tuple[tuple[type[models.Model], str, dict[str, str]], ...] = (
    (ClientContact, "client", {"summary": ""}),
    (ClientMessage, "client", {"body": ""}),
    (Consent, "client", {"purpose": PLACEHOLDER, "revoke_reason": ""}),
    (JointServiceEpisode, "client", {"end_notes": ""}),
    (PlanVersion, "plan__episode__client",
     {"employment_goal": PLACEHOLDER, "rehabilitative_work_goal": "", "follow_up": "", "change_summary": ""}),
    (Goal, "plan_version__plan__episode__client", {"title": PLACEHOLDER, "description": ""}),
    (Step, "goal__plan_version__plan__episode__client", {"description": PLACEHOLDER}),
    (PlanReview, "plan__episode__client", {"notes": ""}),
    (Referral, "client", {"reason_for_referral": "", "status_reason": ""}),
    (ReferralTransition, "referral__client", {"reason": ""}),
    (Assessment, "client", {"notes": ""}),
    (JointAssessment, "episode__client", {"client_view": "", "summary": ""}),
    (JointAssessmentSection, "joint_assessment__episode__client", {"findings": PLACEHOLDER, "service_needs": ""}),
    (Disagreement, "joint_assessment__episode__client", {"topic": PLACEHOLDER, "positions": PLACEHOLDER,
                                                          "resolution": ""}),
    (JobPreferences, "client", {"notes": ""}),
    (EstimateOverride, "client", {"reason": PLACEHOLDER}),
    (AlertEvent, "alert__client", {"note": ""}),
)


@dataclass
class RuleOutcome:
    rule: Rule
    cutoff: dt.date
    expired: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(self.rows.values())

    def add(self, label: str, count: int) -> None:
        if count:
            self.rows[label] = self.rows.get(label, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.code, "title": str(self.rule.title), "action": self.rule.action,
                "years": self.rule.years, "cutoff": self.cutoff.isoformat(), "expired": self.expired,
                "changed": self.changed, "rows": dict(sorted(self.rows.items()))}


@dataclass
class RetentionResult:
    as_of: dt.date
    dry_run: bool
    outcomes: list[RuleOutcome]
    seconds: float
    run: RetentionRun | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run, "run": self.run.pk if self.run else None,
                "seconds": round(self.seconds, 3), "rules": [o.as_dict() for o in self.outcomes]}


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _batches(ids: Sequence[int], size: int) -> list[Sequence[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _anonymised_client_values(coarsen_birth_date: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "personal_identity_code": Concat(Value(ANONYMISED_PREFIX), Cast("id", CharField()),
                                         output_field=CharField()),
        "first_name": "", "last_name": PLACEHOLDER, "phone": "", "email": "", "address": "", "user": None,
        "updated_at": timezone.now(), "version": F("version") + 1,
    }
    if coarsen_birth_date:
        values["birth_date"] = TruncYear("birth_date")
    return values


def _holding_text(model: type[models.Model], path: str, values: dict[str, str], clients: Any) -> Any:
    """The model's rows of these clients that hold some text still to be replaced (rows already empty are not
    rewritten: fewer writes, and the counts say how many rows really held text)."""
    return model._default_manager.filter(**{f"{path}__in": clients}).exclude(Q(**values))


def _portal_accounts(clients: Any) -> Any:
    """The clients' own portal accounts (never a staff member's or an administrator's account)."""
    return get_user_model().objects.filter(client__in=clients, staff__isnull=True, is_staff=False,
                                           is_superuser=False)


def empty_portal_accounts(client_ids: Sequence[int]) -> int:
    """The clients' portal accounts lose their name, email and password and can no longer sign in; the user name
    becomes ``anonymised-ID`` (it may have been chosen by the person)."""
    return _portal_accounts(client_ids).update(
        username=Concat(Value("anonymised-"), Cast("id", CharField()), output_field=CharField()),
        first_name="", last_name="", email="", is_active=False, password=make_password(None))


def anonymise_clients(client_ids: Sequence[int], *, coarsen_birth_date: bool = False) -> dict[str, int]:
    """Anonymise these clients' records in one transaction (bulk updates); returns rows changed by table."""
    rows: dict[str, int] = {}
    with transaction.atomic():
        for model, path, values in FREE_TEXT:
            rows[_label(model)] = _holding_text(model, path, values, client_ids).update(**values)
        user_model = get_user_model()
        rows[_label(user_model)] = empty_portal_accounts(client_ids)
        rows[_label(Client)] = Client.objects.filter(pk__in=client_ids).update(
            **_anonymised_client_values(coarsen_birth_date))
    return {label: n for label, n in rows.items() if n}


def delete_clients(client_ids: Sequence[int]) -> dict[str, int]:
    """Delete these clients and everything of theirs that cascades (not the access log); the portal accounts are
    emptied and deactivated. Returns rows deleted (or changed) by table."""
    rows: dict[str, int] = {}
    with transaction.atomic():
        user_model = get_user_model()
        emptied = empty_portal_accounts(client_ids)
        # A review's resulting version is protected; the reviews go first (they are deleted with the plan anyway).
        _, first = PlanReview.objects.filter(plan__episode__client__in=client_ids).delete()
        _, rest = Client.objects.filter(pk__in=client_ids).delete()
        for counts in (first, rest):
            for label, n in counts.items():
                rows[label.lower()] = rows.get(label.lower(), 0) + n
        if emptied:
            rows[_label(user_model)] = emptied
    return {label: n for label, n in rows.items() if n}


def _would_anonymise(clients: Any) -> dict[str, int]:
    rows = {_label(model): _holding_text(model, path, values, clients).count() for model, path, values in FREE_TEXT}
    rows[_label(get_user_model())] = _portal_accounts(clients).count()
    rows[_label(Client)] = clients.count()
    return {label: n for label, n in rows.items() if n}


def _client_record(rule: Rule, as_of: dt.date, outcome: RuleOutcome, dry_run: bool, batch: int,
                   progress: ProgressFn | None) -> None:
    expired = selectors.expired_clients(rule, as_of)
    if dry_run:
        outcome.expired = expired.count()
        if rule.action == ANONYMISE:
            for label, n in _would_anonymise(expired.values("pk")).items():
                outcome.add(label, n)
        else:
            outcome.add(_label(Client), outcome.expired)
        return
    ids = list(expired.values_list("pk", flat=True).order_by("pk"))  # the one query that finds them
    outcome.expired = len(ids)
    done = 0
    for chunk in _batches(ids, batch):
        if rule.action == ANONYMISE:
            changed = anonymise_clients(chunk, coarsen_birth_date=rule.coarsen_birth_date)
        else:
            changed = delete_clients(chunk)
        for label, n in changed.items():
            outcome.add(label, n)
        done += len(chunk)
        if progress:
            progress(rule.code, done, len(ids))


def _resolved_alerts(rule: Rule, as_of: dt.date, outcome: RuleOutcome, dry_run: bool, batch: int,
                     progress: ProgressFn | None) -> None:
    expired = selectors.expired_alerts(rule, as_of)
    if dry_run:
        outcome.expired = expired.count()
        outcome.add(_label(Alert), outcome.expired)
        outcome.add(_label(AlertEvent), AlertEvent.objects.filter(alert__in=expired.values("pk")).count())
        return
    ids = list(expired.values_list("pk", flat=True).order_by("pk"))
    outcome.expired = len(ids)
    for i, chunk in enumerate(_batches(ids, batch)):
        with transaction.atomic():
            _, counts = Alert.objects.filter(pk__in=chunk).delete()
        for label, n in counts.items():
            outcome.add(label.lower(), n)
        if progress:
            progress(rule.code, min((i + 1) * batch, len(ids)), len(ids))


def prune_access_log(rule: Rule, as_of: dt.date, *, dry_run: bool = True) -> int:
    """HOOK for the access log's own retention: the number of entries older than the rule's cut-off.

    It deletes nothing. The access log is append-only with a hash chain (polku.audit); removing its oldest
    entries must be done by polku.audit itself, writing a ``ChainCheckpoint`` in the same transaction, so that
    ``polku audit verify`` still verifies the rest. Until that exists this hook only counts what is due, and the
    retention run logs the count."""
    return selectors.expired_access_log(rule, as_of).count()


def _access_log(rule: Rule, as_of: dt.date, outcome: RuleOutcome, dry_run: bool, batch: int,
                progress: ProgressFn | None) -> None:
    outcome.expired = prune_access_log(rule, as_of, dry_run=dry_run)


HANDLERS: dict[str, Callable[[Rule, dt.date, RuleOutcome, bool, int, ProgressFn | None], None]] = {
    "client_record": _client_record,
    "resolved_alert": _resolved_alerts,
    "access_log": _access_log,
}


def run_retention(as_of: dt.date | None = None, *, dry_run: bool = False, triggered_by: str = "",
                  user: Any = None, rules: dict[str, Rule] | None = None, batch: int = BATCH,
                  progress: ProgressFn | None = None) -> RetentionResult:
    """Apply every enabled retention rule as of ``as_of`` (default today). ``dry_run`` counts what would be
    done and writes nothing, not even the run's log."""
    started = time.monotonic()
    as_of = as_of or timezone.localdate()
    if as_of > timezone.localdate() and not dry_run:  # a dry run may preview what will have expired by then
        raise DomainError(_("Only a dry run may count from a day in the future (%(day)s)."),
                          params={"day": as_of.isoformat()})
    rules = effective_rules() if rules is None else rules
    run = None
    if not dry_run:
        run = RetentionRun.objects.create(as_of=as_of, triggered_by=triggered_by[:100],
                                          user=user if getattr(user, "pk", None) else None)
    outcomes = []
    for rule in rules.values():
        if not rule.enabled:
            continue
        outcome = RuleOutcome(rule, rule.cutoff(as_of))
        HANDLERS[rule.code](rule, as_of, outcome, dry_run, batch, progress)
        outcomes.append(outcome)
        if run is not None:
            RetentionRuleResult.objects.create(
                run=run, rule=rule.code, action=rule.action,
                years=rule.years, cutoff=outcome.cutoff, expired=outcome.expired, changed=outcome.changed,
                rows=dict(sorted(outcome.rows.items())))
    seconds = time.monotonic() - started
    if run is not None:
        run.finished_at = timezone.now()
        run.expired = sum(o.expired for o in outcomes if o.rule.action != REPORT)
        run.changed = sum(o.changed for o in outcomes)
        run.seconds = seconds
        run.save(update_fields=["finished_at", "expired", "changed", "seconds"])
    return RetentionResult(as_of, dry_run, outcomes, seconds, run)


__all__ = ["ANONYMISE", "DELETE", "REPORT", "anonymise_clients", "delete_clients", "prune_access_log",
           "run_retention"]
