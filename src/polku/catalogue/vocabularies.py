"""Code lists of the national service catalogue (PTV) and how Polku's own vocabularies map onto them.

The mapping, its sources and what is uncertain about it are documented in ``docs/service-catalogue.md``.
"""

from __future__ import annotations

import re

from polku.core.choices import DataCategory
from polku.organisations.models import OrganisationKind

from .models import ServiceClass

SERVICE_CLASS_URI = "http://uri.suomi.fi/codelist/ptv/ptvserclass2/code/"
TARGET_GROUP_URI = "http://uri.suomi.fi/codelist/ptv/ptvkohderyhmat/code/"

SERVICE_CLASS_CODE = re.compile(r"(?<![A-Za-z0-9.])(P\d+(?:\.\d+)*)$")
TARGET_GROUP_CODE = re.compile(r"(?<![A-Za-z0-9.])(KR\d+(?:\.\d+)*)$")

#: The PTV service classes (ptvserclass2) that Polku uses, with their Finnish names.
PTV_SERVICE_CLASS_NAMES: dict[str, str] = {
    "P1": "Asuminen",
    "P1.4": "Asumisen tuet",
    "P4": "Sosiaalipalvelut",
    "P4.8": "Työllistyjän tukeminen",
    "P4.12": "Sosiaalipalvelujen vertais- ja vapaaehtoistoiminta",
    "P4.13": "Sosiaalipalvelujen neuvonta- ja ohjauspalvelut",
    "P5": "Terveydenhuolto, sairaanhoito ja ravitsemus",
    "P5.1": "Perusterveydenhuolto",
    "P5.7": "Päihde- ja mielenterveyspalvelut",
    "P5.8": "Terveystarkastukset",
    "P5.13": "Kuntoutus",
    "P6": "Koulutus",
    "P6.4": "Ammatinvalinta ja opintojen ohjaus",
    "P6.6": "Toisen asteen ammatillinen koulutus",
    "P6.7": "Oppisopimus",
    "P6.10": "Aikuis- ja täydennyskoulutus",
    "P10": "Työ ja työttömyys",
    "P10.1": "Työnhaku ja työpaikat",
    "P10.2": "Ammatinvalinta ja urasuunnittelu",
    "P10.4": "Työkyky ja ammatillinen kuntoutus",
    "P10.6": "Työttömän tuet ja etuudet",
    "P10.7": "Tuettu työllistyminen",
    "P10.8": "Työttömien järjestöt ja vertaistuki",
    "P15": "Yksityinen talous ja rahoitus",
    "P15.1": "Henkilön talous- ja velkaneuvonta",
    "P28.5": "Ohjaamot sekä muut nuorten tieto-, neuvonta- ja ohjauspalvelut",
}

#: Polku's service class → the PTV service class it is exported as (``None``: no PTV class).
SERVICE_CLASS_TO_PTV: dict[str, str | None] = {
    ServiceClass.EMPLOYMENT: "P10.1",
    ServiceClass.WORK_TRIAL: "P10.2",
    ServiceClass.WAGE_SUBSIDY: "P10.7",
    ServiceClass.TRAINING: "P6.10",
    ServiceClass.REHABILITATIVE_WORK: "P4.8",
    ServiceClass.SOCIAL_REHABILITATION: "P4.8",
    ServiceClass.VOCATIONAL_REHABILITATION: "P10.4",
    ServiceClass.HEALTH: "P5.1",
    ServiceClass.MENTAL_HEALTH_SUBSTANCE: "P5.7",
    ServiceClass.SOCIAL_WORK: "P4.13",
    ServiceClass.DEBT_HOUSING: "P15.1",
    ServiceClass.LOW_THRESHOLD: "P4.12",
    ServiceClass.OTHER: None,
}

#: PTV service class → Polku's service class on import. Codes not listed fall back to their parent class
#: (P4.10 → P4), then to OTHER with a warning.
PTV_TO_SERVICE_CLASS: dict[str, str] = {
    "P10.1": ServiceClass.EMPLOYMENT,
    "P10.2": ServiceClass.WORK_TRIAL,
    "P10.7": ServiceClass.WAGE_SUBSIDY,
    "P6.10": ServiceClass.TRAINING,
    "P4.8": ServiceClass.REHABILITATIVE_WORK,
    "P10.4": ServiceClass.VOCATIONAL_REHABILITATION,
    "P5.1": ServiceClass.HEALTH,
    "P5.7": ServiceClass.MENTAL_HEALTH_SUBSTANCE,
    "P4.13": ServiceClass.SOCIAL_WORK,
    "P15.1": ServiceClass.DEBT_HOUSING,
    "P4.12": ServiceClass.LOW_THRESHOLD,
    # further classes that only occur on import
    "P1.4": ServiceClass.DEBT_HOUSING,
    "P5.8": ServiceClass.HEALTH,
    "P5.13": ServiceClass.HEALTH,
    "P6.4": ServiceClass.TRAINING,
    "P6.6": ServiceClass.TRAINING,
    "P6.7": ServiceClass.TRAINING,
    "P10.6": ServiceClass.EMPLOYMENT,
    "P10.8": ServiceClass.LOW_THRESHOLD,
    "P28.5": ServiceClass.LOW_THRESHOLD,
    # main classes, reached through the parent fallback
    "P1": ServiceClass.DEBT_HOUSING,
    "P4": ServiceClass.SOCIAL_WORK,
    "P5": ServiceClass.HEALTH,
    "P6": ServiceClass.TRAINING,
    "P10": ServiceClass.EMPLOYMENT,
    "P15": ServiceClass.DEBT_HOUSING,
}

#: The data category a referral to a service of this class carries, for services imported without one.
DEFAULT_DATA_CATEGORY: dict[str, str] = {
    ServiceClass.EMPLOYMENT: DataCategory.EMPLOYMENT,
    ServiceClass.WORK_TRIAL: DataCategory.EMPLOYMENT,
    ServiceClass.WAGE_SUBSIDY: DataCategory.EMPLOYMENT,
    ServiceClass.TRAINING: DataCategory.EMPLOYMENT,
    ServiceClass.REHABILITATIVE_WORK: DataCategory.SOCIAL,
    ServiceClass.SOCIAL_REHABILITATION: DataCategory.SOCIAL,
    ServiceClass.VOCATIONAL_REHABILITATION: DataCategory.REHABILITATION,
    ServiceClass.HEALTH: DataCategory.HEALTH,
    ServiceClass.MENTAL_HEALTH_SUBSTANCE: DataCategory.HEALTH,
    ServiceClass.SOCIAL_WORK: DataCategory.SOCIAL,
    ServiceClass.DEBT_HOUSING: DataCategory.SOCIAL,
    ServiceClass.LOW_THRESHOLD: DataCategory.SOCIAL,
    ServiceClass.OTHER: DataCategory.EMPLOYMENT,
}

#: PTV target groups (ptvkohderyhmat) with their Finnish names.
PTV_TARGET_GROUP_NAMES: dict[str, str] = {
    "KR1": "Kansalaiset",
    "KR1.1": "Ikäihmiset",
    "KR1.2": "Lapset ja lapsiperheet",
    "KR1.3": "Nuoret",
    "KR1.4": "Pitkäaikaissairaat",
    "KR1.5": "Ulkosuomalaiset",
    "KR1.6": "Vammaiset",
    "KR2": "Yritykset ja yhteisöt",
}

#: Every service Polku refers clients to serves citizens (KR1).
CITIZENS = "KR1"

#: Polku's own target-group codes (the synthetic region's client segments) that have a narrower PTV target group.
TARGET_GROUP_TO_PTV: dict[str, str] = {
    "young_adrift": "KR1.3",
}

#: Polku's organisation kind → PTV organisation type (approximate; the exact kind travels as ``polku:kind``).
KIND_TO_PTV_ORGANIZATION_TYPE: dict[str, str] = {
    OrganisationKind.EMPLOYMENT_SERVICES: "Municipality",
    OrganisationKind.SOCIAL_SERVICES: "SotePublic",
    OrganisationKind.HEALTH_SERVICES: "SotePublic",
    OrganisationKind.KELA: "State",
    OrganisationKind.REHABILITATION_PROVIDER: "SotePrivate",
    OrganisationKind.NGO: "Organization",
    OrganisationKind.SOCIAL_ENTERPRISE: "Company",
    OrganisationKind.EDUCATION_PROVIDER: "Company",
    OrganisationKind.EMPLOYER: "Company",
    OrganisationKind.OTHER: "Organization",
}


def is_ptv_target_group(code: object) -> bool:
    return isinstance(code, str) and TARGET_GROUP_CODE.fullmatch(code) is not None


def ptv_target_groups(target_groups: list[object]) -> list[str]:
    """The PTV target groups of a service: KR1 (citizens) first, then the narrower groups, without duplicates."""
    codes = [CITIZENS]
    for group in target_groups:
        if not isinstance(group, str):
            continue
        code = group if is_ptv_target_group(group) else TARGET_GROUP_TO_PTV.get(group)
        if code and code not in codes:
            codes.append(code)
    return codes


def service_class_from_ptv(codes: list[str]) -> str | None:
    """Polku's service class for these PTV service classes: the first that maps exactly, else the first whose
    main class maps; ``None`` when none does."""
    for code in codes:
        if code in PTV_TO_SERVICE_CLASS and "." in code:
            return PTV_TO_SERVICE_CLASS[code]
    for code in codes:
        main = code.split(".", 1)[0]
        if main in PTV_TO_SERVICE_CLASS:
            return PTV_TO_SERVICE_CLASS[main]
    return None
