"""Sealing the access log in the background (Django's tasks API; ``polku worker`` runs it).

Each run seals what has arrived and queues the next run :data:`INTERVAL` later, so one ``polku audit schedule``
(the demo does it) keeps the chain at most about a minute behind the log for as long as a worker runs. A run
sweeps every id (rather than only the recent ones) when the last full sweep is older than
:data:`polku.audit.chain.FULL_SWEEP_EVERY`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

#: Time between two sealing runs.
INTERVAL = dt.timedelta(minutes=1)


def queued_seals() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=f"{__name__}.seal_log", status="READY")


def schedule_next(now: dt.datetime | None = None) -> dt.datetime:
    """Queue the next sealing run unless one is already queued; return when it will run."""
    pending = queued_seals().order_by("run_after").first()
    if pending is not None:
        return pending.run_after
    when = (now or timezone.now()) + INTERVAL
    seal_log.using(run_after=when).enqueue()
    return when


@task()
def seal_log(reschedule: bool = True) -> dict[str, Any]:
    from .chain import FULL_SWEEP_EVERY, seal
    from .models import ChainHead

    head = ChainHead.objects.filter(pk=1).first()
    full = head is None or head.full_sweep_at is None or head.full_sweep_at < timezone.now() - FULL_SWEEP_EVERY
    try:
        result = seal(full=full)
    finally:
        if reschedule:
            schedule_next()
    return {"sealed": result.sealed, "position": result.position, "hash": result.chain_hash.hex(),
            "full": result.full}
