"""The catalogue as Open Referral's Human Services Data Specification (HSDS 3.0), one list per HSDS table.

HSDS has one name and one description per service; Polku's Finnish texts fill them, and everything HSDS has no
field for (Swedish and English texts, accessibility, service class, data category, target groups, the PTV id)
is an ``attribute`` linking the service to a term of a Polku or PTV taxonomy. The mapping is in
``docs/service-catalogue.md``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from polku.core.choices import DataCategory, Language
from polku.organisations.models import Organisation, OrganisationKind

from . import vocabularies as vocab
from .models import CostUnit, Service, ServiceClass

HSDS_VERSION = "3.0"
NAMESPACE = uuid.UUID("5b0f3a53-6d3c-4c57-9a4e-2f0c1f6d9a61")  # Polku's namespace for HSDS ids

TABLES = (
    "organization", "organization_identifier", "service", "language", "service_area", "cost_option", "unit",
    "service_capacity", "taxonomy", "taxonomy_term", "attribute", "location", "service_at_location",
)

#: Polku taxonomies: (key, name, description)
TAXONOMIES = {
    "ptv_service_class": ("PTV service classes", "Palvelutietovaranto: palveluluokitus (ptvserclass2)",
                          vocab.SERVICE_CLASS_URI.removesuffix("code/")),
    "ptv_target_group": ("PTV target groups", "Palvelutietovaranto: kohderyhmät (ptvkohderyhmat)",
                         vocab.TARGET_GROUP_URI.removesuffix("code/")),
    "polku_service_class": ("Polku service classes", "Polku: ServiceClass", None),
    "polku_data_category": ("Polku data categories",
                            "Polku: the category of client data that a referral to the service carries", None),
    "polku_target_group": ("Polku target groups", "Polku: target groups of a service", None),
    "polku_organisation_kind": ("Polku organisation kinds", "Polku: OrganisationKind", None),
    "polku_field": ("Polku fields", "Polku: fields that HSDS has no place for; the value is in the attribute",
                    None),
}

#: Service fields carried as attribute values (term code = the Polku field).
SERVICE_TEXT_FIELDS = ("name_sv", "name_en", "description_sv", "description_en", "accessibility",
                       "national_catalogue_id")
ORGANISATION_TEXT_FIELDS = ("name_sv", "name_en")


def hsds_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


class _Builder:
    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.terms: dict[tuple[str, str], str] = {}
        self.taxonomies: set[str] = set()

    def term(self, taxonomy: str, code: str, name: str, *, uri: str | None = None) -> str:
        key = (taxonomy, code)
        if key not in self.terms:
            if taxonomy not in self.taxonomies:
                self.taxonomies.add(taxonomy)
                title, description, taxonomy_uri = TAXONOMIES[taxonomy]
                self.tables["taxonomy"].append({"id": hsds_id("taxonomy", taxonomy), "name": title,
                                                "description": description, "uri": taxonomy_uri,
                                                "version": None})
            term_id = hsds_id("taxonomy_term", taxonomy, code)
            self.terms[key] = term_id
            self.tables["taxonomy_term"].append({
                "id": term_id, "code": code, "name": name, "description": name, "parent_id": None,
                "taxonomy": TAXONOMIES[taxonomy][0], "language": None,
                "taxonomy_id": hsds_id("taxonomy", taxonomy), "term_uri": uri,
            })
        return self.terms[key]

    def attribute(self, entity: str, link_id: str, term_id: str, value: str | None = None) -> None:
        self.tables["attribute"].append({
            "id": hsds_id("attribute", entity, link_id, term_id),
            "link_id": link_id, "link_type": entity, "link_entity": entity,
            "taxonomy_term_id": term_id, "value": value, "label": None,
        })

    def field(self, entity: str, link_id: str, obj: Any, name: str) -> None:
        value = getattr(obj, name)
        if value:
            self.attribute(entity, link_id, self.term("polku_field", name, name), str(value))

    def organisation(self, org: Organisation) -> str:
        org_id = hsds_id("organization", org.business_id)
        self.tables["organization"].append({
            "id": org_id, "name": org.name_fi, "alternate_name": org.name_sv or org.name_en or None,
            "description": str(OrganisationKind(org.kind).label) if org.kind in OrganisationKind.values else "",
            "email": None, "website": None, "tax_status": None, "tax_id": None, "year_incorporated": None,
            "legal_status": None, "logo": None, "uri": None, "parent_organization_id": None,
        })
        identifiers = [("Y-tunnus", org.business_id)]
        if org.national_catalogue_id:
            identifiers.append(("PTV", org.national_catalogue_id))
        for kind, value in identifiers:
            self.tables["organization_identifier"].append({
                "id": hsds_id("organization_identifier", org_id, kind), "organization_id": org_id,
                "identifier_scope": "national", "identifier_type": kind, "identifier": value,
            })
        if org.kind in OrganisationKind.values:
            self.attribute("organization", org_id, self.term("polku_organisation_kind", org.kind,
                                                             str(OrganisationKind(org.kind).label)))
        for name in ORGANISATION_TEXT_FIELDS:
            self.field("organization", org_id, org, name)
        return org_id

    def service(self, service: Any, org_id: str) -> None:
        service_id = (service.national_catalogue_id if _is_uuid(service.national_catalogue_id)
                      else hsds_id("service", service.pk))
        self.tables["service"].append({
            "id": service_id, "organization_id": org_id, "program_id": None,
            "name": service.name_fi, "alternate_name": None, "description": service.description_fi or None,
            "url": None, "email": None, "status": "active" if service.active else "inactive",
            "interpretation_services": None, "application_process": None, "fees_description": None,
            "accreditations": None, "eligibility_description": service.eligibility_notes or None,
            "minimum_age": None, "maximum_age": None, "assured_date": None, "assurer_email": None,
            "alert": None, "last_modified": None,
        })
        for code in dict.fromkeys(c for c in service.languages or [] if isinstance(c, str)):
            if not code:
                continue
            name = str(Language(code).label) if code in Language.values else code
            self.tables["language"].append({
                "id": hsds_id("language", service_id, code), "service_id": service_id, "location_id": None,
                "phone_id": None, "name": name, "code": code if 2 <= len(code) <= 3 else None, "note": None,
            })
        for code in dict.fromkeys(str(c) for c in service.municipality_codes or []):
            self.tables["service_area"].append({
                "id": hsds_id("service_area", service_id, code), "service_id": service_id,
                "service_at_location_id": None, "name": str(code),
                "description": "Statistics Finland municipality code", "extent": None, "extent_type": None,
                "uri": None,
            })
        cost_unit = str(CostUnit(service.cost_unit).label) if service.cost_unit in CostUnit.values else ""
        self.tables["cost_option"].append({
            "id": hsds_id("cost_option", service_id), "service_id": service_id, "valid_from": None,
            "valid_to": None, "option": service.cost_unit, "currency": "EUR",
            "amount": float(Decimal(service.unit_cost)), "amount_description": cost_unit,
        })
        if service.capacity is not None:
            self.tables["service_capacity"].append({
                "id": hsds_id("service_capacity", service_id), "service_id": service_id,
                "unit_id": hsds_id("unit", "clients"), "maximum": service.capacity,
                "available": max(service.capacity - service.in_service, 0),
                "description": "clients at a time", "updated": timezone.now().isoformat(timespec="seconds"),
            })
        self._classify(service, service_id)

    def _classify(self, service: Any, service_id: str) -> None:
        if service.service_class in ServiceClass.values:
            label = str(ServiceClass(service.service_class).label)
            self.attribute("service", service_id, self.term("polku_service_class", service.service_class, label))
        ptv_class = vocab.SERVICE_CLASS_TO_PTV.get(service.service_class)
        if ptv_class:
            self.attribute("service", service_id, self.term(
                "ptv_service_class", ptv_class, vocab.PTV_SERVICE_CLASS_NAMES[ptv_class],
                uri=vocab.SERVICE_CLASS_URI + ptv_class))
        if service.data_category in DataCategory.values:
            label = str(DataCategory(service.data_category).label)
            self.attribute("service", service_id, self.term("polku_data_category", service.data_category, label))
        groups = list(dict.fromkeys(g for g in service.target_groups or [] if isinstance(g, str)))
        for group in groups:
            if not vocab.is_ptv_target_group(group):
                self.attribute("service", service_id, self.term("polku_target_group", group, group))
        for code in vocab.ptv_target_groups(list(groups)):
            name = vocab.PTV_TARGET_GROUP_NAMES.get(code, code)
            term = self.term("ptv_target_group", code, name, uri=vocab.TARGET_GROUP_URI + code)
            self.attribute("service", service_id, term)
        for name in SERVICE_TEXT_FIELDS:
            self.field("service", service_id, service, name)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def export_document() -> dict[str, Any]:
    builder = _Builder()
    services = list(
        Service.objects.select_related("provider")
        .annotate(in_service=Count("referrals", filter=Q(referrals__status="started")))
        .order_by("name_fi", "national_catalogue_id", "provider__business_id", "pk")
    )
    org_ids: dict[int, str] = {}
    for org in sorted({s.provider_id: s.provider for s in services}.values(), key=lambda o: o.business_id):
        org_ids[org.pk] = builder.organisation(org)
    if any(s.capacity is not None for s in services):
        builder.tables["unit"].append({"id": hsds_id("unit", "clients"), "name": "clients", "scheme": "polku",
                                       "identifier": "clients", "uri": None})
    for service in services:
        builder.service(service, org_ids[service.provider_id])
    return {"hsds_version": HSDS_VERSION, **builder.tables}
