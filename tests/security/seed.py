"""Seeding for the security tests: the demo region, the records it does not generate, and per user the ids of
records they may open (to fill the URL patterns' parameters)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

STAFF_USERS = ("coordinator", "socialworker", "health", "kela", "provider", "manager", "admin", "procurement")


def seed(clients: int) -> Any:
    from polku.assessments.models import Disagreement, JointAssessment, JointAssessmentSection
    from polku.clients.models import Consent
    from polku.clients.selectors import caseload
    from polku.coordination.models import Alert, AlertEvent, AlertEventKind
    from polku.demo.region import load_demo_region
    from polku.episodes.models import JointServiceEpisode
    from polku.impact.models import ContractPayment, OutcomeContract
    from polku.organisations.models import Unit
    from polku.partners.models import Opening, Proposal, PublicContract
    from polku.plans.models import Step
    from polku.portal.models import ClientMessage
    from polku.referrals.models import Referral

    from .conftest import Seeded

    region = load_demo_region(clients=clients, seed=7)
    coordinator = region.staff["coordinator"]
    member = coordinator.staff
    portal = region.portal_client
    episode = JointServiceEpisode.objects.filter(client=portal).order_by("-pk").first()
    assert episode is not None
    # Records the generator leaves out, so that every free-text field has a row to carry a payload.
    joint = JointAssessment.objects.create(episode=episode, held_on=timezone.localdate(), created_by=coordinator,
                                           client_view="view", summary="summary")
    JointAssessmentSection.objects.create(joint_assessment=joint, area="employment", assessor=member,
                                          findings="findings", service_needs="needs")
    Disagreement.objects.create(joint_assessment=joint, topic="topic", areas=["employment"], positions="positions",
                                resolution="resolution")
    alert = Alert.objects.filter(client__in=caseload(actor=coordinator)).order_by("pk").first()
    if alert is not None:
        AlertEvent.objects.create(alert=alert, kind=AlertEventKind.COMMENT, by=coordinator, note="note")
    ClientMessage.objects.create(client=portal, episode=episode, sender=coordinator,
                                 sender_organisation=member.organisation, from_client=False, body="message")
    assert portal.user is not None
    ClientMessage.objects.create(client=portal, episode=episode, sender=portal.user, from_client=True, body="reply")
    Unit.objects.create(organisation=member.organisation, name_fi="yksikkö", name_sv="enhet", name_en="unit")
    opening = Opening.objects.order_by("pk").first()
    if opening is not None:
        Proposal.objects.get_or_create(client=portal, opening=opening, defaults={
            "proposed_by": coordinator, "organisation": member.organisation,
            "client_agreed_on": timezone.localdate() - dt.timedelta(days=1)})
    contract = OutcomeContract.objects.create(name="hostile", title="title", design="cohort",
                                              description="description", created_by=coordinator)
    ContractPayment.objects.create(contract=contract, number=1, data_source="source", data_hash="0" * 64, rows=10,
                                   amount_eur=0, uncapped_eur=0, evidence={})

    ids: dict[str, dict[str, Any]] = {}
    for username in (*STAFF_USERS, "client"):
        user = region.staff.get(username) or portal.user
        if username == "client" or caseload(actor=user).filter(pk=portal.pk).exists():
            client = portal
        else:
            client = (caseload(actor=user).filter(episodes__plan__isnull=False).order_by("pk").first()
                      or caseload(actor=user).order_by("pk").first() or portal)
        episode_of = (JointServiceEpisode.objects.filter(client=client, plan__isnull=False).order_by("-pk").first()
                      or JointServiceEpisode.objects.filter(client=client).order_by("-pk").first())
        values: dict[str, Any] = {
            "client_id": client.pk,
            "episode_id": episode_of.pk if episode_of else 1,
            "consent_id": Consent.objects.filter(client=client).values_list("pk", flat=True).first() or 1,
            "step_id": Step.objects.filter(goal__plan_version__plan__episode__client=client)
            .values_list("pk", flat=True).first() or 1,
            "referral_id": Referral.objects.filter(client=client).values_list("pk", flat=True).first()
            or Referral.objects.values_list("pk", flat=True).first() or 1,
            "alert_id": alert.pk if alert else 1,
            "joint_id": joint.pk,
            "service_id": Referral.objects.values_list("service_id", flat=True).first() or 1,
            "organisation_id": member.organisation_id,
            "staff_id": member.pk,
            "opening_id": opening.pk if opening else 1,
            "contract_id": PublicContract.objects.values_list("pk", flat=True).first() or 1,
            "proposal_id": Proposal.objects.values_list("pk", flat=True).first() or 1,
            "action": "send",
            "name": contract.name,  # an outcome-based contract's page
        }
        if username == "client":
            values["client_id"] = ids["coordinator"]["client_id"]  # the staff thread route is for staff
        ids[username] = values
    return Seeded(region=region, ids=ids)
