# ruff: noqa: S608 - the SQL here is built from fixed table and column names, never from input
"""Database triggers that tell the incremental sweep which clients changed (PostgreSQL only).

Every table a coordination rule reads gets statement-level triggers that put the clients of the rows written
(inserted, updated or deleted, whatever wrote them: a service, the admin, an import, raw SQL) into
``coordination_changedclient``. Tables every client depends on (organisations, service areas, instruments,
services, rule settings) and any TRUNCATE instead mark the next sweep as a full one (``coordination_sweepstate``).
On SQLite there are no triggers and every sweep is a full one. Keep :data:`CLIENT_TABLES` in step with the
tables the rules (``rules.py``) and the wake-up days (``wake._wake_queries``) read.
"""

from __future__ import annotations

from typing import Any

_EPISODE = "JOIN episodes_jointserviceepisode e ON e.id = {via}"
_PLAN = "JOIN plans_plan p ON p.id = {via} " + _EPISODE.format(via="p.episode_id")
_VERSION = "JOIN plans_planversion v ON v.id = {via} " + _PLAN.format(via="v.plan_id")
_GOAL = "JOIN plans_goal g ON g.id = {via} " + _VERSION.format(via="g.plan_version_id")

#: table -> the query (over the transition table ``$rows``) that yields the clients of the rows written.
CLIENT_TABLES: dict[str, str] = {
    "clients_client": "SELECT r.id FROM $rows r",
    **dict.fromkeys((
        "clients_clientcontact", "clients_employmentstatusperiod", "clients_benefitperiod",
        "clients_residencechange", "clients_consent", "referrals_referral", "assessments_assessment",
        "episodes_jointserviceepisode",
    ), "SELECT r.client_id FROM $rows r"),
    "episodes_episodeparticipant": "SELECT e.client_id FROM $rows r " + _EPISODE.format(via="r.episode_id"),
    "plans_plan": "SELECT e.client_id FROM $rows r " + _EPISODE.format(via="r.episode_id"),
    "plans_planversion": "SELECT e.client_id FROM $rows r " + _PLAN.format(via="r.plan_id"),
    "plans_goal": "SELECT e.client_id FROM $rows r " + _VERSION.format(via="r.plan_version_id"),
    "plans_step": "SELECT e.client_id FROM $rows r " + _GOAL.format(via="r.goal_id"),
    "plans_planreview": "SELECT e.client_id FROM $rows r " + _PLAN.format(via="r.plan_id"),
    "assessments_assessmentanswer": (
        "SELECT a.client_id FROM $rows r JOIN assessments_assessment a ON a.id = r.assessment_id"
    ),
}

#: Tables whose change can alter any client's alerts: the next sweep evaluates everybody.
GLOBAL_TABLES = (
    "organisations_organisation", "organisations_servicearea", "assessments_instrument", "catalogue_service",
    "coordination_rulesetting",
)

#: Marks the next sweep as a full one (the trigger on GLOBAL_TABLES; also the synthetic bulk loader).
MARK_FULL_NEEDED = (
    "INSERT INTO coordination_sweepstate (id, full_needed, rules_fingerprint) VALUES (1, true, '') "
    "ON CONFLICT (id) DO UPDATE SET full_needed = true"
)

FUNCTIONS = """
CREATE OR REPLACE FUNCTION polku_mark_changed_clients() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE 'INSERT INTO coordination_changedclient (client_id) SELECT DISTINCT c FROM ('
            || replace(TG_ARGV[0], '$rows', 'polku_new_rows') || ') AS found(c) WHERE c IS NOT NULL '
            || 'ON CONFLICT DO NOTHING';
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE 'INSERT INTO coordination_changedclient (client_id) SELECT DISTINCT c FROM ('
            || replace(TG_ARGV[0], '$rows', 'polku_old_rows') || ') AS found(c) WHERE c IS NOT NULL '
            || 'ON CONFLICT DO NOTHING';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION polku_sweep_full_needed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    {mark};
    RETURN NULL;
END
$fn$;
""".replace("{mark}", MARK_FULL_NEEDED)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_sql() -> list[str]:
    statements = [FUNCTIONS]
    for table, query in CLIENT_TABLES.items():
        arg = _quote(query)
        statements += [
            f"CREATE TRIGGER polku_changed_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS polku_new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION polku_mark_changed_clients({arg})",
            f"CREATE TRIGGER polku_changed_upd AFTER UPDATE ON {table} REFERENCING OLD TABLE AS polku_old_rows "
            f"NEW TABLE AS polku_new_rows FOR EACH STATEMENT EXECUTE FUNCTION polku_mark_changed_clients({arg})",
            f"CREATE TRIGGER polku_changed_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS polku_old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION polku_mark_changed_clients({arg})",
            f"CREATE TRIGGER polku_changed_trunc AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION polku_sweep_full_needed()",
        ]
    for table in GLOBAL_TABLES:
        statements.append(
            f"CREATE TRIGGER polku_sweep_full AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION polku_sweep_full_needed()"
        )
    return statements


def drop_sql() -> list[str]:
    statements = []
    for table in CLIENT_TABLES:
        statements += [f"DROP TRIGGER IF EXISTS polku_changed_{k} ON {table}" for k in ("ins", "upd", "del", "trunc")]
    statements += [f"DROP TRIGGER IF EXISTS polku_sweep_full ON {table}" for table in GLOBAL_TABLES]
    statements += ["DROP FUNCTION IF EXISTS polku_mark_changed_clients()",
                   "DROP FUNCTION IF EXISTS polku_sweep_full_needed()"]
    return statements


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in create_sql():
            schema_editor.execute(statement)
        schema_editor.execute("ALTER TABLE coordination_sweepscope SET UNLOGGED")


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in drop_sql():
            schema_editor.execute(statement)
