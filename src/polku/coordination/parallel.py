"""The sweep's independent queries on several database connections at once (PostgreSQL).

The fifteen rules and the wake-up days read the client data and write only their own working tables, so they
need not run one after another: each is one ``INSERT … SELECT`` that a helper connection can run while another
runs the next. The sweep's own transaction exports its snapshot (``pg_export_snapshot``) and every helper
statement imports it, so all of them see exactly the data the sweep sees, whatever is written meanwhile. The
helpers write only the working tables (``AlertCandidate``, ``WakeStage``); the sweep's transaction then does
all the bookkeeping (alerts, wake-up days, state) itself, so a sweep that fails half-way still leaves the
previous alerts intact.

Helpers see only committed data. A sweep called inside a transaction that is already open (a test's, or a
caller's ``atomic``) may depend on rows the helpers cannot see, so it runs every statement itself instead
(:func:`can_run`). ``POLKU_SWEEP_CONNECTIONS`` sets how many helpers run at once (default: the number of CPU
cores, at most 4; 1 switches them off).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections


@dataclass(frozen=True)
class Statement:
    """One helper statement: its name in the sweep's timings, and its SQL with parameters."""

    name: str
    sql: str
    params: list[Any]


def helpers() -> int:
    """How many helper connections a sweep may use (1: none)."""
    return max(1, int(settings.POLKU.get("SWEEP_CONNECTIONS", 1)))


def can_run(*, outer_atomic: bool) -> bool:
    """Whether this sweep may use helper connections: PostgreSQL, more than one allowed, and no transaction of
    the caller's open around the sweep (the helpers could not see its writes)."""
    return connection.vendor == "postgresql" and helpers() > 1 and not outer_atomic


def export_snapshot() -> str:
    """The sweep transaction's snapshot, for the helpers to import."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        return str(cursor.fetchone()[0])


def run_all(first: Iterable[Statement], statements: Iterable[Statement], *, snapshot: str,
            say: Callable[[str], None]) -> dict[str, float]:
    """Run ``first`` (in autocommit, one after another: emptying the working tables), then ``statements`` on
    up to :func:`helpers` connections, each in its own transaction on ``snapshot``, longest first (the order
    given). Returns each statement's seconds. The first failure stops the rest and is raised here."""
    todo: queue.Queue[Statement] = queue.Queue()
    pending = list(statements)
    for statement in pending:
        todo.put(statement)
    timings: dict[str, float] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()
    work_mem = settings.POLKU["SWEEP_WORK_MEM"]
    done = [0]

    helper = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with helper.cursor() as cursor:
            for statement in first:  # the working tables are empty before any helper writes to them
                cursor.execute(statement.sql, statement.params)
    finally:
        helper.close()

    def work() -> None:
        helper = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with helper.cursor() as cursor:
                while not failures:
                    try:
                        statement = todo.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    try:
                        cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                        cursor.execute("SET LOCAL jit = off")
                        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
                        cursor.execute(statement.sql, statement.params)
                        cursor.execute("COMMIT")
                    except BaseException:
                        cursor.execute("ROLLBACK")
                        raise
                    seconds = time.perf_counter() - t0
                    with lock:
                        timings[statement.name] = seconds
                        done[0] += 1
                        say(f"[{done[0]}/{len(pending)}] {statement.name}: {seconds:.2f} s")
        except BaseException as error:
            with lock:
                failures.append(error)
        finally:
            helper.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(helpers(), max(1, len(pending))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return timings
