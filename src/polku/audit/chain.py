"""The hash chain over the access log: sealing new entries and verifying the whole log.

Writers of the log do nothing extra: a page view still inserts one row and nothing else. Sealing, run every minute
by a background task (:mod:`polku.audit.tasks`) and at the start of ``polku audit verify``, takes the rows that
have no link yet in id order and gives each the next position::

    content_hash = SHA-256("polku-accesslog-v1" NUL canonical JSON of the row's fields, id included)
    chain_hash   = SHA-256(previous chain_hash || content_hash)        (the first previous hash: 32 zero bytes)

Links go to a table of their own (:class:`~polku.audit.models.AccessLogSeal`), so sealing only inserts. Sealers
take the row lock of the one-row :class:`~polku.audit.models.ChainHead` for one chunk at a time; writers of the
log never touch it, so no request waits for a sealer and sealing never waits for a request.

Which rows need a link: a row becomes visible when its transaction commits, not in id order, so a row with a lower
id than some sealed row can still arrive (a long import). A full sweep finds every row without a link (an
anti-join over the ids); the regular pass looks only above a watermark: the highest id seen by the newest run that
started more than :data:`SCAN_WINDOW` ago. A row whose transaction ran longer than that is picked up by the next
full sweep (hourly from the task, and always by verify).
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import guards
from .models import AccessLog, AccessLogSeal, ChainCheckpoint, ChainHead, SealRun

VERSION = b"polku-accesslog-v1\x00"
GENESIS = bytes(32)
#: The fields of an entry that its content hash covers, in this order (a new column needs a new VERSION).
FIELDS = ("id", "at", "actor_id", "actor_name", "actor_organisation_id", "actor_role", "client_id", "category",
          "action", "purpose", "object_type", "object_id", "allowed", "reason")
CHUNK = 20_000
#: The regular pass rescans the ids written in this window (a transaction writing log rows is assumed to
#: commit within it; rows of longer ones wait for the next full sweep).
SCAN_WINDOW = dt.timedelta(minutes=10)
#: The task runs a full sweep when the last one is older than this.
FULL_SWEEP_EVERY = dt.timedelta(hours=1)


def late_after() -> dt.timedelta:
    """An entry dated this much before the previous sealing run is reported as backdated
    (setting ``AUDIT_CHAIN_LATE_AFTER``, seconds; default one day)."""
    return dt.timedelta(seconds=getattr(settings, "AUDIT_CHAIN_LATE_AFTER", 86_400))


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns() -> str:
    """The entry's :data:`FIELDS` as SQL; the time as text (UTC), so that no datetime is built for each row."""
    columns = {f.attname: f.column for f in AccessLog._meta.concrete_fields}
    return ", ".join(_at_column() if name == "at" else f"l.{connection.ops.quote_name(columns[name])}"
                     for name in FIELDS)


def _at_column() -> str:
    column = f"l.{connection.ops.quote_name(AccessLog._meta.get_field('at').column)}"
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"CAST({column} AS TEXT)"


def _at_text(value: Any) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC, from PostgreSQL's to_char (already so), SQLite's stored text (naive
    UTC, without the fraction when it is zero) or a datetime."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == "T":
            return value
        if len(value) in (19, 26) and value[10] == " ":
            return f"{value[:10]}T{value[11:]}" if len(value) == 26 else f"{value[:10]}T{value[11:]}.000000"
        value = parse_datetime(value)
    if value.tzinfo is None:  # naive datetimes in the database are UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def canonical(row: tuple[Any, ...]) -> bytes:
    """The serialisation a content hash is taken over: a JSON array of :data:`FIELDS` (UTC time to the
    microsecond as ``YYYY-MM-DDTHH:MM:SS.ffffff``, booleans as JSON booleans, NULL as null), UTF-8."""
    (id_, at, actor, actor_name, org, role, client, category, action, purpose, object_type, object_id, allowed,
     reason) = row
    return _encode([id_, _at_text(at), actor, actor_name, org, role, client, category, action, purpose,
                    object_type, object_id, bool(allowed), reason]).encode()


def content_hash(row: tuple[Any, ...]) -> bytes:
    return hashlib.sha256(VERSION + canonical(row)).digest()


def link(previous: bytes, content: bytes) -> bytes:
    return hashlib.sha256(previous + content).digest()


# -- sealing -------------------------------------------------------------------------------------------------------


@dataclass
class SealResult:
    sealed: int
    position: int
    chain_hash: bytes
    full: bool


def _lock_head() -> ChainHead:
    """The head row, locked until the end of the transaction (created on first use, e.g. after a flush)."""
    ChainHead.objects.bulk_create([ChainHead(pk=1)], ignore_conflicts=True)
    # A write first: on SQLite it takes the database's write lock now rather than at the first insert, so two
    # sealers never read the same unsealed rows; on PostgreSQL it is the row lock (like SELECT ... FOR UPDATE).
    ChainHead.objects.filter(pk=1).update(position=F("position"))
    return ChainHead.objects.get(pk=1)


def _watermark(now: dt.datetime) -> int:
    # sealed_at >= started_at: a run that ended before the window also began before it.
    mark = (SealRun.objects.filter(sealed_at__lt=now - SCAN_WINDOW).order_by("-sealed_at")
            .values_list("max_entry_id", flat=True).first())
    return mark or 0


def _unsealed(after: int, upto: int, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` entries without a link, in id order, with ids in (after, upto].

    The ids are read in windows of ``limit`` ids, each an index range: one anti-join with ORDER BY and LIMIT over
    the whole range lets the planner read the range in full for every chunk."""
    rows: list[tuple[Any, ...]] = []
    sql = (f"SELECT {_columns()} FROM {_table(AccessLog)} l WHERE l.id > %s AND l.id <= %s AND NOT EXISTS "  # noqa: S608
           f"(SELECT 1 FROM {_table(AccessLogSeal)} s WHERE s.entry_id = l.id) ORDER BY l.id")
    with connection.cursor() as cursor:
        while after < upto and len(rows) < limit:
            end = min(after + limit - len(rows), upto)
            cursor.execute(sql, [after, end])
            rows.extend(cursor.fetchall())
            after = end
    return rows


def _insert_links(positions: list[int], ids: list[int], contents: list[bytes], chains: list[bytes]) -> None:
    table = _table(AccessLogSeal)
    with connection.cursor() as cursor, connection.wrap_database_errors:  # psycopg's errors as Django's
        if connection.vendor == "postgresql":  # binary COPY: sending 40,000 hashes as bytea[] costs seconds
            with cursor.cursor.copy(f"COPY {table} (position, entry_id, content_hash, chain_hash) "
                                    "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "bytea", "bytea"])
                for row in zip(positions, ids, contents, chains, strict=True):
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {table} (position, entry_id, content_hash, chain_hash) "  # noqa: S608
                "VALUES (%s, %s, %s, %s)", list(zip(positions, ids, contents, chains, strict=True)))


def seal(*, full: bool = False, chunk: int = CHUNK, progress: Callable[[int], None] | None = None) -> SealResult:
    """Give every entry without a link one, in id order, one transaction per ``chunk`` entries.

    ``full``: look at every id (otherwise only above the watermark, see the module's docstring)."""
    started = timezone.now()
    upto = AccessLog.objects.aggregate(m=Max("id"))["m"] or 0
    after = 0 if full else _watermark(started)
    sealed = 0
    head_position, head_hash = 0, GENESIS
    while True:
        with transaction.atomic():
            head = _lock_head()
            head_position, head_hash = head.position, bytes(head.chain_hash)
            if head_position == 0:
                checkpoint = ChainCheckpoint.objects.order_by("-position").first()
                if checkpoint is not None:
                    head_position, head_hash = checkpoint.position, bytes(checkpoint.chain_hash)
            rows = _unsealed(after, upto, chunk)
            if not rows:
                if full:
                    ChainHead.objects.filter(pk=1).update(full_sweep_at=started)
                break
            positions, ids, contents, chains = [], [], [], []
            previous = head_hash
            for offset, row in enumerate(rows, start=1):
                content = content_hash(row)
                previous = link(previous, content)
                positions.append(head_position + offset)
                ids.append(row[0])
                contents.append(content)
                chains.append(previous)
            _insert_links(positions, ids, contents, chains)
            now = timezone.now()
            SealRun.objects.create(started_at=started, sealed_at=now, first_position=positions[0],
                                   last_position=positions[-1], max_entry_id=upto, full=full)
            ChainHead.objects.filter(pk=1).update(position=positions[-1], chain_hash=previous, sealed_at=now)
            head_position, head_hash = positions[-1], previous
        sealed += len(rows)
        after = ids[-1]
        if progress is not None:
            progress(len(rows))
        if len(rows) < chunk:
            if full:
                ChainHead.objects.filter(pk=1).update(full_sweep_at=started)
            break
    return SealResult(sealed, head_position, head_hash, full)


def unsealed_estimate() -> int:
    """About how many entries have no link yet (for a progress bar): the ids above the newest sealed one."""
    newest = AccessLogSeal.objects.aggregate(m=Max("entry_id"))["m"] or 0
    return AccessLog.objects.filter(id__gt=newest).count()


def _unsealed_entries() -> Iterator[tuple[int, Any]]:
    """(id, time) of every entry without a link, streamed."""
    at = _at_column()
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT l.id, {at} FROM {_table(AccessLog)} l WHERE NOT EXISTS "  # noqa: S608
                       f"(SELECT 1 FROM {_table(AccessLogSeal)} s WHERE s.entry_id = l.id) ORDER BY l.id")
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


# -- verifying -----------------------------------------------------------------------------------------------------

#: What a break means, for people (the command translates these).
KINDS = ("edited", "deleted", "missing", "chain", "backdated", "truncated", "anchor", "unsealed_backdated", "guard")


@dataclass
class Break:
    kind: str
    first: int  # position (for "unsealed_backdated" and "guard": 0)
    last: int
    entries: list[int] = field(default_factory=list)  # the entry ids concerned (at most a few)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "first_position": self.first, "last_position": self.last,
                "entries": self.entries, "detail": self.detail}


@dataclass
class Verification:
    checked: int = 0
    first_position: int = 0
    head_position: int = 0
    head_hash: bytes = GENESIS
    stored_head_position: int = 0
    checkpoint_position: int = 0
    sealed_now: int = 0
    unsealed: int = 0
    guards: dict[str, str] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def head(self) -> str:
        return f"{self.head_position}:{self.head_hash.hex()}"

    def add(self, kind: str, position: int, entry: int | None = None, detail: str = "", count: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count
        last = self.breaks[-1] if self.breaks else None
        if last is not None and last.kind == kind and position and last.last + 1 == position and not detail:
            last.last = position + count - 1
            if entry is not None and len(last.entries) < 10:
                last.entries.append(entry)
            return
        if len(self.breaks) < MAX_LISTED:
            self.breaks.append(Break(kind, position, position + count - 1 if position else 0,
                                     [entry] if entry is not None else [], detail))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_position": self.first_position,
                "head": {"position": self.head_position, "hash": self.head_hash.hex()},
                "stored_head_position": self.stored_head_position, "checkpoint_position": self.checkpoint_position,
                "sealed_now": self.sealed_now, "unsealed": self.unsealed, "guards": self.guards,
                "counts": self.counts, "breaks": [b.as_dict() for b in self.breaks]}


#: At most this many ranges are listed (the counts are always complete).
MAX_LISTED = 10_000


def parse_anchor(text: str) -> tuple[int, bytes]:
    """``POSITION:HASH`` (as verify prints the head) -> (position, hash)."""
    position, _sep, digest = text.strip().partition(":")
    value = bytes.fromhex(digest)
    if not position.isdigit() or len(value) != 32:
        raise ValueError(text)
    return int(position), value


class _Runs:
    """For each position (asked in increasing order), the time before which an entry sealed there counts as
    backdated: :func:`late_after` before the end of the last run that had finished when its run began.

    The runs are streamed in position order alongside the links (a busy year has hundreds of thousands). Runs end
    in position order, since sealers take turns on the head; so the run that had finished last is found by walking
    back over the few runs before it that were still going (chunks of the same pass, or of a concurrent one)."""

    def __init__(self, tolerance: dt.timedelta) -> None:
        self.tolerance = tolerance
        self.runs: Iterator[tuple[int, int, dt.datetime, dt.datetime]] | None = None
        self.recent: collections.deque[dt.datetime] = collections.deque(maxlen=1000)  # sealed_at of earlier runs
        self.current: tuple[int, int, str | None] | None = None  # first, last, limit

    def limit(self, position: int) -> str | None:
        if self.runs is None:
            self.runs = SealRun.objects.order_by("first_position").values_list(
                "first_position", "last_position", "started_at", "sealed_at").iterator(chunk_size=5000)
        while self.current is None or self.current[1] < position:
            run = next(self.runs, None)
            if run is None:
                self.current = (position, position, None)  # sealed by a run not yet recorded when verify began
                return None
            first, last, started, sealed = run
            previous = next((t for t in reversed(self.recent) if t < started), None)
            self.current = (first, last, _at_text(previous - self.tolerance) if previous else None)
            self.recent.append(sealed)
        return self.current[2] if self.current[0] <= position else None


def _stream(after: int, size: int = CHUNK) -> Iterator[tuple[Any, ...]]:
    """Links after ``after`` in position order with their entries (NULLs where the entry is gone), streamed with a
    server-side cursor on PostgreSQL."""
    sql = (f"SELECT s.position, s.entry_id, s.content_hash, s.chain_hash, {_columns()} "  # noqa: S608
           f"FROM {_table(AccessLogSeal)} s LEFT JOIN {_table(AccessLog)} l ON l.id = s.entry_id "
           f"WHERE s.position > %s ORDER BY s.position")
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [after])
        while rows := cursor.fetchmany(size):
            yield from rows


def verify(*, do_seal: bool = True, expect_head: tuple[int, bytes] | None = None,
           progress: Callable[[int, int], None] | None = None) -> Verification:
    """Check every link and every entry; see docs/security.md for what each kind of break means.

    ``progress(done, total)`` is called every chunk."""
    result = Verification()
    if do_seal:
        with contextlib.suppress(IntegrityError):  # links beyond the recorded head: reported below as such
            result.sealed_now = seal(full=True).sealed
    result.guards = guards.status()
    for table, state in result.guards.items():
        if state != "on":
            result.add("guard", 0, detail=f"{table}: {state}")
    head = ChainHead.objects.filter(pk=1).first()
    result.stored_head_position = head.position if head else 0
    checkpoint = ChainCheckpoint.objects.order_by("-position").first()
    start, previous = (checkpoint.position, bytes(checkpoint.chain_hash)) if checkpoint else (0, GENESIS)
    result.checkpoint_position = start
    result.head_position, result.head_hash = start, previous
    runs = _Runs(late_after())
    expected = start + 1
    anchor_seen = expect_head is None
    if expect_head is not None and expect_head[0] == start and checkpoint is not None:
        anchor_seen = True
        if expect_head[1] != previous:
            result.add("anchor", start, detail="checkpoint")
    total = max(result.stored_head_position - start, 0)
    since_report = 0
    for row in _stream(start):
        position, entry_id, stored_content, stored_chain = row[0], row[1], bytes(row[2]), bytes(row[3])
        entry = row[4:]
        if not result.checked:
            result.first_position = position
        result.checked += 1
        gap = position > expected
        if gap:
            result.add("missing", expected, count=position - expected)
        elif link(previous, stored_content) != stored_chain:
            result.add("chain", position, entry_id)
        if entry[0] is None:
            result.add("deleted", position, entry_id)
        else:
            if content_hash(entry) != stored_content:
                result.add("edited", position, entry_id)
            limit = runs.limit(position)
            if limit is not None and _at_text(entry[1]) < limit:
                result.add("backdated", position, entry_id)
        if expect_head is not None and position == expect_head[0]:
            anchor_seen = True
            if stored_chain != expect_head[1]:
                result.add("anchor", position, entry_id)
        previous, expected = stored_chain, position + 1
        result.head_position, result.head_hash = position, stored_chain
        since_report += 1
        if progress is not None and since_report >= CHUNK:
            progress(result.checked, total)
            since_report = 0
    if progress is not None:
        progress(result.checked, total)
    # Links beyond the head: the sealer moves the head in the same transaction as it adds links, so these were
    # added by someone else (read the head again: a sealer may have run meanwhile).
    now_head = ChainHead.objects.filter(pk=1).values_list("position", flat=True).first() or 0
    if result.head_position > max(now_head, result.stored_head_position):
        beyond = max(now_head, result.stored_head_position)
        result.add("chain", beyond + 1, count=result.head_position - beyond, detail="beyond head")
    if result.stored_head_position > result.head_position:
        result.add("truncated", result.head_position + 1,
                   count=result.stored_head_position - result.head_position, detail="head")
    if not anchor_seen and expect_head is not None:
        if expect_head[0] > result.head_position:
            result.add("truncated", result.head_position + 1, count=expect_head[0] - result.head_position,
                       detail="anchor")
        else:  # the anchor's position lies before the retention checkpoint
            result.add("anchor", expect_head[0], detail="before checkpoint")
    # Entries without a link: after sealing, those that arrived since (fine); any dated well before the last seal
    # were slipped in afterwards (or belong to a transaction that ran for longer than late_after()).
    limit = _at_text(head.sealed_at - late_after()) if head is not None and head.sealed_at is not None else None
    late: list[int] = []
    for entry_id, at in _unsealed_entries():
        result.unsealed += 1
        if limit is not None and _at_text(at) < limit:
            late.append(entry_id)
    if late:
        result.add("unsealed_backdated", 0, late[0], detail=",".join(map(str, late[:10])), count=len(late))
    return result

