"""Importing read records into the catalogue: matching services and organisations with Polku's, validating
every value against the model, and writing it all in one transaction with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from polku.organisations.models import Organisation

from .. import vocabularies as vocab
from ..models import Service, ServiceClass
from .reader import OrgIn, OrgRef, Outcome, Reader, ServiceIn, split_document

CHUNK = 500

#: The Polku service fields an import compares and writes (besides the provider).
SERVICE_FIELDS = (
    "name_fi", "name_sv", "name_en", "description_fi", "description_sv", "description_en", "service_class",
    "data_category", "target_groups", "languages", "accessibility", "eligibility_notes", "municipality_codes",
    "unit_cost", "cost_unit", "capacity", "national_catalogue_id", "active",
)

#: Where each Polku field comes from in the file, for error messages.
SOURCE = {
    "name_fi": "serviceNames", "name_sv": "serviceNames", "name_en": "serviceNames",
    "description_fi": "serviceDescriptions", "description_sv": "serviceDescriptions",
    "description_en": "serviceDescriptions", "service_class": "polku:serviceClass",
    "data_category": "polku:dataCategory", "target_groups": "polku:targetGroups", "languages": "languages",
    "accessibility": "polku:accessibility", "eligibility_notes": "requirements", "municipality_codes": "areas",
    "unit_cost": "polku:unitCost", "cost_unit": "polku:costUnit", "capacity": "polku:capacity",
    "national_catalogue_id": "id", "active": "publishingStatus",
    "business_id": "businessCode", "kind": "polku:kind", "municipality_code": "municipality",
}

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_document(data: Any, *, dry_run: bool) -> Outcome:
    out = Outcome()
    raw_services, raw_orgs = split_document(data, out)
    reader = Reader(out)
    services = [s for i, raw in enumerate(raw_services) if (s := reader.service(raw, f"services[{i}]"))]
    file_orgs = [o for i, raw in enumerate(raw_orgs) if (o := reader.organisation(raw, f"organizations[{i}]"))]
    if out.errors:
        return out
    try:
        with transaction.atomic():
            plan = _Plan(out, services, file_orgs)
            plan.resolve()
            if not out.errors and not dry_run:
                plan.write()
    except IntegrityError as exc:  # a concurrent change won the race; nothing of ours was written
        out.error("$", "", _("The catalogue changed while importing; nothing was written. Try again. (%(error)s)")
                  % {"error": exc})
    if out.errors:
        out.created = out.updated = out.unchanged = out.organisations_created = out.organisations_linked = 0
    return out


class _Plan:
    """Matches the file's services and organisations with Polku's, with a fixed number of queries."""

    def __init__(self, out: Outcome, services: list[ServiceIn], file_orgs: list[OrgIn]):
        self.out = out
        self.services = services
        self.orgs_by_id = {o.ptv_id: o for o in reversed(file_orgs) if o.ptv_id}
        self.orgs_by_business_id = {o.business_id: o for o in reversed(file_orgs) if o.business_id}
        self.providers: dict[OrgRef, Organisation] = {}
        self.new_orgs: dict[str, Organisation] = {}  # by Business ID
        self.linked_orgs: dict[int, Organisation] = {}
        self.to_create: list[tuple[Service, Organisation]] = []
        self.to_update: list[tuple[Service, Organisation]] = []
        self.changed_fields: set[str] = set()

    # ------------------------------------------------------------------------------------------- organisations

    def _effective(self, ref: OrgRef, where: str) -> tuple[str, str, OrgIn | None]:
        described = self.orgs_by_id.get(ref.ptv_id) if ref.ptv_id else None
        if described is None and ref.business_id:
            described = self.orgs_by_business_id.get(ref.business_id)
        ptv_id = ref.ptv_id or (described.ptv_id if described else "")
        business_id = ref.business_id or (described.business_id if described else "")
        if described and described.business_id and business_id != described.business_id:
            self.out.error(where, "organizations", _("Organisation %(id)s has two Business IDs in the file.")
                           % {"id": ptv_id})
        return ptv_id, business_id, described

    def resolve_organisations(self) -> None:
        refs = {s.provider: s.where for s in self.services if s.provider}
        effective = {ref: self._effective(ref, where) for ref, where in refs.items()}
        ptv_ids = sorted({e[0] for e in effective.values() if e[0]})
        business_ids = sorted({e[1] for e in effective.values() if e[1]})
        by_id: dict[str, Organisation] = {}
        by_business_id: dict[str, Organisation] = {}
        for ids in chunks(ptv_ids):
            for org in Organisation.objects.filter(national_catalogue_id__in=ids):
                by_id[org.national_catalogue_id] = org
        for ids in chunks(business_ids):
            for org in Organisation.objects.filter(business_id__in=ids):
                by_business_id[org.business_id] = org
        for ref, (ptv_id, business_id, described) in effective.items():
            where = refs[ref]
            a, b = by_id.get(ptv_id), by_business_id.get(business_id)
            found = self._match(where, ptv_id, business_id, a, b) if a or b else None
            if a is None and b is None:
                found = self._new_org(where, ref, ptv_id, business_id, described)
            if found is not None:
                self.providers[ref] = found
        self.out.organisations_created = len(self.new_orgs)
        self.out.organisations_linked = len([o for o in self.linked_orgs.values()
                                             if o.business_id not in self.new_orgs])

    def _match(self, where: str, ptv_id: str, business_id: str, a: Organisation | None,
               b: Organisation | None) -> Organisation | None:
        if a and b and a.pk != b.pk:
            self.out.error(where, "organizations",
                           _("PTV id %(id)s and Business ID %(business_id)s belong to different organisations "
                             "in Polku.") % {"id": ptv_id, "business_id": business_id})
            return None
        if a and business_id and a.business_id != business_id:
            self.out.error(where, "organizations",
                           _("In Polku, PTV id %(id)s belongs to the organisation with Business ID %(other)s, "
                             "not %(business_id)s.") % {"id": ptv_id, "other": a.business_id,
                                                          "business_id": business_id})
            return None
        org = self.linked_orgs.get(b.pk, b) if b else a
        if org is None:
            return None
        if ptv_id and org.national_catalogue_id and org.national_catalogue_id != ptv_id:
            self.out.error(where, "organizations",
                           _("In Polku, the organisation with Business ID %(business_id)s has PTV id %(other)s, "
                             "not %(id)s.") % {"id": ptv_id, "other": org.national_catalogue_id,
                                               "business_id": org.business_id})
            return None
        if ptv_id and not org.national_catalogue_id:
            org.national_catalogue_id = ptv_id
            self.linked_orgs[org.pk] = org
        return org

    def _new_org(self, where: str, ref: OrgRef, ptv_id: str, business_id: str,
                 described: OrgIn | None) -> Organisation | None:
        if described is None or not business_id:
            self.out.error(where, "organizations",
                           _("Organisation %(org)s is not in Polku, and the file does not describe it with its "
                             "Business ID.") % {"org": ref.name or ptv_id or business_id})
            return None
        if business_id in self.new_orgs:
            org = self.new_orgs[business_id]
            if ptv_id and org.national_catalogue_id != ptv_id:
                self.out.error(where, "organizations", _("Business ID %(business_id)s has two PTV ids in the file.")
                               % {"business_id": business_id})
                return None
            return org
        self.out.errors.extend(described.problems.errors)
        self.out.warnings.extend(described.problems.warnings)
        if described.problems.errors:
            return None
        org = Organisation(**{**described.fields, "business_id": business_id, "national_catalogue_id": ptv_id})
        try:
            org.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            self._report(described.where, exc)
            return None
        self.new_orgs[business_id] = org
        return org

    # ------------------------------------------------------------------------------------------------ services

    def resolve(self) -> None:
        self.resolve_organisations()
        if self.out.errors:
            return
        seen_ids: set[str] = set()
        seen_keys: set[tuple[int | str, str]] = set()
        by_id: dict[str, list[Service]] = {}
        ids = sorted({s.ptv_id for s in self.services if s.ptv_id})
        for chunk in chunks(ids):
            for service in Service.objects.select_for_update().filter(national_catalogue_id__in=chunk):
                by_id.setdefault(service.national_catalogue_id, []).append(service)
        without_id: dict[tuple[int | None, str], list[Service]] = {}
        names = sorted({s.fields["name_fi"] for s in self.services if not s.ptv_id})
        for chunk in chunks(names):
            for service in Service.objects.select_for_update().filter(national_catalogue_id="", name_fi__in=chunk):
                without_id.setdefault((service.provider_id, service.name_fi), []).append(service)
        for s in self.services:
            provider = self.providers.get(s.provider) if s.provider else None
            if provider is None:
                self.out.error(s.where, "organizations", _("The service's organisation could not be resolved."))
                continue
            if s.ptv_id:
                if s.ptv_id in seen_ids:
                    self.out.error(s.where, "id", _("Service %(id)s appears twice in the file.") % {"id": s.ptv_id})
                    continue
                seen_ids.add(s.ptv_id)
                matches = by_id.get(s.ptv_id, [])
            else:
                key = (provider.pk or f"new:{provider.business_id}", s.fields["name_fi"])
                if key in seen_keys:
                    self.out.error(s.where, "serviceNames",
                                   _("Two services without an id have the same provider and Finnish name."))
                    continue
                seen_keys.add(key)
                matches = without_id.get((provider.pk, s.fields["name_fi"]), []) if provider.pk else []
            if len(matches) > 1:
                self.out.error(s.where, "id", _("Several services in Polku match this one; fix them first."))
            elif matches:
                self._update(s, matches[0], provider)
            else:
                self._create(s, provider)

    def _create(self, s: ServiceIn, provider: Organisation) -> None:
        values = dict(s.fields)
        if "service_class" not in values:
            derived = vocab.service_class_from_ptv(s.ptv_classes)
            if derived is None:
                derived = ServiceClass.OTHER
                self.out.warn(s.where, "serviceClasses",
                              _("No service class maps to Polku's classes; the service is classed as Other."))
            values["service_class"] = derived
        values.setdefault("data_category", vocab.DEFAULT_DATA_CATEGORY[values["service_class"]])
        if "target_groups" not in values and s.ptv_target_groups is not None:
            values["target_groups"] = s.ptv_target_groups
        values["national_catalogue_id"] = s.ptv_id
        service = Service(**values)
        if self._valid(s, service):
            self.to_create.append((service, provider))
            self.out.created += 1

    def _update(self, s: ServiceIn, service: Service, provider: Organisation) -> None:
        values = dict(s.fields)
        if "target_groups" not in values and s.ptv_target_groups is not None:
            # PTV owns the KR codes; Polku's own groups stay.
            own = [g for g in service.target_groups or [] if not (isinstance(g, str) and vocab.is_ptv_target_group(g))]
            values["target_groups"] = own + s.ptv_target_groups
        changed = {name for name, value in values.items() if getattr(service, name) != value}
        if provider.pk is None or provider.pk != service.provider_id:
            changed.add("provider")
        for name in changed - {"provider"}:
            setattr(service, name, values[name])
        if not self._valid(s, service):
            return
        if changed:
            self.to_update.append((service, provider))
            self.changed_fields |= changed
            self.out.updated += 1
        else:
            self.out.unchanged += 1

    def _valid(self, s: ServiceIn, service: Service) -> bool:
        try:
            service.full_clean(exclude=["provider"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            self._report(s.where, exc)
            return False
        return True

    def _report(self, where: str, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            label = f"{SOURCE[name]} ({name})" if name in SOURCE else name
            for message in messages:
                self.out.error(where, label, message)

    # -------------------------------------------------------------------------------------------------- writing

    def write(self) -> None:
        new_orgs = list(self.new_orgs.values())
        if new_orgs:
            Organisation.objects.bulk_create(new_orgs)
            if any(org.pk is None for org in new_orgs):  # databases that do not return ids
                pks = dict(Organisation.objects.filter(business_id__in=list(self.new_orgs))
                           .values_list("business_id", "pk"))
                for org in new_orgs:
                    org.pk = pks[org.business_id]
        linked = [org for org in self.linked_orgs.values() if org.business_id not in self.new_orgs]
        if linked:
            Organisation.objects.bulk_update(linked, ["national_catalogue_id"])
        for service, provider in self.to_create + self.to_update:
            service.provider = provider
        if self.to_create:
            Service.objects.bulk_create([service for service, _ in self.to_create], batch_size=CHUNK)
        if self.to_update:
            names = sorted(self.changed_fields)
            Service.objects.bulk_update([service for service, _ in self.to_update], names, batch_size=CHUNK)
