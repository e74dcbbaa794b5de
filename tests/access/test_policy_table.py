"""The access policy as a table: role × relationship × consent state × data category → allowed or not.

The expectation is written out here independently of the code: a staff member may see a category of a client's
data only when their organisation has an active relationship (open episode participation or an open referral
it receives), the client's consent in force covers the organisation and the category (for basic details any
consent in force), and their role needs the category.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from polku.access.policy import decide, visible_clients
from polku.audit.models import AccessAction
from polku.episodes.models import EpisodeParticipant, EpisodeStatus
from polku.organisations.models import OrganisationKind
from polku.referrals.models import ReferralStatus
from tests import factories as f

ROLE_CATEGORIES = {
    "coordinator": {"basic", "employment", "benefits", "rehabilitation"},
    "social_worker": {"basic", "employment", "social", "benefits", "rehabilitation"},
    "health_professional": {"basic", "employment", "health", "rehabilitation"},
    "kela_expert": {"basic", "employment", "benefits", "rehabilitation"},
    "provider_worker": {"basic", "rehabilitation"},
    "manager": set(),
    "administrator": set(),
}
RELATIONSHIPS = ["none", "episode_open", "episode_closed", "episode_left", "referral_open", "referral_closed",
                 "referral_sent_by_us"]
CONSENTS = ["none", "active", "revoked", "expired", "not_yet_valid", "other_category", "other_organisation"]
CATEGORIES = ["basic", "employment", "social", "health", "benefits", "rehabilitation"]
OTHER_CATEGORY = {"basic": "employment", "employment": "health", "social": "employment", "health": "social",
                  "benefits": "rehabilitation", "rehabilitation": "benefits"}


def expected(role: str, relationship: str, consent: str, category: str) -> bool:
    has_relationship = relationship in {"episode_open", "referral_open"}
    consent_covers = consent == "active" or (consent == "other_category" and category == "basic")
    return has_relationship and consent_covers and category in ROLE_CATEGORIES[role]


def build_case(relationship: str, consent: str, category: str) -> tuple[Any, dict[str, Any]]:
    org = f.organisation(OrganisationKind.SOCIAL_SERVICES)
    other_org = f.organisation()
    people = {role: f.staff(org, role) for role in ROLE_CATEGORIES}
    other_person = f.staff(other_org)
    client = f.client()
    if relationship.startswith("episode"):
        status = EpisodeStatus.CLOSED if relationship == "episode_closed" else EpisodeStatus.ACTIVE
        ep = f.episode(client, (org, people["coordinator"]), status=status)
        if relationship == "episode_left":
            EpisodeParticipant.objects.filter(episode=ep, organisation=org).update(left_on=timezone.localdate())
    elif relationship.startswith("referral"):
        if relationship == "referral_sent_by_us":
            svc = f.service(other_org)
            f.referral(client, svc, org, people["coordinator"], ReferralStatus.ACCEPTED)
        else:
            svc = f.service(org)
            status = ReferralStatus.DECLINED if relationship == "referral_closed" else ReferralStatus.ACCEPTED
            f.referral(client, svc, other_org, other_person, status)
    now = timezone.now()
    consent_category = "employment" if category == "basic" else category
    if consent == "active":
        f.consent(client, org, consent_category)
    elif consent == "revoked":
        f.consent(client, org, consent_category, revoked=True)
    elif consent == "expired":
        f.consent(client, org, consent_category, valid_from=now - dt.timedelta(days=30),
                  valid_to=now - dt.timedelta(seconds=1))
    elif consent == "not_yet_valid":
        f.consent(client, org, consent_category, valid_from=now + dt.timedelta(days=1))
    elif consent == "other_category":
        f.consent(client, org, OTHER_CATEGORY[category])
    elif consent == "other_organisation":
        f.consent(client, other_org, consent_category)
    return client, people


@pytest.mark.parametrize(("relationship", "consent", "category"),
                         list(itertools.product(RELATIONSHIPS, CONSENTS, CATEGORIES)))
def test_policy_table__every_role(db: Any, relationship: str, consent: str, category: str) -> None:
    client, people = build_case(relationship, consent, category)
    for role, user in people.items():
        want = expected(role, relationship, consent, category)
        got = decide(user, client, category, AccessAction.VIEW)
        assert got.allowed is want, (role, relationship, consent, category, got.reason)
        # The list query uses the same rule, set-based.
        assert visible_clients(user, category).filter(pk=client.pk).exists() is want, (role, "list")


@pytest.mark.parametrize("relationship", RELATIONSHIPS)
def test_policy__manage_consent__needs_relationship_and_joint_service_role(db: Any, relationship: str) -> None:
    client, people = build_case(relationship, "none", "employment")
    joint_roles = {"coordinator", "social_worker", "health_professional", "kela_expert"}
    for role, user in people.items():
        want = relationship in {"episode_open", "referral_open"} and role in joint_roles
        assert decide(user, client, "basic", AccessAction.MANAGE_CONSENT).allowed is want, (role, relationship)


def test_policy__client__sees_own_data_only(db: Any) -> None:
    me, other = f.client(), f.client()
    me.user = f.user()
    me.save()
    for category in CATEGORIES:
        assert decide(me.user, me, category, AccessAction.VIEW).allowed
        assert not decide(me.user, other, category, AccessAction.VIEW).allowed


def test_policy__anonymous_inactive_and_unknown_category__denied(db: Any, joint: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not decide(AnonymousUser(), joint.client, "basic", AccessAction.VIEW)
    assert decide(joint.coordinator, joint.client, "basic", AccessAction.VIEW)
    assert not decide(joint.coordinator, joint.client, "secret", AccessAction.VIEW)
    joint.coordinator.staff.active = False
    joint.coordinator.staff.save()
    assert not decide(joint.coordinator, joint.client, "basic", AccessAction.VIEW)
    joint.social_worker.is_active = False
    joint.social_worker.save()
    assert not decide(joint.social_worker, joint.client, "basic", AccessAction.VIEW)
