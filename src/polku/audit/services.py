"""Access-log rows for work that no access-policy decision precedes: batch work run from the command line
(register imports, right-of-access exports).

Such work is not a staff member's request that the policy could allow or refuse: whoever runs ``polku`` on the
server already holds the database. What the log must still tell the client is that their data was processed,
when, by what and why. A row written here has ``reason = "system"``, ``actor_role = "system"`` and, as its
actor, the user named with the command's ``--user`` (if any) or nobody, with ``actor_name`` naming the command.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.utils import timezone

from polku.access.policy import Purpose, source_text, staff_of

from .models import AccessLog

#: ``actor_role`` and ``reason`` of a row written by batch work rather than decided by the access policy.
SYSTEM = "system"

BATCH_SIZE = 1000
#: Above this many rows, PostgreSQL gets them with COPY (a nightly statistics run reads every client).
COPY_FROM = 20_000


def log_system_access(
    *, client_ids: Iterable[int], category: str, action: str, purpose: Purpose, actor_name: str,
    user: Any = None, object_type: str = "", object_id: str = "",
) -> int:
    """Write one allowed access-log row per client, in batched inserts, in the caller's transaction.

    ``actor_name`` names the batch work (``"polku import register"``); with ``user``, the row names that person
    (and their organisation and role, if staff) as well. Returns the number of rows written.
    """
    staff = staff_of(user)
    actor = user if getattr(user, "is_authenticated", False) else None
    name = actor_name
    if actor is not None:
        name = f"{actor.get_full_name() or actor.get_username()} ({actor_name})"
    now = timezone.now()
    text = source_text(purpose)[:300]
    ids = list(client_ids)
    if len(ids) > COPY_FROM and connection.vendor == "postgresql":
        return _copy_rows(ids, now=now, actor=actor, name=name[:300], staff=staff, category=category, action=action,
                          purpose=text, object_type=object_type[:64], object_id=object_id[:64])
    rows = [
        AccessLog(at=now, actor=actor, actor_name=name[:300],
                  actor_organisation_id=staff.organisation_id if staff else None,
                  actor_role=staff.role if staff else SYSTEM, client_id=client_id, category=category,
                  action=action, purpose=text, object_type=object_type[:64], object_id=object_id[:64],
                  allowed=True, reason=SYSTEM)
        for client_id in ids
    ]
    AccessLog.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    return len(rows)


def _copy_rows(ids: list[int], *, now: Any, actor: Any, name: str, staff: Any, category: str, action: str,
               purpose: str, object_type: str, object_id: str) -> int:
    """The same rows as :func:`log_system_access` writes, with PostgreSQL's COPY (one statement)."""
    import numpy as np

    from polku.synth.tables import Rows
    from polku.synth.writer import write

    n = len(ids)

    def same(value: Any) -> np.ndarray:
        out = np.empty(n, dtype=object)
        out[:] = [value] * n
        return out

    return write(Rows(AccessLog, {
        "at": same(now), "actor_id": same(actor.pk if actor is not None else None), "actor_name": same(name),
        "actor_organisation_id": same(staff.organisation_id if staff else None),
        "actor_role": same(staff.role if staff else SYSTEM), "client_id": np.asarray(ids, dtype=np.int64),
        "category": same(category), "action": same(action), "purpose": same(purpose),
        "object_type": same(object_type), "object_id": same(object_id), "allowed": np.ones(n, dtype=bool),
        "reason": same(SYSTEM),
    }))
