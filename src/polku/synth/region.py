"""The synthetic region's organisations, service catalogue and staff (small; created through the ORM)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from polku.catalogue.models import Service
from polku.core.identity import make_business_id
from polku.organisations.models import Organisation, OrganisationKind, ServiceArea, StaffMember, StaffRole

from . import params as P

K = OrganisationKind
ORGANISATIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "employment",
        K.EMPLOYMENT_SERVICES,
        "Järviseudun työllisyysalue",
        "Sjöregionens sysselsättningsområde",
        "Lake Region Employment Area",
    ),
    (
        "social",
        K.SOCIAL_SERVICES,
        "Järviseudun hyvinvointialue, sosiaalipalvelut",
        "Sjöregionens välfärdsområde, socialtjänster",
        "Lake Region Wellbeing County, social services",
    ),
    (
        "health",
        K.HEALTH_SERVICES,
        "Järviseudun hyvinvointialue, terveyspalvelut",
        "Sjöregionens välfärdsområde, hälsotjänster",
        "Lake Region Wellbeing County, health services",
    ),
    ("kela", K.KELA, "Kela, Järviseudun palvelupiste", "FPA, Sjöregionens servicepunkt", "Kela, Lake Region office"),
    (
        "rehab1",
        K.REHABILITATION_PROVIDER,
        "Kuntoutuskeskus Harju Oy",
        "Rehabiliteringscentret Harju Ab",
        "Harju Rehabilitation Centre Ltd",
    ),
    (
        "rehab2",
        K.REHABILITATION_PROVIDER,
        "Työkykypalvelut Verso Oy",
        "Arbetsförmågetjänster Verso Ab",
        "Verso Work Ability Services Ltd",
    ),
    (
        "rehab3",
        K.REHABILITATION_PROVIDER,
        "Kuntoutus Saarni Oy",
        "Rehabilitering Saarni Ab",
        "Saarni Rehabilitation Ltd",
    ),
    ("ngo1", K.NGO, "Työpajayhdistys Kipinä ry", "Verkstadsföreningen Kipinä rf", "Kipinä Workshop Association"),
    (
        "ngo2",
        K.NGO,
        "Mielenterveysyhdistys Tuki ry",
        "Föreningen för psykisk hälsa Tuki rf",
        "Tuki Mental Health Association",
    ),
    ("ngo3", K.NGO, "Nuorten polku ry", "Ungas stig rf", "Youth Path Association"),
    (
        "ngo4",
        K.NGO,
        "Monikulttuurinen yhdistys Silta ry",
        "Mångkulturella föreningen Silta rf",
        "Silta Multicultural Association",
    ),
    ("se1", K.SOCIAL_ENTERPRISE, "Osuuskunta Kätevät", "Andelslaget Kätevät", "Kätevät Cooperative"),
    ("se2", K.SOCIAL_ENTERPRISE, "Kierto Oy", "Kierto Ab", "Kierto Ltd"),
    ("se3", K.SOCIAL_ENTERPRISE, "Puutyö Oksa Oy", "Träarbete Oksa Ab", "Oksa Woodwork Ltd"),
    (
        "edu1",
        K.EDUCATION_PROVIDER,
        "Järviseudun ammattiopisto",
        "Sjöregionens yrkesinstitut",
        "Lake Region Vocational College",
    ),
    (
        "edu2",
        K.EDUCATION_PROVIDER,
        "Aikuiskoulutuskeskus Taito",
        "Vuxenutbildningscentret Taito",
        "Taito Adult Education Centre",
    ),
    ("emp1", K.EMPLOYER, "Logistiikka Kaari Oy", "Logistik Kaari Ab", "Kaari Logistics Ltd"),
    ("emp2", K.EMPLOYER, "Hoivapalvelut Lempi Oy", "Omsorgstjänster Lempi Ab", "Lempi Care Services Ltd"),
    ("emp3", K.EMPLOYER, "Rakennus Perusta Oy", "Byggnad Perusta Ab", "Perusta Construction Ltd"),
    ("emp4", K.EMPLOYER, "Kauppa Tori Oy", "Handel Tori Ab", "Tori Retail Ltd"),
)

#: Which kind of organisation provides each kind of service.
PROVIDER_KEYS = {kind: [key for key, k, *_ in ORGANISATIONS if k == kind] for kind in K.values}
VARIANTS = 3  # each provider offers each of its service types in up to three places


@dataclass
class Region:
    organisations: dict[str, Organisation]
    services: list[list[Service]]  # per service type (P.SERVICE_TYPES order)
    coordinators: list[StaffMember]
    social_workers: list[StaffMember]
    health_professionals: list[StaffMember]
    kela_experts: list[StaffMember]
    provider_workers: dict[int, list[StaffMember]]  # organisation id → workers


def _business_id(rng: random.Random) -> str:
    while True:
        candidate = make_business_id(f"{rng.randrange(3_000_000, 3_999_999):07d}")
        if candidate:
            return candidate


def staff_plan(clients: int) -> list[tuple[str, str, int]]:
    """(organisation key, role, how many) for a region of ``clients`` clients."""
    plan: list[tuple[str, str, int]] = [
        ("employment", StaffRole.COORDINATOR, max(3, clients // 150)),
        ("social", StaffRole.SOCIAL_WORKER, max(2, clients // 300)),
        ("health", StaffRole.HEALTH_PROFESSIONAL, max(2, clients // 400)),
        ("kela", StaffRole.KELA_EXPERT, max(2, clients // 500)),
        ("employment", StaffRole.MANAGER, 2),
        ("social", StaffRole.MANAGER, 1),
        ("employment", StaffRole.ADMINISTRATOR, 1),
    ]
    for key, kind, *_ in ORGANISATIONS:
        if kind in (K.REHABILITATION_PROVIDER, K.NGO, K.SOCIAL_ENTERPRISE, K.EDUCATION_PROVIDER):
            plan.append((key, StaffRole.PROVIDER_WORKER, max(2, clients // 2000)))
    return plan


@transaction.atomic
def ensure_region(*, seed: int, clients: int) -> Region:
    """Create the region's organisations, services and staff, or find them when they exist (``--append``)."""
    rng = random.Random(seed)
    orgs: dict[str, Organisation] = {}
    for key, kind, fi, sv, en in ORGANISATIONS:
        business_id = _business_id(rng)
        orgs[key], _ = Organisation.objects.get_or_create(
            business_id=business_id,
            defaults={"name_fi": fi, "name_sv": sv, "name_en": en, "kind": kind, "municipality_code": "179"},
        )
    # The employment-services organisation serves every municipality of the region (its employment area).
    ServiceArea.objects.bulk_create(
        [ServiceArea(organisation=orgs["employment"], municipality_code=code) for code, *_ in P.MUNICIPALITIES],
        ignore_conflicts=True,
    )
    services: list[list[Service]] = []
    for st in P.SERVICE_TYPES:
        per_type = []
        for provider_key in PROVIDER_KEYS[st.provider_kind]:
            for variant in range(VARIANTS):
                municipality = P.MUNICIPALITIES[variant % len(P.MUNICIPALITIES)]
                place = f" ({municipality[1]})" if variant else ""
                service, _ = Service.objects.get_or_create(
                    national_catalogue_id=f"synth:{st.code}:{provider_key}:{variant}",
                    defaults={
                        "provider": orgs[provider_key],
                        "service_class": st.service_class,
                        "data_category": st.data_category,
                        "name_fi": st.names[0] + place,
                        "name_sv": st.names[1] + place,
                        "name_en": st.names[2] + place,
                        "description_fi": st.names[0],
                        "description_sv": st.names[1],
                        "description_en": st.names[2],
                        "unit_cost": st.unit_cost,
                        "cost_unit": st.cost_unit,
                        "capacity": max(5, st.capacity_per_1000 * max(clients, 1000) // 1000 // VARIANTS),
                        "languages": ["fi", "sv", "en"] if variant == 0 else ["fi"],
                        "municipality_codes": [m[0] for m in P.MUNICIPALITIES] if variant == 0 else [municipality[0]],
                        "target_groups": ["long_term_unemployed", "partial_work_ability"],
                        "accessibility": "Esteetön sisäänkäynti" if variant != 1 else "",
                    },
                )
                per_type.append(service)
        services.append(per_type)
    user_model = get_user_model()
    members: dict[str, list[StaffMember]] = {}
    existing = set(user_model.objects.filter(username__startswith="synth-").values_list("username", flat=True))
    new_users, new_roles = [], []
    for key, role, count in staff_plan(clients):
        for number in range(count):
            username = f"synth-{key}-{role}-{number + 1}"
            if username not in existing:
                user = user_model(
                    username=username,
                    first_name=role.replace("_", " ").title(),
                    last_name=f"{key.title()} {number + 1}",
                    is_staff=role == StaffRole.ADMINISTRATOR,
                )
                user.set_unusable_password()
                new_users.append(user)
                new_roles.append((key, role))
    created = user_model.objects.bulk_create(new_users, batch_size=2000)
    if created and created[0].pk is None:  # databases that do not return ids
        by_name = dict(
            user_model.objects.filter(username__in=[u.username for u in new_users]).values_list("username", "pk")
        )
        for user in created:
            user.pk = by_name[user.username]
    StaffMember.objects.bulk_create(
        [
            StaffMember(user_id=user.pk, organisation=orgs[key], role=role)
            for user, (key, role) in zip(created, new_roles, strict=True)
        ],
        batch_size=2000,
    )
    for member in StaffMember.objects.filter(user__username__startswith="synth-").select_related("user").order_by("pk"):
        members.setdefault(member.role, []).append(member)
    providers: dict[int, list[StaffMember]] = {}
    for member in members.get(StaffRole.PROVIDER_WORKER, []):
        providers.setdefault(member.organisation_id, []).append(member)
    return Region(
        orgs,
        services,
        members.get(StaffRole.COORDINATOR, []),
        members.get(StaffRole.SOCIAL_WORKER, []),
        members.get(StaffRole.HEALTH_PROFESSIONAL, []),
        members.get(StaffRole.KELA_EXPERT, []),
        providers,
    )
