"""The database's own guard on the access log: triggers that refuse UPDATE, DELETE and TRUNCATE.

The ORM refuses as well (:class:`polku.audit.models.AppendOnlyQuerySet`), but a trigger also stops raw SQL,
``polku dbshell`` and any other program using the application's database account. It is a guard, not the
evidence: a database superuser or the tables' owner can disable a trigger. The evidence is the hash chain
(:mod:`polku.audit.chain`), which ``polku audit verify`` checks; verify also reports a guard that is missing or
disabled.

PostgreSQL: one PL/pgSQL function, a row-level BEFORE UPDATE OR DELETE trigger and a statement-level BEFORE
TRUNCATE trigger on each guarded table. There is deliberately no session setting that lifts them: an account
that may only read and write rows (a least-privilege runtime role) cannot get round them; only the owner can, with
``ALTER TABLE ... DISABLE TRIGGER``, which is what :func:`unguarded` does.

SQLite: BEFORE UPDATE and BEFORE DELETE triggers that ``RAISE(ABORT)`` unless the SQL function
``polku_audit_unguarded()`` returns 1. Polku registers that function on each of its connections and it returns 1
only inside :func:`unguarded`; any other program (``sqlite3`` on the file) lacks it and fails closed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection as default_connection

#: The tables the guard covers (the access log and its chain; the chain head is a cache and not guarded).
TABLES = ("audit_accesslog", "audit_accesslogseal", "audit_sealrun", "audit_chaincheckpoint")
TRIGGER = "polku_append_only"
TRUNCATE_TRIGGER = "polku_append_only_truncate"
FUNCTION = "polku_audit_append_only"

_state = threading.local()


def suspended() -> bool:
    """Inside :func:`unguarded` (on this thread)?"""
    return getattr(_state, "depth", 0) > 0


@contextlib.contextmanager
def unguarded(connection: Any = None) -> Iterator[None]:
    """Lift the guards for whole-database maintenance: ``flush``, the demo's ``--replace`` wipe, the retention job,
    tests that empty the log. On PostgreSQL this needs the tables' owner (``ALTER TABLE ... DISABLE TRIGGER``);
    inside a transaction the change is part of it, and an interrupted run leaves a disabled trigger that
    ``polku audit verify`` reports."""
    conn = connection or default_connection
    _state.depth = getattr(_state, "depth", 0) + 1
    postgres = conn.vendor == "postgresql" and _state.depth == 1 and installed(conn)
    try:
        if postgres:
            _set_enabled(conn, False)
        yield
    finally:
        try:
            if postgres and not conn.needs_rollback:
                _set_enabled(conn, True)
        finally:
            _state.depth -= 1


def _set_enabled(conn: Any, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    with conn.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {conn.ops.quote_name(table)} {verb} TRIGGER {TRIGGER}")
            cursor.execute(f"ALTER TABLE {conn.ops.quote_name(table)} {verb} TRIGGER {TRUNCATE_TRIGGER}")


def install(schema_editor: Any) -> None:
    """Create the triggers (a migration's forward step)."""
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute(f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'polku: % is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'The access log can only be added to (docs/security.md).';
            END $$""", None)  # None: no parameters, the % signs are PL/pgSQL's
        for table in TABLES:
            name = conn.ops.quote_name(table)
            schema_editor.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {name} "
                                  f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")
            schema_editor.execute(f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {name} "
                                  f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")
    elif conn.vendor == "sqlite":
        for table in TABLES:
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_{TRIGGER}_{op.lower()} BEFORE {op} ON {table} "
                    f"WHEN polku_audit_unguarded() = 0 "
                    f"BEGIN SELECT RAISE(ABORT, 'polku: {table} is append-only: {op} refused'); END")


def uninstall(schema_editor: Any) -> None:
    """Drop the triggers (the migration's reverse step)."""
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        for table in TABLES:
            name = conn.ops.quote_name(table)
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {name}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {name}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    elif conn.vendor == "sqlite":
        for table in TABLES:
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_{TRIGGER}_{op}")


def status(conn: Any = None) -> dict[str, str]:
    """Each guarded table's guard: ``"on"``, ``"disabled"`` or ``"missing"``."""
    conn = conn or default_connection
    expected = dict.fromkeys(TABLES, "missing")
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = ANY(%s) AND t.tgname IN (%s, %s) AND c.relnamespace = "
                "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
                [list(TABLES), TRIGGER, TRUNCATE_TRIGGER])
            found: dict[str, list[str]] = {}
            for table, _name, enabled in cursor.fetchall():
                enabled = enabled.decode() if isinstance(enabled, bytes) else enabled
                found.setdefault(table, []).append(enabled)
            for table, states in found.items():
                if len(states) == 2:
                    expected[table] = "on" if all(s != "D" for s in states) else "disabled"
        elif conn.vendor == "sqlite":
            cursor.execute("SELECT tbl_name, count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s "
                           "GROUP BY tbl_name", [f"%{TRIGGER}%"])
            for table, count in cursor.fetchall():
                if table in expected and count == 2:
                    expected[table] = "on"
        else:
            return {}
    return expected


def installed(conn: Any = None) -> bool:
    conn = conn or default_connection
    try:
        return any(state != "missing" for state in status(conn).values())
    except Exception:  # before the migration, or a database without the tables
        return False


def _sqlite_unguarded() -> int:
    return 1 if suspended() else 0


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each SQLite connection the guard's function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("polku_audit_unguarded", 0, _sqlite_unguarded, deterministic=False)


def patch_flush() -> None:
    """Let ``flush`` (and so Django's transactional tests) empty the guarded tables: emptying the whole database
    is maintenance by its owner, not an edit of the log."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush
    if getattr(original, "_polku_unguarded", False):
        return

    def execute_sql_flush(self: Any, sql_list: Iterable[str]) -> None:
        from django.db import transaction

        with transaction.atomic(using=self.connection.alias), unguarded(self.connection):
            original(self, sql_list)

    execute_sql_flush._polku_unguarded = True  # type: ignore[attr-defined]
    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
