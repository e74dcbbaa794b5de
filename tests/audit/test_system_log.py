"""System access-log rows for batch work: the same rows whether written in batches or, for many clients on
PostgreSQL, with COPY."""

from __future__ import annotations

import pytest

from polku.audit import services
from polku.audit.models import AccessLog

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, services.COPY_FROM + 1])
def test_one_row_per_client_with_the_same_fields(count: int) -> None:
    ids = list(range(1, count + 1))
    written = services.log_system_access(client_ids=ids, category="basic", action="export",
                                         purpose="Statistics: pseudonymised indicator facts",
                                         actor_name="polku indicators refresh")
    assert written == count
    rows = AccessLog.objects.order_by("client_id")
    assert rows.count() == count
    assert sorted(rows.values_list("client_id", flat=True)) == ids
    first, last = rows.first(), rows.last()
    assert first is not None and last is not None
    for row in (first, last):
        assert row.allowed and row.reason == "system" and row.actor_role == "system"
        assert row.actor_id is None and row.actor_name == "polku indicators refresh"
        assert row.category == "basic" and row.action == "export"
        assert row.purpose == "Statistics: pseudonymised indicator facts"
    assert first.at == last.at
