"""The referral lists (sent, received) walked in pages: the same referrals, in the same order, as the access
policy's set-based rule gives, whichever way :class:`polku.core.paging.VisibleRows` takes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.core.paging import CappedPaginator
from polku.organisations.models import StaffRole
from polku.referrals import selectors
from polku.referrals.models import ReferralStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(joint: Any) -> Any:
    """Forty referrals to the provider, sent a day apart, of clients the provider may or may not see (every third
    has no consent for it; two are drafts the provider must not see at all)."""
    now = timezone.now()
    for n in range(40):
        client = f.client()
        if n % 3:
            f.consent(client, joint.provider, "rehabilitation")
        status = ReferralStatus.DRAFT if n in (5, 7) else ReferralStatus.SENT
        referral = f.referral(client, joint.service, joint.employment, joint.coordinator, status=status)
        referral.sent_at = None if status == ReferralStatus.DRAFT else now - dt.timedelta(days=n)
        referral.save()
    joint.provider_user = f.staff(joint.provider, StaffRole.PROVIDER_WORKER)
    return joint


@pytest.mark.parametrize("min_share", [0.0, 1.0])
@pytest.mark.parametrize("direction", [selectors.RECEIVED, selectors.SENT])
def test_pages__same_rows_and_order_as_the_policy_rule(many: Any, monkeypatch: Any, min_share: float,
                                                        direction: str) -> None:
    from polku.core.paging import VisibleRows

    monkeypatch.setattr(VisibleRows.__init__, "__kwdefaults__", {**VisibleRows.__init__.__kwdefaults__,
                                                                 "min_share": min_share})
    for reader in (many.provider_user, many.coordinator, many.outsider):
        expected = list(selectors.referrals_visible_to(reader, direction=direction)
                        .order_by("-sent_at", "-created_at", "-pk").values_list("pk", flat=True))
        rows = selectors.referral_rows(reader, direction=direction, chunk=7)
        paginator = CappedPaginator(rows, 7, cap=20)
        assert paginator.count == min(len(expected), 21)
        assert paginator.capped == (len(expected) > 20)
        shown = [r.pk for number in paginator.page_range for r in paginator.page(number).object_list]
        assert shown == expected[:paginator.count]
        if reader == many.provider_user and direction == selectors.RECEIVED:
            assert len(expected) == 24  # 26 with consent, two of them drafts
            assert rows.in_sql == (min_share == 1.0)  # the first chunk has hidden rows: asked of SQL, or walked
