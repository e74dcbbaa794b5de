"""The tamper-evident access log: every entry is chained to the one before by a hash, so that an edit, a deletion,
a forged entry or a cut-off tail shows in ``polku audit verify``; and nobody can change or delete entries through
Polku (ORM, admin) or the application's database account (triggers)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client as Browser
from django.utils import timezone

from polku.audit import chain, guards, services
from polku.audit.admin import AccessLogAdmin
from polku.audit.models import AccessLog, AccessLogSeal, AppendOnlyError, ChainCheckpoint, ChainHead
from tests import factories as f

pytestmark = pytest.mark.django_db

def _audit(*args: Any, **kwargs: Any) -> Any:
    """``polku audit …`` in English, whatever language a page view in the test left active."""
    from django.utils import translation

    with translation.override("en"):
        return call_command(*args, **kwargs)


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The assertions read the English messages (the tests otherwise run in Finnish)."""
    from django.utils import translation

    with translation.override("en"):
        yield


LOG = AccessLog._meta.db_table
SEAL = AccessLogSeal._meta.db_table


def _page_view(joint: Any) -> None:
    browser = Browser()
    browser.force_login(joint.coordinator)
    assert browser.get(f"/clients/{joint.client.pk}/").status_code == 200


def _system_rows(count: int) -> None:
    services.log_system_access(client_ids=range(1, count + 1), category="basic", action="export",
                               purpose="Statistics: pseudonymised indicator facts", actor_name="polku test")


def _verify(*args: str) -> tuple[dict[str, Any], int]:
    out = StringIO()
    try:
        _audit("audit", "verify", "--format", "json", "--quiet", *args, stdout=out)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return json.loads(out.getvalue()), code


def _kinds(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(b["kind"], b["first_position"], b["last_position"]) for b in report["breaks"]]


def _position(entry_id: int) -> int:
    return AccessLogSeal.objects.get(entry_id=entry_id).position


def _as_dba(sql: str, params: list[Any] | None = None) -> None:
    """Raw SQL with the guard lifted, as a database administrator who disabled the triggers would run it."""
    with guards.unguarded(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def sealed(joint: Any) -> list[int]:
    """A log written by a real page view and by batch work, sealed; the entry ids in id order."""
    _page_view(joint)
    _system_rows(5)
    chain.seal()
    return list(AccessLog.objects.order_by("id").values_list("id", flat=True))


# --- a clean log ---------------------------------------------------------------------------------------------------


def test_verify__clean_log_of_page_views_and_batch_work__passes_and_prints_the_head(joint: Any) -> None:
    _page_view(joint)
    _system_rows(3)
    out = StringIO()
    _audit("audit", "verify", "--quiet", stdout=out)
    text = out.getvalue()
    total = AccessLog.objects.count()
    assert total >= 4 and f"Sealed {total} new entries." in text and "OK: the access log is intact." in text
    head = ChainHead.objects.get(pk=1)
    assert head.position == total and f"Head: {total}:{bytes(head.chain_hash).hex()}" in text
    # Positions follow the ids; each link is the hash of the one before and the entry.
    links = list(AccessLogSeal.objects.order_by("position"))
    assert [s.position for s in links] == list(range(1, total + 1))
    assert [s.entry_id for s in links] == list(AccessLog.objects.order_by("id").values_list("id", flat=True))
    previous = chain.GENESIS
    for item in links:
        assert bytes(item.chain_hash) == chain.link(previous, bytes(item.content_hash))
        previous = bytes(item.chain_hash)
    # More page views: a second verify seals only those and still passes; verify --no-seal leaves them unsealed.
    _page_view(joint)
    report, code = _verify("--no-seal")
    assert code == 0 and report["ok"] and report["unsealed"] > 0 and report["checked"] == total
    report, code = _verify("--expect-head", f"{total}:{bytes(head.chain_hash).hex()}")
    assert code == 0 and report["ok"] and report["sealed_now"] > 0 and report["unsealed"] == 0
    assert report["checked"] == AccessLog.objects.count()


def test_seal__copy_path_of_batch_work__every_row_chained_once() -> None:
    # COPY on PostgreSQL; SQLite has batched inserts only, so fewer rows do there.
    count = services.COPY_FROM + 1 if connection.vendor == "postgresql" else 3 * services.BATCH_SIZE + 1
    _system_rows(count)
    first = chain.seal(chunk=1300)  # several chunks, each its own transaction
    assert first.sealed == count and first.position == first.sealed
    assert chain.seal(full=True).sealed == 0
    report, code = _verify()
    assert code == 0 and report["checked"] == count


def test_content_hash__covers_every_field_and_the_time_to_the_microsecond(sealed: list[int]) -> None:
    columns = ", ".join(chain.FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {LOG} WHERE id = %s", [sealed[0]])  # noqa: S608
        row = cursor.fetchone()
    entry = json.loads(chain.canonical(row))
    assert len(entry) == len(chain.FIELDS) == len(AccessLog._meta.concrete_fields)
    assert entry[0] == sealed[0] and len(entry[1]) == len("2026-01-01T00:00:00.000000")


# --- tampering is detected ----------------------------------------------------------------------------------------


def test_verify__an_edited_entry__reported_at_its_position_only(sealed: list[int]) -> None:
    victim = sealed[2]
    _as_dba(f"UPDATE {LOG} SET purpose = 'nothing to see' WHERE id = %s", [victim])  # noqa: S608
    report, code = _verify()
    assert code == 1 and not report["ok"]
    assert _kinds(report) == [("edited", _position(victim), _position(victim))]
    assert report["breaks"][0]["entries"] == [victim]


def test_verify__an_edited_time__detected(sealed: list[int]) -> None:
    _as_dba(f"UPDATE {LOG} SET at = %s WHERE id = %s",  # noqa: S608
            [timezone.now() - dt.timedelta(days=400), sealed[-1]])
    report, _code = _verify()
    assert ("edited", _position(sealed[-1]), _position(sealed[-1])) in _kinds(report)


def test_verify__a_deleted_entry__reported_at_its_position(sealed: list[int]) -> None:
    victim = sealed[1]
    position = _position(victim)
    _as_dba(f"DELETE FROM {LOG} WHERE id = %s", [victim])  # noqa: S608
    report, code = _verify()
    assert code == 1 and _kinds(report) == [("deleted", position, position)]


def test_verify__an_entry_and_its_link_deleted__reported_as_missing_position(sealed: list[int]) -> None:
    victim = sealed[3]
    position = _position(victim)
    _as_dba(f"DELETE FROM {SEAL} WHERE entry_id = %s", [victim])  # noqa: S608
    _as_dba(f"DELETE FROM {LOG} WHERE id = %s", [victim])  # noqa: S608
    report, code = _verify()
    assert code == 1 and _kinds(report) == [("missing", position, position)]


def test_verify__a_forged_backdated_entry__reported(sealed: list[int], joint: Any) -> None:
    """A row slipped in afterwards, dated into the sealed past: the next seal chains it at the end, and verify
    reports it there as backdated (before sealing, verify --no-seal reports it as backdated and unsealed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LOG} (at, actor_id, actor_name, actor_role, client_id, category, action, purpose, "  # noqa: S608
            "object_type, object_id, allowed, reason) VALUES (%s, %s, 'Forger', 'coordinator', %s, 'health', "
            "'view', 'View client details', '', '', %s, 'relationship_consent_role')",
            [timezone.now() - dt.timedelta(days=3), joint.coordinator.pk, joint.client.pk, True])
    forged = AccessLog.objects.get(actor_name="Forger").pk
    report, code = _verify("--no-seal")
    assert code == 1 and [b["kind"] for b in report["breaks"]] == ["unsealed_backdated"]
    assert str(forged) in report["breaks"][0]["detail"]
    report, code = _verify()
    position = _position(forged)
    assert position == len(sealed) + 1
    assert code == 1 and _kinds(report) == [("backdated", position, position)]


def test_verify__a_forged_link__reported_as_broken_link(sealed: list[int], joint: Any) -> None:
    """Someone appends an entry with a link of their own making (without recomputing from the real head)."""
    AccessLog.objects.create(actor_name="Forger", client_id=joint.client.pk, category="basic", action="view",
                             purpose="x", allowed=True, reason="x")
    forged = AccessLog.objects.get(actor_name="Forger").pk
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {SEAL} (position, entry_id, content_hash, chain_hash) "  # noqa: S608
                       "VALUES (%s, %s, %s, %s)", [len(sealed) + 1, forged, bytes(32), bytes(32)])
    _page_view(joint)  # a genuine entry waiting for its link: sealing cannot use the forger's position
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        _audit("audit", "verify", "--format", "json", "--quiet", stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert "could not be sealed" in err.getvalue()
    assert ("chain", len(sealed) + 1, len(sealed) + 1) in _kinds(report)
    assert ("edited", len(sealed) + 1, len(sealed) + 1) in _kinds(report)
    assert {"kind": "chain", "first_position": len(sealed) + 1, "last_position": len(sealed) + 1,
            "entries": [], "detail": "beyond head"} in report["breaks"]


def test_verify__truncated_tail__detected_with_the_anchor(sealed: list[int]) -> None:
    report, code = _verify()
    assert code == 0
    anchor = f"{report['head']['position']}:{report['head']['hash']}"
    # A DBA removes the last two entries with their links and sets the head back: the chain itself is consistent.
    last_two = sealed[-2:]
    keep = AccessLogSeal.objects.get(position=len(sealed) - 2)
    _as_dba(f"DELETE FROM {SEAL} WHERE position > %s", [len(sealed) - 2])  # noqa: S608
    _as_dba(f"DELETE FROM {LOG} WHERE id IN (%s, %s)", last_two)  # noqa: S608
    ChainHead.objects.filter(pk=1).update(position=keep.position, chain_hash=keep.chain_hash)
    report, code = _verify()
    assert code == 0, "without an anchor kept elsewhere a consistent cut is invisible"
    report, code = _verify("--expect-head", anchor)
    assert code == 1 and _kinds(report) == [("truncated", len(sealed) - 1, len(sealed))]


def test_verify__head_table_ahead_of_the_chain__truncated(sealed: list[int]) -> None:
    _as_dba(f"DELETE FROM {SEAL} WHERE position = %s", [len(sealed)])  # noqa: S608
    _as_dba(f"DELETE FROM {LOG} WHERE id = %s", [sealed[-1]])  # noqa: S608
    report, code = _verify()
    assert code == 1 and _kinds(report) == [("truncated", len(sealed), len(sealed))]


def test_verify__rewritten_chain__differs_from_the_anchor(sealed: list[int]) -> None:
    anchor_position = len(sealed) - 1
    anchor = f"{anchor_position}:{bytes(AccessLogSeal.objects.get(position=anchor_position).chain_hash).hex()}"
    # Edit an entry and recompute every link after it, as someone who knows the scheme would.
    _as_dba(f"UPDATE {LOG} SET purpose = 'rewritten' WHERE id = %s", [sealed[0]])  # noqa: S608
    _as_dba(f"DELETE FROM {SEAL}")  # noqa: S608
    ChainHead.objects.filter(pk=1).update(position=0, chain_hash=chain.GENESIS)
    chain.seal(full=True)
    assert _verify()[1] == 0
    report, code = _verify("--expect-head", anchor)
    assert code == 1 and _kinds(report) == [("anchor", anchor_position, anchor_position)]


def test_verify__after_a_retention_checkpoint__starts_there(sealed: list[int]) -> None:
    """The hook for the retention job: entries up to a checkpoint are deleted; verify starts after it."""
    cut = AccessLogSeal.objects.get(position=3)
    with guards.unguarded(), transaction.atomic():
        ChainCheckpoint.objects.create(position=3, chain_hash=cut.chain_hash, entries=3, rule="test")
        AccessLog.objects.filter(id__in=sealed[:3]).delete()
        AccessLogSeal.objects.filter(position__lte=3).delete()
    report, code = _verify("--expect-head", f"3:{bytes(cut.chain_hash).hex()}")
    assert code == 0 and report["checkpoint_position"] == 3 and report["first_position"] == 4
    assert report["checked"] == len(sealed) - 3


def test_verify__table_output_lists_positions(sealed: list[int]) -> None:
    _as_dba(f"DELETE FROM {LOG} WHERE id = %s", [sealed[1]])  # noqa: S608
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        _audit("audit", "verify", "--quiet", stdout=out)
    assert exc.value.returncode == 1
    assert f"position {_position(sealed[1])}: deleted" in out.getvalue() and "BROKEN" in out.getvalue()


def test_expect_head__malformed__a_usage_error() -> None:
    with pytest.raises(CommandError, match="POSITION:HASH"):
        _audit("audit", "verify", "--expect-head", "12:zz", stdout=StringIO())


# --- append-only ---------------------------------------------------------------------------------------------------


def test_orm__changing_or_deleting_an_entry__refused(sealed: list[int]) -> None:
    entry = AccessLog.objects.get(pk=sealed[0])
    entry.purpose = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.filter(pk=sealed[0]).update(purpose="changed")
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.bulk_update([entry], ["purpose"])
    with pytest.raises(AppendOnlyError):
        AccessLogSeal.objects.all().delete()
    assert AccessLog.objects.filter(purpose="changed").count() == 0
    assert AccessLog.objects.count() == len(sealed) and AccessLogSeal.objects.count() == len(sealed)


@pytest.mark.parametrize("sql", [f"UPDATE {LOG} SET purpose = 'x'", f"DELETE FROM {LOG}",  # noqa: S608
                                 f"UPDATE {SEAL} SET chain_hash = content_hash", f"DELETE FROM {SEAL}"])  # noqa: S608
def test_database__raw_update_or_delete__refused_by_the_trigger(sealed: list[int], sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AccessLog.objects.count() == len(sealed) and AccessLogSeal.objects.count() == len(sealed)
    assert AccessLog.objects.filter(purpose="x").count() == 0


@pytest.mark.postgres_only
def test_postgres__truncate_refused_and_a_disabled_trigger_reported(sealed: list[int]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE and ALTER TABLE ... DISABLE TRIGGER are PostgreSQL's")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {LOG}")
    assert AccessLog.objects.count() == len(sealed)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {LOG} DISABLE TRIGGER {guards.TRIGGER}")
    report, code = _verify()
    assert code == 1 and report["guards"][LOG] == "disabled"
    assert [(b["kind"], b["detail"]) for b in report["breaks"]] == [("guard", f"{LOG}: disabled")]


def test_guards__on_after_migrate_and_unguarded_restores_them() -> None:
    assert set(guards.status().values()) == {"on"}
    with guards.unguarded():
        pass
    assert set(guards.status().values()) == {"on"}


def test_admin__read_only_even_for_superusers(sealed: list[int], rf: Any) -> None:
    root = get_user_model().objects.create_user("root", password="x", is_staff=True, is_superuser=True)
    request = rf.get("/")
    request.user = root
    from django.contrib import admin

    model_admin = AccessLogAdmin(AccessLog, admin.site)
    entry = AccessLog.objects.get(pk=sealed[0])
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    web = Browser()
    web.force_login(root)
    assert web.get(f"/admin/audit/accesslog/{entry.pk}/delete/").status_code in (302, 403)
    assert web.post(f"/admin/audit/accesslog/{entry.pk}/change/", {"purpose": "x"}).status_code in (302, 403)
    assert web.get("/admin/audit/accesslog/add/").status_code in (302, 403)
    assert AccessLog.objects.get(pk=sealed[0]).purpose == entry.purpose
    assert not AccessLog.objects.filter(purpose="x").exists()


# --- sealing in the background, and concurrently ------------------------------------------------------------------


def test_task__seals_and_schedule_queues_the_next_run(sealed: list[int], joint: Any) -> None:
    from polku.audit.tasks import queued_seals, seal_log

    _page_view(joint)
    result = seal_log.call(reschedule=False)
    assert result["sealed"] > 0 and result["position"] == AccessLog.objects.count()
    out = StringIO()
    _audit("audit", "schedule", stdout=out)
    _audit("audit", "schedule", stdout=out)
    assert queued_seals().count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres__late_commit_below_sealed_ids__sealed_by_the_next_pass() -> None:
    """A transaction that took its id before others but commits after they were sealed is not left out."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    import threading

    inserted, release = threading.Event(), threading.Event()
    late: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                late.append(AccessLog.objects.create(client_id=1, category="basic", action="view", purpose="slow",
                                                     allowed=True, reason="x").pk)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    fast = AccessLog.objects.create(client_id=2, category="basic", action="view", purpose="fast", allowed=True,
                                    reason="x").pk
    assert chain.seal().sealed == 1 and late[0] < fast
    release.set()
    thread.join()
    assert chain.seal().sealed == 1  # the regular pass, not only a full sweep
    assert _position(late[0]) == 2
    report, code = _verify()
    assert code == 0 and report["checked"] == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres__writers_and_sealers_at_once__valid_chain_with_every_row() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    import threading

    from polku.access.policy import log_list_access

    user = f.user()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(kind: int) -> None:
        try:
            for i in range(40):
                with transaction.atomic():
                    if kind == 0:
                        AccessLog.objects.create(client_id=i, category="basic", action="view", purpose="p",
                                                 allowed=True, reason="x")
                    elif kind == 1:
                        log_list_access(user=user, client_ids=list(range(i, i + 5)), category="basic",
                                        purpose="list")
                    else:
                        _system_rows(3)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sealer() -> None:
        try:
            while not stop.is_set():
                chain.seal(chunk=50)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(k % 3,)) for k in range(6)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for t in (*sealers, *writers):
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in sealers:
        t.join()
    assert not errors
    chain.seal()
    total = AccessLog.objects.count()
    assert total == 2 * 40 * (1 + 5 + 3)
    report, code = _verify("--no-seal")
    assert code == 0 and report["checked"] == total and report["unsealed"] == 0
