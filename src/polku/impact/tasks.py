"""Scheduled retraining through Django's tasks API (``polku worker`` runs it).

``polku impact schedule`` queues the next run for the coming night POLKU_RETRAIN_DAYS days from now (default 30);
each run retrains the employment-potential models (12 and 6 months) and the segments on the database's analysis
table, stores them as new versions with their fairness reports, and queues the next run. A run that finds one
already queued does not queue another.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.utils import timezone
from django_tasks import task


def next_run(now: dt.datetime | None = None) -> dt.datetime:
    days = max(int(os.environ.get("POLKU_RETRAIN_DAYS", "30")), 1)
    hour = int(os.environ.get("POLKU_RETRAIN_HOUR", "3"))
    local = timezone.localtime(now or timezone.now()) + dt.timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def queued() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=f"{__name__}.retrain_models", status="READY")


def schedule_next(now: dt.datetime | None = None) -> dt.datetime:
    pending = queued().order_by("run_after").first()
    if pending is not None and pending.run_after is not None:
        return pending.run_after
    when = next_run(now)
    retrain_models.using(run_after=when).enqueue()
    return when


@task()
def retrain_models(reschedule: bool = True) -> dict[str, Any]:
    from django.db import transaction

    from .services import database_table, default_reference_dates, train_and_store, train_segments_and_store

    dates = default_reference_dates(3)
    result: dict[str, Any] = {"reference_dates": len(dates)}
    if dates:
        with transaction.atomic():
            table = database_table(dates, actor_name="polku impact (scheduled retraining)")
        source = f"database ({len(dates)} reference dates {dates[0]}–{dates[-1]})"
        for outcome in ("employed_12m", "employed_6m"):
            try:
                version, metrics = train_and_store(table, outcome=outcome, features=None, data_source=source,
                                                   trained_by="scheduled retraining")
                result[outcome] = {"version": version.version, "auc": metrics["test"]["auc"]}
            except ValueError as exc:  # too little history yet: reported, not fatal
                result[outcome] = {"error": str(exc)}
        try:
            segments_version, _model = train_segments_and_store(table, data_source=source,
                                                                trained_by="scheduled retraining")
            result["segments"] = {"version": segments_version.version}
        except ValueError as exc:
            result["segments"] = {"error": str(exc)}
    if reschedule:
        schedule_next()
    return result
