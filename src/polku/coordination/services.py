"""The sweep that keeps the alerts in step with the client base, and what people do with alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, deny
from polku.assessments.models import Assessment, Instrument
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import InvalidInput
from polku.episodes.models import EpisodeParticipant
from polku.organisations.models import Organisation, OrganisationKind

from . import parallel
from .models import (
    Alert,
    AlertCandidate,
    AlertEvent,
    AlertEventKind,
    ChangedClient,
    ClientVulnerability,
    ClientWake,
    EpisodeCoordinator,
    RuleSetting,
    SweepRun,
    SweepScope,
    SweepState,
    WakeStage,
)
from .rules import (
    CANDIDATE_COLUMNS,
    RULES,
    _years_before,
    array_literal,
    effective_rules,
    validate_rule_settings,
)
from .wake import set_wake, staged_statements, take_staged

KEY = ("rule", "client_id", "object_type", "object_id")

#: An incremental sweep with more clients to evaluate than this turns into a full one. At a million clients a
#: full sweep took 110 s and an incremental one of 128,437 clients 54 s (docs/BENCHMARKS.md; both before the
#: helper connections, which brought them to 69 s and about 0.3 ms a client): the two meet at about a quarter of
#: a million.
INCREMENTAL_AT_MOST = 250_000


@dataclass
class SweepResult:
    run: SweepRun
    seconds: float
    rule_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.run.counts)


def sweep(
    *, as_of: dt.date | None = None, triggered_by: str = "", progress: Callable[[str], None] | None = None,
    full: bool = False,
) -> SweepResult:
    """Evaluate the rules and bring the alerts up to date, in one transaction: new gaps open alerts, gaps that
    are gone resolve theirs, the rest are refreshed.

    On PostgreSQL a sweep is *incremental* when it can be: it evaluates only the clients whose data changed since
    the last sweep (the triggers of ``triggers.py``) and those whose next threshold has come (``ClientWake``);
    everybody else's alerts cannot have changed. A full sweep evaluates everybody: on SQLite, the first time,
    when the rule settings or something every client depends on changed, when ``as_of`` goes back in time, or
    when asked (``full``), and when no full sweep has finished in ``POLKU_SWEEP_FULL_EVERY_DAYS`` days (a safety
    net for changes the triggers cannot see). Both end in the same alerts (tests/coordination/test_incremental.py)."""
    as_of = as_of or timezone.localdate()
    started = time.perf_counter()
    rules = effective_rules()
    timings: dict[str, float] = {}
    say = progress or (lambda _message: None)
    helpers = parallel.can_run(outer_atomic=connection.in_atomic_block)

    def step(name: str, work: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = work()
        timings[name] = time.perf_counter() - t0
        say(f"{name}: {timings[name]:.2f} s")
        return result

    with transaction.atomic():
        _lock()
        now = timezone.now()
        fingerprint = _fingerprint(rules)
        state = _lock_state()
        last_as_of = None if full else _incremental_since(state, as_of, fingerprint)
        incremental = last_as_of is not None
        run = SweepRun.objects.create(as_of=as_of, started_at=now, triggered_by=triggered_by[:100],
                                      incremental=incremental)
        # With helpers the candidates' table is emptied by them, outside this transaction (a lock held here on
        # it would make them wait for the end of the sweep).
        _empty_candidates(candidates=not helpers)
        scope: tuple[int, ...] | None = None
        if incremental:
            scope = step("choose the clients", lambda: _fill_scope(as_of))
            if len(scope) > INCREMENTAL_AT_MOST:  # e.g. months since the last sweep: a full one costs less
                scope, incremental, run.incremental = None, False, False
                run.save(update_fields=["incremental"])
            else:
                run.clients_evaluated = len(scope)
        if not incremental:
            step("forget the recorded changes", _forget_changes)
        enabled = [r for r in rules if r.enabled]
        instruments = dict(
            Instrument.objects.filter(code__in=["work-ability-score", "life-situation"]).values_list("code", "pk")
        )
        # The rules and lookups (the bookkeeping needs them), the heaviest first.
        needed = sorted([*_lookup_statements(as_of, scope, instruments), *(
            parallel.Statement(r.rule.code, *_candidate_insert(r.rule.query(r.context(as_of, scope=scope))))
            for r in enabled)], key=lambda s: -_EXPECTED_COST.get(s.name, 1))
        batch: parallel.Batch | None = None
        try:
            if helpers:
                # On helper connections, with the wake-up days last: computed while this connection does the
                # bookkeeping.
                t0 = time.perf_counter()
                batch = parallel.start(
                    [parallel.Statement("empty", f"TRUNCATE {', '.join(m._meta.db_table for m in WORKING)}", [])],
                    [*needed, *staged_statements(rules, as_of, scope=scope)],
                    snapshot=parallel.export_snapshot(), say=say,
                )
                batch.wait(s.name for s in needed)
                timings["rules on helper connections"] = time.perf_counter() - t0
            else:
                for number, statement in enumerate(needed, start=1):
                    t0 = time.perf_counter()
                    _execute(statement)
                    timings[statement.name] = time.perf_counter() - t0
                    say(f"[{number}/{len(needed)}] {statement.name}: {timings[statement.name]:.2f} s")

            step("analyze the found gaps", lambda: _analyze(AlertCandidate, ClientVulnerability, EpisodeCoordinator))
            resolved = step("resolve the gaps gone", lambda: _resolve_gone(run, now, as_of, scope=scope))
            step("refresh the gaps found again", lambda: _refresh_found(scope))
            opened = step("open the new gaps", lambda: _open_new(run, now, as_of, scope=scope))
            if opened > 1000 and scope is None:  # (a daily sweep's few leave the statistics as they were)
                step("analyze the alerts", lambda: _analyze(Alert))
            if batch is not None:
                waiting = batch
                step("wait for the wake-up days", lambda: waiting.finish())
                timings.update(waiting.timings)
                step("next wake-up days", lambda: take_staged(scope=scope))
            else:
                step("next wake-up days", lambda: set_wake(rules, as_of, scope=scope))
        except BaseException:
            if batch is not None:
                batch.stop()
            raise
        counts = step("count", lambda: dict(
            Alert.objects.filter(resolved_at__isnull=True).order_by().values_list("rule").annotate(n=Count("pk"))
        ))
        step("empty the working tables", _empty_candidates)
        _save_state(as_of, fingerprint)
        run.opened, run.resolved = opened, resolved
        run.counts = {code: counts.get(code, 0) for code in RULES}
        run.open_total = sum(counts.values())
        run.finished_at = timezone.now()
        run.save()
    return SweepResult(run=run, seconds=time.perf_counter() - started, rule_seconds=timings)


def _fingerprint(rules: list[Any]) -> str:
    """What the alerts depend on besides the data: each rule's use, thresholds and severity."""
    described = [[r.rule.code, r.enabled, sorted(r.params.items()), r.severity] for r in rules]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def _lock_state() -> SweepState | None:
    """The incremental sweep's state row, locked until the sweep commits (PostgreSQL). A change to something
    every client depends on, made while the sweep runs, marks the next sweep as a full one through this row: its
    trigger waits for the lock, so the sweep cannot clear the mark after it was set."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {SweepState._meta.db_table} (id, full_needed, rules_fingerprint) "  # noqa: S608
                       "VALUES (1, true, '') ON CONFLICT (id) DO NOTHING")
    return SweepState.objects.select_for_update().get(pk=1)


def _incremental_since(state: SweepState | None, as_of: dt.date, fingerprint: str) -> dt.date | None:
    """The last sweep's day if this one can be incremental, else None."""
    if (state is None or state.full_needed or state.last_as_of is None or as_of < state.last_as_of
            or state.rules_fingerprint != fingerprint):
        return None
    every = int(settings.POLKU.get("SWEEP_FULL_EVERY_DAYS", 7))
    if every > 0 and not SweepRun.objects.filter(
        incremental=False, finished_at__gte=timezone.now() - dt.timedelta(days=every)
    ).exists():
        return None
    return state.last_as_of


def _save_state(as_of: dt.date, fingerprint: str) -> None:
    """The row exists and is locked since ``_lock_state``."""
    if connection.vendor == "postgresql":
        SweepState.objects.filter(pk=1).update(full_needed=False, last_as_of=as_of, rules_fingerprint=fingerprint)


def _forget_changes() -> None:
    """A full sweep takes up every change recorded so far (rows recorded while it runs stay for the next)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ChangedClient._meta.db_table}")  # noqa: S608


def _fill_scope(as_of: dt.date) -> tuple[int, ...]:
    """The clients an incremental sweep evaluates: those whose data changed (the recorded changes are taken in
    the same statement, so a change recorded while the sweep runs waits for the next one) and those whose
    wake-up day has come."""
    scope, changed, wake = SweepScope._meta.db_table, ChangedClient._meta.db_table, ClientWake._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {scope}")
        cursor.execute(
            f"WITH taken AS (DELETE FROM {changed} RETURNING client_id) "  # noqa: S608 - table names from models
            f"INSERT INTO {scope} (client_id, changed) SELECT client_id, bool_or(changed) FROM ("
            f"SELECT client_id, true AS changed FROM taken "
            f"UNION ALL SELECT client_id, false FROM {wake} WHERE next_on <= %s) AS found GROUP BY client_id",
            [as_of],
        )
        cursor.execute(f"ANALYZE {scope}")
        cursor.execute(f"SELECT client_id FROM {scope} ORDER BY client_id")  # noqa: S608
        return tuple(row[0] for row in cursor.fetchall())


def _lock() -> None:
    """One sweep at a time (SQLite serialises writers by itself). On PostgreSQL also switch off JIT compilation
    for the sweep's transaction (its queries are short, and compiling each one cost more than running it) and
    give its hash joins room (``POLKU_SWEEP_WORK_MEM``): with the server's default of 4 MB, a set of a few
    hundred thousand clients no longer fits in a hash table and the planner falls back to comparing every row
    with every other, which took minutes instead of seconds at a million clients."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(4242001)")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.POLKU["SWEEP_WORK_MEM"]])


#: The working tables the helper connections write (emptied by them before they start, and by the sweep).
WORKING = (AlertCandidate, WakeStage, ClientVulnerability, EpisodeCoordinator)


def _empty_candidates(*, candidates: bool = True) -> None:
    """Empty the working tables (TRUNCATE on PostgreSQL: it is transactional there, and instant)."""
    if connection.vendor == "postgresql":
        tables = [SweepScope._meta.db_table]
        if candidates:
            tables += [m._meta.db_table for m in WORKING]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
    elif candidates:
        for model in WORKING:
            model.objects.all().delete()


def _analyze(*models: Any) -> None:
    """Fresh planner statistics for tables the sweep has just filled: without them the planner takes a
    working table for empty and joins it row by row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(m._meta.db_table for m in models)}")


def _execute(statement: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)


def _candidate_insert(rows: Any) -> tuple[str, list[Any]]:
    """The statement that writes a rule's gaps into the working table."""
    sql, params = rows.query.sql_with_params()
    table = AlertCandidate._meta.db_table
    columns = ", ".join(CANDIDATE_COLUMNS)
    aliases = ", ".join(f"c_{c}" for c in CANDIDATE_COLUMNS)
    return f"INSERT INTO {table} ({columns}) SELECT {aliases} FROM ({sql}) AS found", list(params)  # noqa: S608


def _lookup_statements(as_of: dt.date, scope: tuple[int, ...] | None, instruments: dict[str, int]) -> list[Any]:
    """What an alert needs besides its gap, computed once per client and per episode of the clients evaluated
    (everybody in a full sweep), as set-based statements beside the rules:

    - each client's *vulnerability* (0–6): under 25, 55 or over, homeless, a disability, the latest work-ability
      score poor, the latest life-situation mapping high (the latest assessments as of the day);
    - each episode's *coordinator*, who gets its alerts unless the rule names a responsible organisation: the
      responsible person of the participating employment services, else of any participating organisation, the
      earliest to join.

    An alert's episode is one of its client's episodes, or the episode a referral of theirs names (the
    application keeps that the client's own, the database does not), so those are the episodes an incremental
    sweep needs. :func:`_with_lookups` joins both lookups to the gaps found."""
    from polku.clients.models import Client
    from polku.episodes.models import JointServiceEpisode
    from polku.referrals.models import Referral

    client, assessment = Client._meta.db_table, Assessment._meta.db_table
    part, org = EpisodeParticipant._meta.db_table, Organisation._meta.db_table
    episode, referral = JointServiceEpisode._meta.db_table, Referral._meta.db_table
    work_ability, life_situation = instruments.get("work-ability-score", 0), instruments.get("life-situation", 0)
    vulnerability = (
        f"INSERT INTO {ClientVulnerability._meta.db_table} (client_id, vulnerability) "  # noqa: S608 - model names
        "SELECT c.id, (CASE WHEN c.birth_date > %s THEN 1 ELSE 0 END)"
        " + (CASE WHEN c.birth_date <= %s THEN 1 ELSE 0 END)"
        " + (CASE WHEN c.homeless = 'yes' THEN 1 ELSE 0 END) + (CASE WHEN c.disability = 'yes' THEN 1 ELSE 0 END)"
        " + COALESCE(b.poor, 0) + COALESCE(b.high, 0) "
        f"FROM {client} c LEFT JOIN ("
        "SELECT client_id, max(CASE WHEN instrument_id = %s AND band = 'poor' THEN 1 ELSE 0 END) AS poor, "
        "max(CASE WHEN instrument_id = %s AND band = 'high' THEN 1 ELSE 0 END) AS high FROM ("
        "SELECT a.client_id, a.instrument_id, a.band, ROW_NUMBER() OVER (PARTITION BY a.client_id, a.instrument_id "
        f"ORDER BY a.assessed_on DESC, a.id DESC) AS n FROM {assessment} a "
        f"WHERE a.instrument_id IN (%s, %s) AND a.assessed_on <= %s AND {_within('a.client_id', scope)}) latest "
        f"WHERE n = 1 GROUP BY client_id) b ON b.client_id = c.id WHERE {_within('c.id', scope)}"
    )
    coordinator = (
        f"INSERT INTO {EpisodeCoordinator._meta.db_table} (episode_id, organisation_id, person_id) "  # noqa: S608
        "SELECT episode_id, organisation_id, responsible_person_id FROM ("
        "SELECT p.episode_id, p.organisation_id, p.responsible_person_id, ROW_NUMBER() OVER (PARTITION BY "
        "p.episode_id ORDER BY CASE WHEN o.kind = %s THEN 0 ELSE 1 END, p.id) AS n "
        f"FROM {part} p JOIN {org} o ON o.id = p.organisation_id "
        + ("" if scope is None else (
            f"JOIN (SELECT e.id FROM {episode} e WHERE {_within('e.client_id', scope)} "  # noqa: S608
            f"UNION SELECT r.episode_id FROM {referral} r WHERE {_within('r.client_id', scope)} "
            "AND r.episode_id IS NOT NULL) s ON s.id = p.episode_id "))
        + "WHERE p.left_on IS NULL) ranked WHERE n = 1"
    )
    return [
        parallel.Statement("client vulnerability", vulnerability, [
            _years_before(as_of, 25), _years_before(as_of, 55), work_ability, life_situation, work_ability,
            life_situation, as_of]),
        parallel.Statement("episode coordinators", coordinator, [OrganisationKind.EMPLOYMENT_SERVICES]),
    ]


def _with_lookups() -> str:
    """SQL: the gaps found, each with its client's vulnerability and, where the rule named no responsible
    organisation, its episode's coordinator (:func:`_lookup_statements`)."""
    cand = AlertCandidate._meta.db_table
    columns = [f"c.{c}" for c in CANDIDATE_COLUMNS]
    own = "c.responsible_organisation_id"
    columns[CANDIDATE_COLUMNS.index("responsible_organisation_id")] = (
        f"CASE WHEN {own} IS NULL THEN ec.organisation_id ELSE {own} END AS responsible_organisation_id")
    columns[CANDIDATE_COLUMNS.index("responsible_person_id")] = (
        f"CASE WHEN {own} IS NULL THEN ec.person_id ELSE c.responsible_person_id END AS responsible_person_id")
    return (
        f"(SELECT {', '.join(columns)}, COALESCE(v.vulnerability, 0) AS vulnerability FROM {cand} c "  # noqa: S608
        f"LEFT JOIN {EpisodeCoordinator._meta.db_table} ec ON ec.episode_id = c.episode_id "
        f"LEFT JOIN {ClientVulnerability._meta.db_table} v ON v.client_id = c.client_id)"
    )


#: Rough relative cost of the helper statements (the heaviest are started first, so that no connection is
#: left with a long one at the end); measured at a million clients (docs/BENCHMARKS.md).
_EXPECTED_COST: dict[str, float] = {
    "moved_without_handover": 7, "screening_due": 7, "service_ended_no_next_step": 6, "client vulnerability": 5,
    "no_active_service": 4, "plan_step_overdue": 3, "client_not_contacted": 3, "episode coordinators": 3,
}


def _found() -> Exists:
    return Exists(AlertCandidate.objects.filter(**{k: OuterRef(k) for k in KEY}))


def _resolve_gone(run: SweepRun, now: dt.datetime, as_of: dt.date, *, scope: tuple[int, ...] | None = None) -> int:
    alerts = Alert.objects.filter(resolved_at__isnull=True)
    if scope is not None:
        alerts = alerts.filter(client_id__any_of=scope)
    return alerts.exclude(_found()).update(
        resolved_at=now, resolved_as_of=as_of, resolved_run=run
    )


REFRESHED = ("severity", "since", "due_on", "responsible_organisation_id", "responsible_person_id",
             "counterpart_organisation_id", "episode_id", "category", "service_id", "vulnerability")


def _within(column: str, scope: tuple[int, ...] | None) -> str:
    """SQL: ``column`` among the incremental sweep's clients (always true in a full sweep). Lets the comparisons
    with the open alerts read only the alerts of the clients evaluated, by index, not all of them."""
    return "TRUE" if scope is None else f"{column} = ANY({array_literal(scope)})"


def _refresh_found(scope: tuple[int, ...] | None = None) -> None:
    """Alerts found again keep their history; only what changed (severity, dates, who is responsible, the
    client's vulnerability) is written, so a quiet day writes almost nothing."""
    alert = Alert._meta.db_table
    match = " AND ".join(f"c.{k} = {alert}.{k}" for k in KEY) + f" AND {_within(f'{alert}.client_id', scope)}"
    changed = " OR ".join(f"{alert}.{k} IS DISTINCT FROM c.{k}" for k in REFRESHED)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {alert} SET {', '.join(f'{k} = c.{k}' for k in REFRESHED)} "  # noqa: S608
            f"FROM {_with_lookups()} AS c WHERE {alert}.resolved_at IS NULL AND {match} AND ({changed})"
        )


def _open_new(run: SweepRun, now: dt.datetime, as_of: dt.date, *, scope: tuple[int, ...] | None = None) -> int:
    """Open an alert for every gap found that has no open alert. In a full sweep on PostgreSQL the comparison
    must not be a nested loop over the alerts: the table grows while the statement inserts, and when it was
    (nearly) empty the planner would rescan it once per gap, which at a million clients never finished. An
    incremental sweep's few gaps are looked up one by one in the open alerts' unique index instead."""
    alert, found = Alert._meta.db_table, _with_lookups()
    copied = [c for c in CANDIDATE_COLUMNS if c != "rule"]
    match = " AND ".join(f"a.{k} = c.{k}" for k in KEY) + f" AND {_within('a.client_id', scope)}"
    with connection.cursor() as cursor:
        no_nested_loops = connection.vendor == "postgresql" and scope is None
        if no_nested_loops:
            cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
        cursor.execute(
            f"INSERT INTO {alert} (rule, {', '.join(copied)}, vulnerability, opened_run_id, opened_at, "  # noqa: S608
            f"opened_as_of) SELECT c.rule, {', '.join('c.' + c for c in copied)}, c.vulnerability, %s, %s, %s "
            f"FROM {found} AS c WHERE NOT EXISTS (SELECT 1 FROM {alert} AS a WHERE a.resolved_at IS NULL AND {match})",
            [run.pk, now, as_of],
        )
        opened = max(cursor.rowcount, 0)
        if no_nested_loops:
            cursor.execute("SELECT set_config('enable_nestloop', 'on', true)")
        return opened


# -- People and alerts ----------------------------------------------------------------------------------------


def _visible_alert(actor: Any, alert_id: int, purpose: Any) -> Alert:
    """The alert if it is in the actor's view (``selectors.alerts_visible_to``); otherwise a refusal, logged
    (an alert that does not exist is refused as "not found", like a client one may not see)."""
    from .selectors import alert_check

    return alert_check(actor=actor, alert_id=alert_id, action=AccessAction.UPDATE, purpose=purpose)


@client_data_service
def alert_acknowledge(*, actor: Any, alert_id: int, note: str = "") -> Alert:
    """Mark an alert as seen and taken up (the first acknowledgement names who took it up)."""
    alert = _visible_alert(actor, alert_id, _("Acknowledge a coordination alert"))
    authorize(actor, alert.client_id, DataCategory.BASIC, AccessAction.UPDATE,
              purpose=_("Acknowledge a coordination alert"), obj=alert)
    if not alert.is_open:
        raise deny(actor, alert.client_id, DataCategory.BASIC, AccessAction.UPDATE,
                   purpose=_("Acknowledge a coordination alert"), code="alert_resolved", obj=alert,
                   message=_("This alert is already resolved."))
    now = timezone.now()
    updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor
    )
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.ACKNOWLEDGED if updated else AlertEventKind.COMMENT,
                              at=now, by=actor, note=note.strip()[:2000])
    alert.refresh_from_db()
    return alert


@client_data_service
def alert_comment(*, actor: Any, alert_id: int, note: str) -> AlertEvent:
    if not note.strip():
        raise InvalidInput(_("Write a comment."), errors={"note": [str(_("This field is required."))]})
    alert = _visible_alert(actor, alert_id, _("Comment on a coordination alert"))
    authorize(actor, alert.client_id, DataCategory.BASIC, AccessAction.UPDATE,
              purpose=_("Comment on a coordination alert"), obj=alert)
    return AlertEvent.objects.create(alert=alert, kind=AlertEventKind.COMMENT, by=actor, note=note.strip()[:2000])


@client_data_service
def alert_resolve(*, actor: Any, alert_id: int, note: str) -> Alert:
    """Resolve an open alert by hand (the person has dealt with it), with a note saying how. The sweep does not
    reopen this alert, but if the rule still finds the gap the next sweep opens a new alert for it."""
    if not note.strip():
        raise InvalidInput(_("Say how the alert was dealt with."), errors={"note": [str(_("This field is required."))]})
    purpose = _("Resolve a coordination alert")
    alert = _visible_alert(actor, alert_id, purpose)
    authorize(actor, alert.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=alert)
    now = timezone.now()
    updated = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
        resolved_at=now, resolved_as_of=timezone.localdate(now), resolved_by=actor
    )
    if not updated:
        raise deny(actor, alert.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose,
                   code="alert_resolved", obj=alert, message=_("This alert is already resolved."))
    AlertEvent.objects.create(alert=alert, kind=AlertEventKind.RESOLVED, at=now, by=actor, note=note.strip()[:2000])
    # If the rule still finds the gap, the next sweep opens a new alert: an incremental one must look at the client.
    ChangedClient.objects.bulk_create([ChangedClient(client_id=alert.client_id)], ignore_conflicts=True)
    alert.refresh_from_db()
    return alert


# -- Rule settings --------------------------------------------------------------------------------------------


def rule_setting_set(
    *, actor: Any, rule: str, params: dict[str, Any], severity: Any = None, enabled: bool | None = None
) -> RuleSetting:
    """Change a rule's thresholds for this region. Validates everything before saving anything."""
    clean = validate_rule_settings(rule, params, severity)
    with transaction.atomic():
        setting, _created = RuleSetting.objects.select_for_update().get_or_create(rule=rule)
        setting.params = {**setting.params, **clean}
        if severity is not None:
            setting.severity = int(severity)
        if enabled is not None:
            setting.enabled = enabled
        setting.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        setting.save()
    return setting


def rule_setting_reset(*, rule: str) -> None:
    validate_rule_settings(rule, {})
    RuleSetting.objects.filter(rule=rule).delete()
