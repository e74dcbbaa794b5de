"""The daily sweep as a background task (Django's tasks API; ``polku worker`` runs it).

Each run queues the next one for the coming night, so one ``polku sweep --schedule`` (the demo does it) keeps
the sweep going every day for as long as a worker runs. A run that finds a later one already queued does not
queue another, so scheduling twice does not double the sweeps.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.utils import timezone
from django_tasks import task


def next_night(now: dt.datetime | None = None) -> dt.datetime:
    """The next POLKU_SWEEP_HOUR o'clock (default 2) in Finnish time."""
    hour = int(os.environ.get("POLKU_SWEEP_HOUR", "2"))
    local = timezone.localtime(now or timezone.now())
    run = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if run <= local:
        run += dt.timedelta(days=1)
    return run


def queued_sweeps() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=f"{__name__}.daily_sweep", status="READY")


def schedule_next(now: dt.datetime | None = None) -> dt.datetime:
    """Queue the next nightly sweep unless one is already queued; return when it will run."""
    pending = queued_sweeps().order_by("run_after").first()
    if pending is not None:
        return pending.run_after
    when = next_night(now)
    daily_sweep.using(run_after=when).enqueue()
    return when


@task()
def daily_sweep(as_of: str | None = None, reschedule: bool = True) -> dict[str, Any]:
    from .services import sweep

    day = dt.date.fromisoformat(as_of) if as_of else None
    result = sweep(as_of=day, triggered_by="task")
    if reschedule:
        schedule_next()
    return {"as_of": result.run.as_of.isoformat(), "opened": result.run.opened, "resolved": result.run.resolved,
            "open": result.run.open_total, "seconds": round(result.seconds, 2),
            "incremental": result.run.incremental, "clients_evaluated": result.run.clients_evaluated}
