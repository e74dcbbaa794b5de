"""Writing the catalogue as PTV-shaped JSON, with ``polku:`` fields for what PTV has no place for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from polku.organisations.models import Organisation

from .. import vocabularies as vocab
from ..models import Service
from .reader import LANGUAGES

FORMAT_VERSION = 1
SUMMARY_LENGTH = 150


def _texts(kind: str, obj: Any, name: str) -> list[dict[str, str]]:
    return [{"type": kind, "language": lang, "value": value}
            for lang in LANGUAGES if (value := getattr(obj, f"{name}_{lang}"))]


def _summary(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first if len(first) <= SUMMARY_LENGTH else first[:SUMMARY_LENGTH - 1].rstrip() + "…"


def organisation_ref(org: Organisation) -> dict[str, Any]:
    return {"id": org.national_catalogue_id or None, "businessCode": org.business_id, "name": org.name_fi}


def export_organisation(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.national_catalogue_id or None,
        "businessCode": org.business_id,
        "organizationNames": _texts("Name", org, "name"),
        "organizationType": vocab.KIND_TO_PTV_ORGANIZATION_TYPE.get(org.kind, "Organization"),
        "municipality": {"code": org.municipality_code} if org.municipality_code else None,
        "publishingStatus": "Published" if org.active else "Deleted",
        "polku:kind": org.kind,
    }


def export_service(service: Service) -> dict[str, Any]:
    ref = organisation_ref(service.provider)
    ptv_class = vocab.SERVICE_CLASS_TO_PTV.get(service.service_class)
    descriptions = []
    for lang in LANGUAGES:
        text = getattr(service, f"description_{lang}")
        if text:
            descriptions.append({"type": "Summary", "language": lang, "value": _summary(text)})
            descriptions.append({"type": "Description", "language": lang, "value": text})
    return {
        "id": service.national_catalogue_id or None,
        "type": "Service",
        "publishingStatus": "Published" if service.active else "Deleted",
        "serviceNames": _texts("Name", service, "name"),
        "serviceDescriptions": descriptions,
        "requirements": [{"language": "fi", "value": service.eligibility_notes}] if service.eligibility_notes else [],
        "serviceClasses": [] if ptv_class is None else [{
            "code": ptv_class, "uri": vocab.SERVICE_CLASS_URI + ptv_class,
            "name": [{"language": "fi", "value": vocab.PTV_SERVICE_CLASS_NAMES[ptv_class]}],
        }],
        "targetGroups": [
            {"code": code, "uri": vocab.TARGET_GROUP_URI + code,
             "name": [{"language": "fi", "value": vocab.PTV_TARGET_GROUP_NAMES[code]}]
             if code in vocab.PTV_TARGET_GROUP_NAMES else []}
            for code in vocab.ptv_target_groups(list(service.target_groups or []))
        ],
        "ontologyTerms": [],
        "languages": list(service.languages or []),
        "areaType": "LimitedType" if service.municipality_codes else "Nationwide",
        "areas": [{"type": "Municipality", "code": code} for code in service.municipality_codes or []],
        "organizations": [
            {"roleType": "Responsible", "organization": ref},
            {"roleType": "Producer", "provisionType": "SelfProduced", "organization": ref},
        ],
        "serviceChannels": [],
        "polku:serviceClass": service.service_class,
        "polku:dataCategory": service.data_category,
        "polku:targetGroups": list(service.target_groups or []),
        "polku:accessibility": service.accessibility,
        "polku:unitCost": f"{Decimal(service.unit_cost):.2f}",
        "polku:costUnit": service.cost_unit,
        "polku:capacity": service.capacity,
    }


def export_document() -> dict[str, Any]:
    services = list(Service.objects.select_related("provider")
                    .order_by("name_fi", "national_catalogue_id", "provider__business_id", "pk"))
    organisations = sorted({s.provider_id: s.provider for s in services}.values(), key=lambda o: o.business_id)
    return {
        "polku:version": FORMAT_VERSION,
        "organizations": [export_organisation(org) for org in organisations],
        "services": [export_service(service) for service in services],
        "serviceChannels": [],
    }
