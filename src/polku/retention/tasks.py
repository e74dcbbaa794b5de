"""The nightly retention run as a background task (Django's tasks API; ``polku worker`` runs it).

Like the coordination sweep, each run queues the next one for the coming night, so one
``polku retention schedule`` keeps the rules enforced every day for as long as a worker runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tasks import task


def queued_runs() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=f"{__name__}.nightly_retention", status="READY")


def schedule_next(now: dt.datetime | None = None) -> dt.datetime:
    """Queue the next nightly retention run unless one is already queued; return when it will run."""
    from polku.coordination.tasks import next_night

    pending = queued_runs().order_by("run_after").first()
    if pending is not None:
        return pending.run_after
    when = next_night(now) + dt.timedelta(hours=2)  # after the sweep and the indicator refresh
    nightly_retention.using(run_after=when).enqueue()
    return when


@task()
def nightly_retention(as_of: str | None = None, reschedule: bool = True) -> dict[str, Any]:
    from .services import run_retention

    day = dt.date.fromisoformat(as_of) if as_of else None
    try:
        result = run_retention(day, triggered_by="task")
    finally:
        if reschedule:
            schedule_next()
    return result.as_dict()
