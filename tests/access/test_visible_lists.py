"""Lists walked a chunk at a time (:class:`polku.core.paging.VisibleRows`) and the one-query check of a chunk's
clients (:func:`polku.access.policy.visible_client_ids`, a cached query over an array of ids on PostgreSQL) give
exactly the clients of the set-based rule (:func:`polku.access.policy.visible_clients`), in the same order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from polku.access.policy import visible_client_ids, visible_clients, visible_clients_page
from polku.clients.models import Client
from polku.clients.selectors import client_search
from polku.core.choices import DataCategory
from polku.core.paging import VisibleRows
from polku.episodes.models import EpisodeStatus
from polku.organisations.models import StaffRole
from polku.referrals.models import ReferralStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(joint: Any) -> Any:
    """Sixty clients named Virtanen or Lahtinen in every situation: an open or closed episode with the
    organisation, a referral to the provider, consent given, never given, expired or revoked."""
    now = timezone.now()
    for n in range(60):
        client = f.client(last_name="Virtanen" if n % 2 else "Lahtinen", first_name=f"Aino{n:02d}")
        if n % 5 != 4:
            f.episode(client, (joint.employment, joint.coordinator),
                      status=EpisodeStatus.CLOSED if n % 7 == 3 else EpisodeStatus.MAPPING)
        if n % 3 == 0:
            f.referral(client, joint.service, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
            f.consent(client, joint.provider, "rehabilitation")
        if n % 4 == 1:
            f.consent(client, joint.employment, valid_to=now - dt.timedelta(days=1))  # expired
        elif n % 4 == 2:
            f.consent(client, joint.employment, revoked=True)
        elif n % 11 != 5:
            f.consent(client, joint.employment)
    joint.provider_user = f.staff(joint.provider, StaffRole.PROVIDER_WORKER)
    joint.readers = [joint.coordinator, joint.social_worker, joint.provider_user, joint.outsider,
                     f.staff(joint.employment, StaffRole.MANAGER)]
    return joint


def test_visible_client_ids__the_set_based_rule_over_any_ids(region: Any) -> None:
    ids = [*Client.objects.values_list("pk", flat=True), 10**9]  # every client, and one that does not exist
    for reader in region.readers:
        for category in (DataCategory.BASIC, DataCategory.EMPLOYMENT, "rehabilitation"):
            expected = set(visible_clients(reader, category).values_list("pk", flat=True))
            assert visible_client_ids(reader, category, ids) == expected, (reader, category)
            assert visible_client_ids(reader, category, []) == set()
    assert 0 < len(visible_client_ids(region.coordinator, DataCategory.BASIC, ids)) < 60


@pytest.mark.parametrize("min_share", [0.0, 1.0])  # walked a chunk at a time, or one query with the policy inside
def test_search_and_api_list__same_clients_in_the_same_order_either_way(region: Any, monkeypatch: Any,
                                                                        min_share: float) -> None:
    monkeypatch.setattr(VisibleRows.__init__, "__kwdefaults__", {**VisibleRows.__init__.__kwdefaults__,
                                                                 "min_share": min_share})
    for reader in region.readers:
        visible = visible_clients(reader)
        for words in ("virtanen", "aino0", "", "LAHTINEN aino1"):
            expected = visible
            for word in words.split():
                expected = expected.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
            shown: list[Any] = []
            offset = 0
            while True:
                page = client_search(actor=reader, query=words, offset=offset, limit=7)
                shown.extend(page.clients)
                offset += 7
                if not page.has_next:
                    break
            assert shown == list(expected.order_by("last_name", "first_name", "pk")), (reader, words)
        by_id = list(visible.order_by("pk"))
        after, listed = 0, []
        while batch := visible_clients_page(reader, after=after, limit=9):
            listed.extend(batch)
            after = batch[-1].pk
        assert listed == by_id, reader
