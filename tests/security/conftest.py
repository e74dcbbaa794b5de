"""A seeded demo region shared by the security tests of one module (seeded once, rolled back afterwards)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

DEMO_CLIENTS = 25


@dataclass
class Seeded:
    region: Any
    ids: dict[str, dict[str, Any]]  # username → route parameter → an id that user may open


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Seeded]:
    """The demo region (``polku demo``) plus the records it lacks (a joint assessment with a section and a
    disagreement, an alert comment, portal messages, a job proposal, an outcome contract), in a transaction that is
    rolled back after the module. Yields the region and, per demo user, ids of records they can open."""
    from tests.security.seed import seed

    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                yield seed(DEMO_CLIENTS)
                raise _Rollback
        except _Rollback:
            pass
