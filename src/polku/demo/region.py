"""The demo: a synthetic region (``polku.synth``) plus one login per role, so every view can be tried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from polku.clients.models import Client
from polku.episodes.models import EpisodeParticipant
from polku.organisations.models import Organisation, StaffMember, StaffRole
from polku.synth.generate import Options, generate
from polku.synth.region import ORGANISATIONS

DEMO_PASSWORD = "polku-demo-2026"  # noqa: S105 - documented demo password, demo data only

# username, organisation key in the synthetic region, role, first name, last name
STAFF: list[tuple[str, str, str, str, str]] = [
    ("coordinator", "employment", StaffRole.COORDINATOR, "Kirsi", "Koordinaattori"),
    ("socialworker", "social", StaffRole.SOCIAL_WORKER, "Sami", "Sosiaalityöntekijä"),
    ("health", "health", StaffRole.HEALTH_PROFESSIONAL, "Terhi", "Terveydenhoitaja"),
    ("kela", "kela", StaffRole.KELA_EXPERT, "Kalle", "Kela-asiantuntija"),
    ("provider", "rehab1", StaffRole.PROVIDER_WORKER, "Paula", "Palveluntuottaja"),
    ("manager", "employment", StaffRole.MANAGER, "Markku", "Esihenkilö"),
    ("admin", "employment", StaffRole.ADMINISTRATOR, "Aada", "Ylläpitäjä"),
    ("procurement", "employment", StaffRole.PROCUREMENT_OFFICER, "Pirjo", "Hankinta-asiantuntija"),
]
CASELOAD = 60  # open episodes whose employment-services responsible person is the demo coordinator


@dataclass
class DemoRegion:
    summary: dict[str, Any]
    staff: dict[str, Any]
    portal_client: Client


@transaction.atomic
def load_demo_region(*, clients: int = 5000, seed: int = 1) -> DemoRegion:
    """Generate the synthetic region and add the demo logins. The database must be empty."""
    summary = generate(Options(clients=clients, seed=seed))
    names = {key: fi for key, _kind, fi, _sv, _en in ORGANISATIONS}
    user_model = get_user_model()
    staff: dict[str, Any] = {}
    for username, org_key, role, first, last in STAFF:
        organisation = Organisation.objects.get(name_fi=names[org_key])
        admin = role == StaffRole.ADMINISTRATOR
        user = user_model.objects.create_user(username=username, password=DEMO_PASSWORD, first_name=first,
                                              last_name=last, is_staff=admin, is_superuser=admin)
        StaffMember.objects.create(user=user, organisation=organisation, role=role)
        staff[username] = user
    # The demo professionals become the named responsible persons of some open episodes.
    for username in ("coordinator", "socialworker", "health", "kela"):
        member = staff[username].staff
        ids = list(EpisodeParticipant.objects.filter(
            organisation_id=member.organisation_id, episode__status__in=["mapping", "active"]
        ).order_by("episode_id").values_list("pk", flat=True)[:CASELOAD])
        EpisodeParticipant.objects.filter(pk__in=ids).update(responsible_person=member)
    # The portal client: someone with an open episode and a plan.
    portal = Client.objects.filter(episodes__status="active", episodes__plan__isnull=False).order_by("pk").first()
    if portal is None:
        portal = Client.objects.order_by("pk").first()
    assert portal is not None
    portal.user = user_model.objects.create_user(username="client", password=DEMO_PASSWORD,
                                                 first_name=portal.first_name, last_name=portal.last_name)
    portal.save(update_fields=["user"])
    # The coordination engine's first sweep, so the worklists have something in them from the start.
    from polku.coordination.services import sweep

    summary["sweep"] = sweep(triggered_by="demo").run.counts
    return DemoRegion(summary=summary, staff=staff, portal_client=portal)
