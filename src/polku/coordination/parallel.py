"""The sweep's independent queries on several database connections at once (PostgreSQL).

The fifteen rules, the per-client lookups and the wake-up days read the client data and write only their own
working tables, so they need not run one after another: each is one ``INSERT … SELECT`` that a helper connection
can run while another runs the next. The sweep's own transaction exports its snapshot (``pg_export_snapshot``)
and every helper statement imports it, so all of them see exactly the data the sweep sees, whatever is written
meanwhile. The helpers write only the working tables (``services.WORKING``); the sweep's transaction then does
all the bookkeeping (alerts, wake-up days, state) itself, so a sweep that fails half-way still leaves the
previous alerts intact.

Helpers see only committed data. A sweep called inside a transaction that is already open (a test's, or a
caller's ``atomic``) may depend on rows the helpers cannot see, so it runs every statement itself instead
(:func:`can_run`). ``POLKU_SWEEP_CONNECTIONS`` sets how many helpers run at once (default: the number of CPU
cores, at most 4; 1 switches them off).
"""

from __future__ import annotations

import contextlib
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


#: How long a helper statement waits for a lock before it fails, and the sweep with it (see ``Batch._work``).
LOCK_TIMEOUT = "60s"


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


class Batch:
    """Helper statements under way (:func:`start`). The sweep's own connection goes on with other work and waits
    only where it needs their results (:meth:`wait`), so the helpers' remaining statements and the sweep's own
    bookkeeping share the machine's cores."""

    def __init__(self, first: Iterable[Statement], statements: Iterable[Statement], *, snapshot: str,
                 say: Callable[[str], None]) -> None:
        self.pending = list(statements)
        self.timings: dict[str, float] = {}
        self.failures: list[BaseException] = []
        self.stopped = False
        self._todo: queue.Queue[Statement] = queue.Queue()
        for statement in self.pending:
            self._todo.put(statement)
        self._done = threading.Condition()
        self._live: list[Any] = []
        self._snapshot, self._say = snapshot, say
        self._work_mem = settings.POLKU["SWEEP_WORK_MEM"]
        helper = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with helper.cursor() as cursor:
                for statement in first:  # the working tables are empty before any helper writes to them
                    cursor.execute(statement.sql, statement.params)
        finally:
            helper.close()
        self._threads = [threading.Thread(target=self._work, daemon=True)
                         for _ in range(min(helpers(), max(1, len(self.pending))))]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        helper = None
        try:
            helper = connections.create_connection(DEFAULT_DB_ALIAS)
            with helper.cursor() as cursor:
                with self._done:
                    self._live.append(helper)
                while not self.failures and not self.stopped:
                    try:
                        statement = self._todo.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    try:
                        cursor.execute("SET TRANSACTION SNAPSHOT %s", [self._snapshot])
                        cursor.execute("SET LOCAL jit = off")
                        # (the helpers are the parallelism: workers of their own would only compete with them)
                        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                        # A helper waiting for a lock could wait for ever: the sweep's transaction, which it
                        # cannot see, may hold the lock that a waiting schema change (ahead of the helper) needs.
                        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
                        cursor.execute("SELECT set_config('work_mem', %s, true)", [self._work_mem])
                        if self.stopped:
                            raise InterruptedError("the sweep stopped its helpers")
                        cursor.execute(statement.sql, statement.params)
                        cursor.execute("COMMIT")
                    except BaseException:
                        with contextlib.suppress(Exception):  # the statement's own error is the one to report
                            cursor.execute("ROLLBACK")
                        raise
                    seconds = time.perf_counter() - t0
                    with self._done:
                        self.timings[statement.name] = seconds
                        self._done.notify_all()
                        self._say(f"[{len(self.timings)}/{len(self.pending)}] {statement.name}: {seconds:.2f} s")
        except BaseException as error:
            with self._done:
                self.failures.append(error)
                self._done.notify_all()
        finally:
            if helper is not None:
                with self._done:
                    if helper in self._live:
                        self._live.remove(helper)
                helper.close()

    def wait(self, names: Iterable[str] | None = None) -> None:
        """Until the statements named (all by default) are done; the first failure is raised here."""
        wanted = {s.name for s in self.pending} if names is None else set(names)
        with self._done:
            self._done.wait_for(lambda: self.failures or wanted <= self.timings.keys()
                                or not any(t.is_alive() for t in self._threads))
        if self.failures:
            self.stop()
            raise self.failures[0]
        if not wanted <= self.timings.keys():  # (cannot happen: every statement is taken until one fails)
            raise RuntimeError(f"helper statements not run: {sorted(wanted - self.timings.keys())}")

    def finish(self) -> dict[str, float]:
        """Wait for every statement; their seconds."""
        self.wait()
        for thread in self._threads:
            thread.join()
        return self.timings

    def stop(self) -> None:
        """No more statements (the sweep failed): the statements running are cancelled, the helpers close. A
        cancel that reaches a connection between two statements does nothing, so it is repeated until every
        helper has stopped."""
        self.stopped = True
        while any(thread.is_alive() for thread in self._threads):
            with self._done:
                live = [helper.connection for helper in self._live if helper.connection is not None]
            for running in live:
                with contextlib.suppress(Exception):  # (a connection just closing has nothing to cancel)
                    running.cancel_safe(timeout=5)
            for thread in self._threads:
                thread.join(timeout=0.5)


def start(first: Iterable[Statement], statements: Iterable[Statement], *, snapshot: str,
          say: Callable[[str], None]) -> Batch:
    """Run ``first`` (in autocommit, one after another: emptying the working tables), then start ``statements`` on
    up to :func:`helpers` connections, each in its own transaction on ``snapshot``, in the order given (the
    longest first, so that no connection is left with a long one at the end)."""
    return Batch(first, statements, snapshot=snapshot, say=say)
