"""The nightly rebuild of the indicator facts as a background task (Django's tasks API; ``polku worker`` runs it).

Like the coordination sweep, each run queues the next one for the coming night, so one
``polku indicators schedule`` (the demo does it) keeps the facts fresh for as long as a worker runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tasks import task


def queued_refreshes() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=f"{__name__}.nightly_refresh", status="READY")


def schedule_next(now: dt.datetime | None = None) -> dt.datetime:
    """Queue the next nightly refresh unless one is already queued; return when it will run."""
    from polku.coordination.tasks import next_night

    pending = queued_refreshes().order_by("run_after").first()
    if pending is not None:
        return pending.run_after
    when = next_night(now) + dt.timedelta(hours=1)  # after the coordination sweep
    nightly_refresh.using(run_after=when).enqueue()
    return when


@task()
def nightly_refresh(as_of: str | None = None, reschedule: bool = True) -> dict[str, Any]:
    from .facts import refresh

    day = dt.date.fromisoformat(as_of) if as_of else None
    run = refresh(day, triggered_by="task")
    if reschedule:
        schedule_next()
    return {"as_of": run.as_of.isoformat(), "participations": run.participations, "referrals": run.referrals}
