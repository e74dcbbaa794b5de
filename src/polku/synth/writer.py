"""Bulk writing of generated rows: PostgreSQL's COPY, or executemany on other databases (SQLite)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.core.management.color import no_style
from django.db import connection

from .tables import Rows


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _column_names(rows: Rows) -> list[str]:
    fields = {f.attname: f.column for f in rows.model._meta.concrete_fields}
    missing = set(rows.columns) - set(fields)
    if missing:
        raise ValueError(f"{rows.model.__name__}: unknown columns {sorted(missing)}")
    return [fields[name] for name in rows.columns]


def _copy_text(values: np.ndarray) -> list[str]:
    """One column as COPY text values (``\\N`` for NULL)."""
    if values.dtype.kind == "M":  # numpy datetimes are UTC
        return [f"{v}+00" for v in values.astype(str)]
    if values.dtype.kind == "b":
        return ["t" if v else "f" for v in values]
    if values.dtype.kind in "iuf":
        return values.astype(str).tolist()
    out = []
    for v in values:
        if v is None:
            out.append("\\N")
        elif isinstance(v, bool | np.bool_):
            out.append("t" if v else "f")
        elif isinstance(v, dt.date):
            out.append(v.isoformat())
        elif isinstance(v, np.datetime64):
            out.append(f"{v}+00")
        else:
            text = str(v)
            if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
                text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
            out.append(text)
    return out


def _sqlite_value(values: np.ndarray) -> list[Any]:
    if values.dtype.kind == "M":  # whole seconds, formatted as Django's SQLite backend stores them
        return [str(v).replace("T", " ") for v in values.astype("datetime64[s]").astype(str)]
    if values.dtype.kind in "biuf":
        return values.tolist()
    out = []
    for v in values:
        if isinstance(v, np.datetime64):
            out.append(str(v.astype("datetime64[s]")).replace("T", " "))
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def write(rows: Rows) -> int:
    """Insert the rows of one table; returns how many."""
    count = len(rows)
    if not count:
        return 0
    table = rows.model._meta.db_table
    names = _column_names(rows)
    with connection.cursor() as cursor:
        if _is_postgres():
            columns = [_copy_text(np.asarray(values)) for values in rows.columns.values()]
            buffer = io.StringIO()
            buffer.writelines("\t".join(line) + "\n" for line in zip(*columns, strict=True))
            quoted = ", ".join(connection.ops.quote_name(n) for n in names)
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            columns = [_sqlite_value(np.asarray(values)) for values in rows.columns.values()]
            placeholders = ", ".join(["%s"] * len(names))
            quoted = ", ".join(connection.ops.quote_name(n) for n in names)
            sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, list(zip(*columns, strict=True)))
    return count


def reset_sequences(models: list[Any]) -> None:
    """After inserting explicit ids, let the database hand out the next ones after them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def analyze(models: list[Any]) -> None:
    """Fresh planner statistics for the loaded tables (PostgreSQL): without them the first queries after a
    large load are planned for empty tables (nested loops over millions of rows)."""
    if not _is_postgres():
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def next_ids(models: list[Any]) -> dict[str, int]:
    """For each table, the first free id (max + 1)."""
    out = {}
    with connection.cursor() as cursor:
        for model in models:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - table names from models
            out[model._meta.db_table] = int(cursor.fetchone()[0])
    return out


@contextlib.contextmanager
def bulk_load(models: list[Any]) -> Iterator[None]:
    """On PostgreSQL, load without per-row foreign-key triggers and index upkeep: drop the tables' foreign keys
    and secondary indexes, and re-create them afterwards (each foreign key is then checked once, set-based).
    The incremental sweep's change triggers are switched off too, and the next sweep is marked as a full one
    (it evaluates every client anyway). Must run inside a transaction, so a failure leaves the schema as it was.
    Elsewhere, does nothing."""
    if not _is_postgres():
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("bulk_load must run inside a transaction")
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # pending checks would block the ALTER TABLEs
        cursor.execute(
            """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
               FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)""",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
               WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary AND c.oid IS NULL""",
            [tables],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = ANY(%s) AND t.tgname LIKE 'polku\\_changed\\_%%' AND t.tgname <> 'polku_changed_trunc'",
            [tables],
        )
        change_triggers = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for table, trigger in change_triggers:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    yield
    with connection.cursor() as cursor:
        for table, trigger in change_triggers:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        if change_triggers:
            from polku.coordination.triggers import MARK_FULL_NEEDED

            cursor.execute(MARK_FULL_NEEDED)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
