# ruff: noqa: S608 - the SQL here is built from fixed table and column names and whole numbers, never from input
"""Each client's wake-up day: when the passage of time alone could change their alerts (incremental sweep).

See docs/coordination.md, "Incremental sweeps". ``services.sweep`` calls :func:`set_wake` for the clients it
evaluated; an incremental sweep later evaluates a client again on that day, or earlier if their data changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import ClientWake, WakeStage
from .rules import array_literal


def _wake_queries(params: dict[str, dict[str, int]], tz: str, instruments: list[int], as_of: dt.date
                  ) -> list[tuple[str, list[Any]]]:
    """Where each rule compares a client's dates with *as-of*, the days on which that comparison can flip.

    Each entry is one query yielding (client, day) rows, with ``{scope}`` where the incremental sweep narrows
    it to its clients. A client's wake-up day is the first of these days after *as-of*. The days may include
    some on which nothing flips (waking early costs one evaluation, and the next wake-up day is found again);
    they must include every day on which something does. Only what can flip is listed: the latest contact,
    not every contact; referrals in the statuses a rule looks at. Keep in step with ``rules.py`` (each rule's
    comparisons with *as-of*) and the vulnerability of ``services._lookup_statements``;
    tests/coordination/test_incremental.py checks it."""

    def local(column: str) -> str:
        return f"({column} AT TIME ZONE '{tz}')::date"

    def p(rule: str, key: str) -> int:
        return int(params[rule][key])

    tomorrow = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min))
    screening = params["screening_due"]
    months = {screening["unemployed_months_under_25"], screening["unemployed_months_25_plus"]}
    no_active, reassess = p("no_active_service", "days"), p("screening_due", "reassess_after_days")
    consent_days = p("consent_lapsing", "days")
    episode = "JOIN episodes_jointserviceepisode e ON e.id = {}"
    # Rules about people in the joint service (and screening, about people outside it) can only flip while the
    # client is (not) in it; a change of that is a write, which brings the client into the next sweep anyway.
    in_service = ("EXISTS (SELECT 1 FROM episodes_jointserviceepisode o WHERE o.client_id = {} "
                  "AND o.status IN ('mapping', 'active'))")
    # As a filter of the rows read: a set of the sweep's clients in the joint service, hashed once (a look-up
    # per row, or a merge with every open episode in the region, cost about a third more at a million clients).
    in_service_set = ("{} IN (SELECT o.client_id FROM episodes_jointserviceepisode o "
                      "WHERE o.status IN ('mapping', 'active') AND o.client_id {{scope}})")
    plan = "JOIN plans_plan p ON p.id = {} " + episode.format("p.episode_id")
    open_episode = "e.status IN ('mapping', 'active')"

    def lateral(source: str, client: str, days: list[str], where: str = "TRUE") -> str:
        values = ", ".join(f"({d})" for d in days)
        return (f"SELECT {client} AS client_id, d.day FROM {source} "
                f"CROSS JOIN LATERAL (VALUES {values}) AS d(day) WHERE {where} AND {client} {{scope}}")

    return [
        # Age: screening's 25-year line and vulnerability's under 25 and 55 or over (29 February: +1 day).
        (lateral("clients_client x", "x.id", [
            *(f"(x.birth_date + interval '{years} years')::date" for years in (25, 55)),
            *(f"CASE WHEN extract(month FROM x.birth_date) = 2 AND extract(day FROM x.birth_date) = 29 "
              f"THEN (x.birth_date + interval '{years} years')::date + 1 END" for years in (25, 55)),
        ]), []),
        # Employment periods begin and end; unemployment reaches a screening threshold (month ends: +1 day).
        (lateral("clients_employmentstatusperiod x", "x.client_id", [
            "x.start_date", "x.end_date + 1",
            # the months run out for screening (only outside the joint service; a month end: one day later)
            *(f"CASE WHEN x.status = 'unemployed' AND NOT {in_service.format('x.client_id')} THEN "
              f"(x.start_date + interval '{m} months')::date + "
              f"(CASE WHEN extract(day FROM x.start_date) > 28 THEN {extra} ELSE 0 END) END"
              for m in sorted(months) for extra in (0, 1)),
        ], "(x.end_date IS NULL OR x.end_date >= %s)"), [as_of]),
        # Labour market subsidy paid from a later day on.
        (lateral("clients_benefitperiod x", "x.client_id", ["x.start_date"],
                 "x.benefit = 'labour_market_subsidy' AND x.start_date > %s"), [as_of]),
        # The latest assessment of each kind grows too old for screening; a later one starts to count.
        # (Here the set of the sweep's clients in the joint service, hashed once: a look-up per row cost twice as
        # much at a million clients.)
        ("SELECT client_id, day FROM (SELECT x.client_id, CASE WHEN x.client_id NOT IN (SELECT o.client_id FROM "
         "episodes_jointserviceepisode o WHERE o.status IN ('mapping', 'active') AND o.client_id {scope}) "
         "THEN max(x.assessed_on) FILTER (WHERE x.assessed_on <= %s) "
         f"+ {p('screening_due', 'assessment_max_age_days') + 1} END AS latest_too_old, "
         "min(x.assessed_on) FILTER (WHERE x.assessed_on > %s) AS later "
         "FROM assessments_assessment x WHERE x.instrument_id = ANY(%s) AND x.client_id {scope} "
         "GROUP BY x.client_id, x.instrument_id) a CROSS JOIN LATERAL (VALUES (latest_too_old), (later)) d(day)",
         [as_of, as_of, instruments]),
        # Episodes: the days counted from the start, the mapping period's end; a closed one stops counting for
        # screening.
        (lateral("episodes_jointserviceepisode x", "x.client_id", [
            *(f"CASE WHEN x.status <> 'closed' THEN x.start_date + {days} END" for days in
              sorted({no_active, p("client_not_contacted", "days"), p("moved_without_handover", "days")})),
            f"CASE WHEN x.status <> 'closed' THEN x.mapping_period_end - {p('mapping_period_ending', 'days_before')} "
            "END",
            "CASE WHEN x.status <> 'closed' THEN x.mapping_period_end + 1 END",
            f"x.end_date + {reassess}", f"x.end_date + {reassess + 1}",
        ]), []),
        (lateral("plans_plan x " + episode.format("x.episode_id"), "e.client_id", [
            f"x.next_review_due - {p('plan_review_due', 'days_before')}", "x.next_review_due + 1",
        ], open_episode), []),
        (lateral("plans_planreview x " + plan.format("x.plan_id"), "e.client_id",
                 [f"{local('x.requested_at')} + {p('review_requested', 'days')}"],
                 f"x.trigger = 'client_request' AND x.held_on IS NULL AND {open_episode}"), []),
        # Referrals in the statuses each rule looks at, and the latest activity of all.
        (lateral("referrals_referral x", "x.client_id", [
            f"CASE WHEN x.status IN ('sent', 'received') THEN {local('x.sent_at')} + "
            f"{p('referral_unanswered', 'days')} END",
            f"CASE WHEN x.status = 'waitlisted' THEN {local('x.decided_at')} + {p('referral_waitlisted', 'days')} END",
            f"CASE WHEN x.status = 'declined' AND {in_service.format('x.client_id')} THEN "
            f"{local('x.decided_at')} + {p('declined_no_alternative', 'days')} END",
            f"CASE WHEN x.status IN ('completed', 'interrupted') AND {in_service.format('x.client_id')} THEN "
            f"{local('x.ended_at')} + {p('service_ended_no_next_step', 'days')} END",
        ], "x.status IN ('sent', 'received', 'waitlisted', 'declined', 'completed', 'interrupted')"), []),
        (f"SELECT x.client_id, {local('max(greatest(x.sent_at, x.decided_at, x.ended_at))')} + {no_active} "
         "FROM referrals_referral x WHERE x.client_id {scope} AND " + in_service_set.format("x.client_id")
         + " GROUP BY x.client_id", []),
        (lateral("plans_step x JOIN plans_goal g ON g.id = x.goal_id JOIN plans_planversion v ON "
                 "v.id = g.plan_version_id " + plan.format("v.plan_id"), "e.client_id",
                 [f"x.due_date + {p('plan_step_overdue', 'grace_days') + 1}"],
                 f"x.status IN ('planned', 'in_progress') AND x.due_date IS NOT NULL AND {open_episode}"), []),
        # The latest contact grows old; a contact dated later starts to count on its day.
        ("SELECT client_id, day FROM (SELECT x.client_id, "
         f"{local('max(x.at) FILTER (WHERE x.at < %s)')} + {p('client_not_contacted', 'days')} AS silent, "
         f"{local('min(x.at) FILTER (WHERE x.at >= %s)')} AS later "
         "FROM clients_clientcontact x WHERE x.client_id {scope} AND " + in_service_set.format("x.client_id")
         + " GROUP BY x.client_id) c "
         "CROSS JOIN LATERAL (VALUES (silent), (later)) d(day)", [tomorrow, tomorrow]),
        # Consents in force (of people in the joint service): their start, their end, and the start of the "ends
        # within" window. A timestamp is before the start of day D + 1 exactly when its local date is D or
        # earlier, so each comparison flips on the local date itself.
        (lateral("clients_consent x", "x.client_id", [
            local("x.valid_from"), local("x.valid_to"), f"{local('x.valid_to')} - {consent_days}",
        ], "x.revoked_at IS NULL AND (x.valid_to IS NULL OR x.valid_to >= %s) AND "
           + in_service_set.format("x.client_id")), [tomorrow - dt.timedelta(days=1)]),
        # The latest move grows old enough; a move dated later counts from its day.
        ("SELECT client_id, day FROM (SELECT x.client_id, max(x.moved_on) FILTER (WHERE x.moved_on <= %s) + "
         f"{p('moved_without_handover', 'days')} AS settled, min(x.moved_on) FILTER (WHERE x.moved_on > %s) AS later "
         "FROM clients_residencechange x WHERE x.client_id {scope} GROUP BY x.client_id) m "
         "CROSS JOIN LATERAL (VALUES (settled), (later)) d(day)", [as_of, as_of]),
    ]


def _selects(rules: list[Any], as_of: dt.date, scope: tuple[int, ...] | None) -> list[tuple[str, list[Any]]]:
    """The wake-up day queries for the sweep's clients (everybody where ``scope`` is None)."""
    from polku.assessments.models import Instrument

    params = {r.rule.code: dict(r.params) for r in rules}
    instruments = list(
        Instrument.objects.filter(code__in=["work-ability-score", "life-situation"]).values_list("pk", flat=True)
    )
    narrowed = " IS NOT NULL" if scope is None else f" = ANY({array_literal(scope)})"
    return [(query.replace(" {scope}", narrowed), query_params)
            for query, query_params in _wake_queries(params, settings.TIME_ZONE, instruments, as_of)]


def _first_days(selects: list[tuple[str, list[Any]]], as_of: dt.date) -> tuple[str, list[Any]]:
    """Each client's first day after *as-of* among the days of ``selects``."""
    union = " UNION ALL ".join(f"({query})" for query, _params in selects)
    values = [value for _query, query_params in selects for value in query_params]
    return (f"SELECT client_id, min(day) FROM ({union}) AS days(client_id, day) WHERE day > %s GROUP BY client_id",
            [*values, as_of])


def _forget(scope: tuple[int, ...] | None) -> str:
    wake = ClientWake._meta.db_table
    return f"TRUNCATE {wake}" if scope is None else f"DELETE FROM {wake} WHERE client_id = ANY({array_literal(scope)})"


def set_wake(rules: list[Any], as_of: dt.date, *, scope: tuple[int, ...] | None) -> None:
    """Each evaluated client's wake-up day: the first day after *as-of* on which time alone could change their
    alerts (``_wake_queries``). A client with no such day is not woken by time; a change to their data
    (recorded by the triggers) still brings them into the next sweep. PostgreSQL only (SQLite always sweeps
    in full)."""
    if connection.vendor != "postgresql":
        return
    first, values = _first_days(_selects(rules, as_of, scope), as_of)
    with connection.cursor() as cursor:
        cursor.execute(_forget(scope))
        cursor.execute(f"INSERT INTO {ClientWake._meta.db_table} (client_id, next_on) {first}", values)


#: How the wake-up day queries are split over helper connections (indexes into ``_wake_queries``), so that
#: each part costs about as much as one of the heavier rules.
PARTS = ((0, 1, 2, 4), (3, 5, 6, 9), (7, 8, 10, 11, 12))


def staged_statements(rules: list[Any], as_of: dt.date, *, scope: tuple[int, ...] | None) -> list[Any]:
    """The wake-up day queries as helper statements (``parallel.py``): each part writes its first days per
    client into :class:`WakeStage`; :func:`take_staged` then keeps each client's earliest."""
    from .parallel import Statement

    selects = _selects(rules, as_of, scope)
    assert sorted(i for part in PARTS for i in part) == list(range(len(selects))), "every wake query in one part"
    stage = WakeStage._meta.db_table
    statements = []
    for number, part in enumerate(PARTS, start=1):
        first, values = _first_days([selects[i] for i in part], as_of)
        statements.append(Statement(f"wake-up days ({number}/{len(PARTS)})",
                                    f"INSERT INTO {stage} (client_id, next_on) {first}", values))
    return statements


def take_staged(*, scope: tuple[int, ...] | None) -> None:
    """In the sweep's transaction: the evaluated clients' wake-up days from what the helpers staged."""
    wake, stage = ClientWake._meta.db_table, WakeStage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_forget(scope))
        cursor.execute(f"INSERT INTO {wake} (client_id, next_on) SELECT client_id, min(next_on) FROM {stage} "
                       "GROUP BY client_id")
