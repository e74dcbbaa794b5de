"""A small, deterministic demo region, built through Polku's own services (so every record is validated and
every access is logged, as in real use). The synthetic region generator (``polku synth``) replaces it for
realistic volumes.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from polku.assessments.services import assessment_record
from polku.catalogue.models import CostUnit, Service, ServiceClass
from polku.clients.models import Client, EmploymentStatus, Gender
from polku.clients.services import ConsentGrant, client_register, employment_period_record
from polku.core.choices import DataCategory
from polku.core.identity import make_business_id, make_hetu
from polku.episodes.services import episode_add_participant
from polku.organisations.models import Organisation, OrganisationKind, StaffMember, StaffRole
from polku.plans.models import GoalArea, StepKind
from polku.plans.services import GoalInput, StepInput, plan_add_version, plan_sign
from polku.referrals.models import ReferralStatus
from polku.referrals.services import referral_create, referral_transition

DEMO_PASSWORD = "polku-demo-2026"  # noqa: S105 - documented demo password, demo data only
MUNICIPALITY = "179"  # Jyväskylä

FIRST_NAMES_FI = ["Aino", "Eero", "Helmi", "Juho", "Kaisa", "Lauri", "Minna", "Niko", "Oona", "Pekka", "Riikka",
                  "Sami", "Tiina", "Ville", "Sanna", "Mikko"]
FIRST_NAMES_SV = ["Anna", "Erik", "Johanna", "Karl", "Linnea", "Oskar", "Sofia", "Viktor"]
LAST_NAMES = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
              "Järvinen", "Lehtonen", "Lindqvist", "Nyström", "Holmberg", "Saarinen", "Rantanen", "Salminen"]

ORGANISATIONS: list[tuple[str, str, str, str, str]] = [
    ("employment", OrganisationKind.EMPLOYMENT_SERVICES, "Demokaupungin työllisyyspalvelut",
     "Demostadens sysselsättningstjänster", "Demo City Employment Services"),
    ("social", OrganisationKind.SOCIAL_SERVICES, "Demon hyvinvointialue, sosiaalipalvelut",
     "Demo välfärdsområde, socialtjänster", "Demo Wellbeing County, social services"),
    ("health", OrganisationKind.HEALTH_SERVICES, "Demon hyvinvointialue, terveyspalvelut",
     "Demo välfärdsområde, hälsotjänster", "Demo Wellbeing County, health services"),
    ("kela", OrganisationKind.KELA, "Kela, Demon palvelupiste", "FPA, Demo servicepunkt", "Kela, Demo office"),
    ("rehab", OrganisationKind.REHABILITATION_PROVIDER, "Kuntoutus Polku Oy", "Rehabilitering Polku Ab",
     "Polku Rehabilitation Ltd"),
    ("ngo", OrganisationKind.NGO, "Työpaja ry", "Verkstad rf", "Workshop Association"),
    ("social_enterprise", OrganisationKind.SOCIAL_ENTERPRISE, "Osuuskunta Tekijät", "Andelslaget Görarna",
     "Makers Cooperative"),
    ("education", OrganisationKind.EDUCATION_PROVIDER, "Demon ammattiopisto", "Demo yrkesinstitut",
     "Demo Vocational College"),
    ("employer", OrganisationKind.EMPLOYER, "Demo Logistiikka Oy", "Demo Logistik Ab", "Demo Logistics Ltd"),
]

# username, organisation key, role, first name, last name
STAFF: list[tuple[str, str, str, str, str]] = [
    ("coordinator", "employment", StaffRole.COORDINATOR, "Kirsi", "Koordinaattori"),
    ("socialworker", "social", StaffRole.SOCIAL_WORKER, "Sami", "Sosiaalityöntekijä"),
    ("health", "health", StaffRole.HEALTH_PROFESSIONAL, "Terhi", "Terveydenhoitaja"),
    ("kela", "kela", StaffRole.KELA_EXPERT, "Kalle", "Kela-asiantuntija"),
    ("provider", "rehab", StaffRole.PROVIDER_WORKER, "Paula", "Palveluntuottaja"),
    ("manager", "employment", StaffRole.MANAGER, "Markku", "Esihenkilö"),
    ("admin", "employment", StaffRole.ADMINISTRATOR, "Aada", "Ylläpitäjä"),
]

# provider key, class, data category, fi, sv, en, unit cost, cost unit, capacity
SERVICES: list[tuple[str, str, str, str, str, str, int, str, int]] = [
    ("rehab", ServiceClass.VOCATIONAL_REHABILITATION, DataCategory.REHABILITATION,
     "Ammatillinen kuntoutusselvitys", "Utredning av yrkesinriktad rehabilitering",
     "Vocational rehabilitation assessment", 1800, CostUnit.PER_SERVICE, 20),
    ("rehab", ServiceClass.WORK_TRIAL, DataCategory.REHABILITATION, "Työkokeilu kuntoutuksena",
     "Arbetsprövning som rehabilitering", "Work trial as rehabilitation", 95, CostUnit.PER_DAY, 15),
    ("ngo", ServiceClass.REHABILITATIVE_WORK, DataCategory.REHABILITATION, "Kuntouttava työtoiminta, työpaja",
     "Arbetsverksamhet i rehabiliteringssyfte, verkstad", "Rehabilitative work activity, workshop", 45,
     CostUnit.PER_DAY, 30),
    ("ngo", ServiceClass.LOW_THRESHOLD, DataCategory.REHABILITATION, "Matalan kynnyksen kohtaamispaikka",
     "Lågtröskelmötesplats", "Low-threshold drop-in centre", 0, CostUnit.PER_SERVICE, 60),
    ("social_enterprise", ServiceClass.WAGE_SUBSIDY, DataCategory.EMPLOYMENT,
     "Palkkatukityö yhteiskunnallisessa yrityksessä", "Lönesubventionerat arbete i socialt företag",
     "Wage-subsidised work in a social enterprise", 1500,
     CostUnit.PER_MONTH, 10),
    ("education", ServiceClass.TRAINING, DataCategory.EMPLOYMENT, "Työvoimakoulutus: logistiikka",
     "Arbetskraftsutbildning: logistik", "Labour market training: logistics", 60, CostUnit.PER_DAY, 25),
    ("health", ServiceClass.MENTAL_HEALTH_SUBSTANCE, DataCategory.HEALTH, "Työttömien terveystarkastus",
     "Hälsokontroll för arbetslösa", "Health check for the unemployed", 250, CostUnit.PER_SERVICE, 40),
    ("social", ServiceClass.DEBT_HOUSING, DataCategory.SOCIAL, "Talous- ja velkaneuvonta",
     "Ekonomi- och skuldrådgivning", "Financial and debt advice", 120, CostUnit.PER_SERVICE, 40),
]


@dataclass
class DemoRegion:
    organisations: dict[str, Organisation]
    staff: dict[str, Any]
    clients: list[Client]


def _business_id(rng: random.Random) -> str:
    while True:
        candidate = make_business_id(f"{rng.randrange(1_000_000, 9_999_999):07d}")
        if candidate and not Organisation.objects.filter(business_id=candidate).exists():
            return candidate


@transaction.atomic
def load_demo_region(*, clients: int = 40, seed: int = 2026) -> DemoRegion:
    """Create the demo region in an empty database. Deterministic for a given seed."""
    rng = random.Random(seed)
    user_model = get_user_model()
    organisations = {}
    for key, kind, fi, sv, en in ORGANISATIONS:
        organisations[key] = Organisation.objects.create(
            name_fi=fi, name_sv=sv, name_en=en, kind=kind, business_id=_business_id(rng),
            municipality_code=MUNICIPALITY,
        )
    staff_users: dict[str, Any] = {}
    for username, org_key, role, first, last in STAFF:
        user = user_model.objects.create_user(username=username, password=DEMO_PASSWORD, first_name=first,
                                              last_name=last, is_staff=role == StaffRole.ADMINISTRATOR,
                                              is_superuser=role == StaffRole.ADMINISTRATOR)
        StaffMember.objects.create(user=user, organisation=organisations[org_key], role=role)
        staff_users[username] = user
    services = [
        Service.objects.create(
            provider=organisations[p], service_class=cls, data_category=cat, name_fi=fi, name_sv=sv, name_en=en,
            unit_cost=cost, cost_unit=unit, capacity=cap, languages=["fi", "sv"], municipality_codes=[MUNICIPALITY],
            target_groups=["long_term_unemployed", "partial_work_ability"],
        )
        for p, cls, cat, fi, sv, en, cost, unit, cap in SERVICES
    ]
    coordinator = staff_users["coordinator"]
    today = timezone.localdate()
    made: list[Client] = []
    for index in range(clients):
        made.append(_demo_client(rng, index, today, organisations, staff_users, services))
    # One client has a portal login, so the client's view can be tried.
    portal = made[0]
    portal.user = user_model.objects.create_user(username="client", password=DEMO_PASSWORD,
                                                 first_name=portal.first_name, last_name=portal.last_name)
    portal.save(update_fields=["user"])
    del coordinator
    return DemoRegion(organisations=organisations, staff=staff_users, clients=made)


def _demo_client(rng: random.Random, index: int, today: dt.date, orgs: dict[str, Organisation],
                 staff: dict[str, Any], services: list[Service]) -> Client:
    age = rng.randint(19, 63)
    birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    swedish = rng.random() < 0.1
    first = rng.choice(FIRST_NAMES_SV if swedish else FIRST_NAMES_FI)
    start = today - dt.timedelta(days=rng.randint(20, 500))
    grants = [ConsentGrant(orgs["employment"].pk, DataCategory.EMPLOYMENT, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["employment"].pk, DataCategory.BENEFITS, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["social"].pk, DataCategory.SOCIAL, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["health"].pk, DataCategory.HEALTH, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["kela"].pk, DataCategory.BENEFITS, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["kela"].pk, DataCategory.REHABILITATION, "Monialainen yhteispalvelu"),
              ConsentGrant(orgs["rehab"].pk, DataCategory.REHABILITATION, "Kuntoutuspalvelut")]
    for key in ("ngo", "social_enterprise", "education", "health", "social"):
        for category in {DataCategory.REHABILITATION, DataCategory.EMPLOYMENT, DataCategory.HEALTH,
                         DataCategory.SOCIAL} if key in ("health", "social") else {DataCategory.REHABILITATION,
                                                                                  DataCategory.EMPLOYMENT}:
            if not any(g.organisation_id == orgs[key].pk and g.category == category for g in grants):
                grants.append(ConsentGrant(orgs[key].pk, category, "Palveluohjaus"))
    client = client_register(
        actor=staff["coordinator"],
        personal_identity_code=make_hetu(birth, 900 + index % 100, variant=index),
        first_name=first, last_name=rng.choice(LAST_NAMES), municipality_code=MUNICIPALITY,
        start_date=start, consents=grants,
        gender=rng.choice([Gender.WOMAN, Gender.MAN, Gender.MAN, Gender.WOMAN, Gender.NOT_STATED]),
        preferred_language="sv" if swedish else "fi",
    )
    episode = client.episodes.get()
    for username in ("socialworker", "health", "kela"):
        episode_add_participant(actor=staff["coordinator"], episode_id=episode.pk,
                                responsible_person_id=staff[username].staff.pk, joined_on=start)
    employment_period_record(actor=staff["coordinator"], client_id=client.pk, status=EmploymentStatus.UNEMPLOYED,
                             start_date=start - dt.timedelta(days=rng.randint(365, 1500)), source="demo")
    for months_ago in (rng.randint(9, 14), rng.randint(3, 6), 0):
        day = max(start, today - dt.timedelta(days=30 * months_ago))
        assessment_record(actor=staff["health"], client_id=client.pk, instrument_code="work-ability-score",
                          answers={"was": rng.randint(2, 9)}, assessed_on=day, episode_id=episode.pk)
    if index % 4 != 3:  # most clients have a plan; a quarter are still in the mapping period
        service = rng.choice(services)
        version = plan_add_version(
            actor=staff["coordinator"], episode_id=episode.pk, expected_version=0,
            employment_goal="Palkkatyö avoimilla työmarkkinoilla",
            goals=[
                GoalInput(area=GoalArea.HEALTH, title="Työkyvyn selvittäminen", steps=[
                    StepInput(description="Terveystarkastus", owner_organisation_id=orgs["health"].pk,
                              due_date=today + dt.timedelta(days=rng.randint(-20, 60))),
                ]),
                GoalInput(area=GoalArea.EMPLOYMENT, title="Polku työhön", steps=[
                    StepInput(description=str(service), kind=StepKind.SERVICE, service_id=service.pk,
                              owner_organisation_id=service.provider_id,
                              due_date=today + dt.timedelta(days=rng.randint(0, 120))),
                    StepInput(description="Päivitä CV", owned_by_client=True,
                              due_date=today + dt.timedelta(days=14)),
                ]),
            ],
        )
        plan_sign(actor=staff["coordinator"], plan_version_id=version.pk)
        if index % 3 == 0:
            plan_sign(actor=staff["coordinator"], plan_version_id=version.pk, client_agreed_in_person=True)
        referral = referral_create(actor=staff["coordinator"], client_id=client.pk, service_id=service.pk,
                                   reason_for_referral="Tuki työllistymiseen", episode_id=episode.pk)
        path = [ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.STARTED]
        receiver = _receiver(service, staff)
        for step_number, status in enumerate(path[: 1 + index % 4]):
            actor = staff["coordinator"] if step_number == 0 else receiver
            if actor is None:
                break
            referral_transition(actor=actor, referral_id=referral.pk, to_status=status)
    return client


def _receiver(service: Service, staff: dict[str, Any]) -> Any:
    """The demo staff member who handles referrals to this service's provider, if any."""
    for user in staff.values():
        member = getattr(user, "staff", None)
        if member is not None and member.organisation_id == service.provider_id and member.role not in (
            StaffRole.MANAGER, StaffRole.ADMINISTRATOR
        ):
            return user
    return None
