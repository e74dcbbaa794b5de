"""Reading PTV-shaped JSON (open API v11 ``ServiceVersion`` / ``OrganizationVersion``) into plain records, with
every problem reported with its place in the file. Nothing here touches the database."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from polku.core.choices import DataCategory
from polku.organisations.models import OrganisationKind

from .. import vocabularies as vocab
from ..models import CostUnit, ServiceClass

LANGUAGES = ("fi", "sv", "en")
ID_MAX_LENGTH = 64
NATIONWIDE = {"Nationwide", "NationwideExceptAlandIslands", "WholeCountry", "WholeCountryExceptAlandIslands"}
LIMITED = {"LimitedType", "AreaType"}
ACTIVE_STATUSES = {"Published", "Modified"}
INACTIVE_STATUSES = {"Draft", "Deleted", "Archived", "Removed", "OldPublished"}
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
MUNICIPALITY_CODE = re.compile(r"\d{1,3}", re.ASCII)  # not the digits of other scripts
TARGET_GROUP_MAX_LENGTH = 100


@dataclass
class Outcome:
    """What an import did or would do, and what was wrong."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organisations_created: int = 0
    organisations_linked: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)

    def error(self, where: str, name: str, message: Any) -> None:
        self.errors.append((where, name, str(message)))

    def warn(self, where: str, name: str, message: Any) -> None:
        self.warnings.append((where, name, str(message)))


@dataclass(frozen=True)
class OrgRef:
    """How a service names its organisation: PTV id and/or Business ID."""

    ptv_id: str = ""
    business_id: str = ""
    name: str = ""


@dataclass
class ServiceIn:
    where: str
    ptv_id: str = ""
    provider: OrgRef | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # the Polku fields the file sets
    ptv_classes: list[str] = field(default_factory=list)
    ptv_target_groups: list[str] | None = None


@dataclass
class OrgIn:
    where: str
    ptv_id: str = ""
    business_id: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    problems: Outcome = field(default_factory=Outcome)


class Reader:
    """Turns parsed JSON into :class:`ServiceIn` and :class:`OrgIn`, reporting every problem with its place."""

    def __init__(self, out: Outcome):
        self.out = out

    def text(self, value: Any, where: str, name: str) -> str | None:
        if not isinstance(value, str):
            self.out.error(where, name, _("Expected text."))
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.out.error(where, name, _("The text contains characters that cannot be stored."))
            return None
        if "\x00" in value:
            self.out.error(where, name, _("The text contains characters that cannot be stored."))
            return None
        return value

    def identifier(self, value: Any, where: str, name: str) -> str:
        if value is None:
            return ""
        text = self.text(value, where, name)
        if text is None:
            return ""
        text = text.strip()
        if len(text) > ID_MAX_LENGTH:
            self.out.error(where, name, _("An ID has at most %(count)d characters.") % {"count": ID_MAX_LENGTH})
            return ""
        return text

    def localized(self, value: Any, where: str, name: str) -> dict[str, dict[str, str]] | None:
        """``[{"type", "language", "value"}]`` → ``{type: {language: value}}`` (untyped items under ``""``)."""
        if not isinstance(value, list):
            self.out.error(where, name, _("Expected a list of texts with their language."))
            return None
        result: dict[str, dict[str, str]] = {}
        for index, item in enumerate(value):
            at = f"{name}[{index}]"
            if not isinstance(item, dict):
                self.out.error(where, at, _("Expected an object with a language and a value."))
                continue
            language, kind, text = item.get("language"), item.get("type") or "", item.get("value")
            if not isinstance(language, str) or not language or not isinstance(kind, str):
                self.out.error(where, at, _("Expected an object with a language and a value."))
                continue
            if text is None:
                continue
            checked = self.text(text, where, at)
            if checked is not None:
                result.setdefault(kind, {}).setdefault(language, checked)
        return result

    def choice(self, value: Any, where: str, name: str, choices: Sequence[str]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            self.out.error(where, name, _("Unknown value %(value)s; expected one of: %(choices)s.")
                           % {"value": _short(value), "choices": ", ".join(choices)})
            return None
        return value

    def codes(self, value: Any, where: str, name: str, pattern: re.Pattern[str]) -> list[str] | None:
        """Classification codes from ``["uri", …]`` or ``[{"code", "uri"}, …]``."""
        if not isinstance(value, list):
            self.out.error(where, name, _("Expected a list."))
            return None
        codes: list[str] = []
        for index, item in enumerate(value):
            candidates: list[Any] = [item] if isinstance(item, str) else (
                [item.get(k) for k in ("code", "uri", "newUri")] if isinstance(item, dict) else [])
            matches = [pattern.search(c.strip()) for c in candidates if isinstance(c, str)]
            code = next((m.group(1) for m in matches if m), None)
            if code is None:
                self.out.warn(where, f"{name}[{index}]", _("Unrecognised code %(value)s was skipped.")
                              % {"value": _short(item)})
            elif code not in codes:
                codes.append(code)
        return codes

    def string_list(self, value: Any, where: str, name: str, *, pattern: re.Pattern[str] | None = None,
                    max_length: int = TARGET_GROUP_MAX_LENGTH) -> list[str] | None:
        if not isinstance(value, list):
            self.out.error(where, name, _("Expected a list."))
            return None
        result: list[str] = []
        for index, item in enumerate(value):
            text = self.text(item, where, f"{name}[{index}]")
            if text is None:
                continue
            if not text.strip() or len(text) > max_length or (pattern and not pattern.fullmatch(text)):
                self.out.error(where, f"{name}[{index}]", _("Invalid value %(value)s.") % {"value": _short(text)})
                continue
            if text not in result:
                result.append(text)
        return result

    def municipality(self, value: Any, where: str, name: str) -> str | None:
        if isinstance(value, dict):
            value = value.get("code")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999:
            return f"{value:03d}"
        if isinstance(value, str) and MUNICIPALITY_CODE.fullmatch(value.strip()):
            return value.strip().zfill(3)
        self.out.error(where, name, _("A municipality code has three digits, for example 091."))
        return None

    def decimal(self, value: Any, where: str, name: str) -> Decimal | None:
        number: Decimal | None = None
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                number = Decimal(str(value).strip())
            except (InvalidOperation, ValueError):
                number = None
        if number is None or not number.is_finite() or number < 0:
            self.out.error(where, name, _("Expected a number of euros, zero or more."))
            return None
        return number

    # ------------------------------------------------------------------------------------------- a service

    def service(self, raw: Any, where: str) -> ServiceIn | None:
        if not isinstance(raw, dict):
            self.out.error(where, "", _("Expected a service object."))
            return None
        errors_before = len(self.out.errors)
        s = ServiceIn(where=where, ptv_id=self.identifier(raw.get("id"), where, "id"))
        self._names(raw, s)
        if "serviceDescriptions" in raw:
            texts = self.localized(raw["serviceDescriptions"], where, "serviceDescriptions")
            if texts is not None:
                for lang in LANGUAGES:
                    s.fields[f"description_{lang}"] = (texts.get("Description", {}).get(lang)
                                                       or texts.get("", {}).get(lang)
                                                       or texts.get("Summary", {}).get(lang) or "")
        if "requirements" in raw:
            texts = self.localized(raw["requirements"], where, "requirements")
            if texts is not None:
                merged: dict[str, str] = {}
                for by_lang in texts.values():
                    for lang, text in by_lang.items():
                        merged.setdefault(lang, text)
                s.fields["eligibility_notes"] = next((merged[lang] for lang in LANGUAGES if merged.get(lang)),
                                                     next(iter(merged.values()), ""))
        if "languages" in raw:
            languages = self.string_list(raw["languages"], where, "languages", pattern=LANGUAGE_CODE, max_length=16)
            if languages is not None:
                s.fields["languages"] = languages
        if "areaType" in raw or "areas" in raw:
            self._areas(raw, s)
        if "serviceClasses" in raw:
            s.ptv_classes = self.codes(raw["serviceClasses"], where, "serviceClasses", vocab.SERVICE_CLASS_CODE) or []
        if "targetGroups" in raw:
            s.ptv_target_groups = self.codes(raw["targetGroups"], where, "targetGroups", vocab.TARGET_GROUP_CODE)
        if raw.get("publishingStatus") is not None:
            status = self.choice(raw["publishingStatus"], where, "publishingStatus",
                                 sorted(ACTIVE_STATUSES | INACTIVE_STATUSES))
            if status is not None:
                s.fields["active"] = status in ACTIVE_STATUSES
        s.provider = self._provider(raw, where)
        self._extension(raw, s)
        return s if len(self.out.errors) == errors_before else None

    def _names(self, raw: dict[str, Any], s: ServiceIn) -> None:
        if "serviceNames" not in raw:
            self.out.error(s.where, "serviceNames", _("A service needs a name."))
            return
        texts = self.localized(raw["serviceNames"], s.where, "serviceNames")
        if texts is None:
            return
        names: dict[str, str] = {}
        for kind in ("Name", ""):
            for lang, text in texts.get(kind, {}).items():
                if text.strip():
                    names.setdefault(lang, text)
        fi = names.get("fi") or ""
        if not fi:
            fi = next((names[lang] for lang in ("sv", "en") if names.get(lang)), next(iter(names.values()), ""))
            if not fi:
                self.out.error(s.where, "serviceNames", _("A service needs a name."))
                return
            self.out.warn(s.where, "serviceNames", _("No Finnish name; the name in another language is used."))
        s.fields.update(name_fi=fi, name_sv=names.get("sv", ""), name_en=names.get("en", ""))

    def _areas(self, raw: dict[str, Any], s: ServiceIn) -> None:
        area_type = raw.get("areaType")
        if area_type is not None and self.choice(area_type, s.where, "areaType",
                                                 sorted(NATIONWIDE | LIMITED)) is None:
            return
        areas = raw.get("areas")
        if areas is None:
            areas = []
        if not isinstance(areas, list):
            self.out.error(s.where, "areas", _("Expected a list."))
            return
        codes: list[str] = []
        for index, area in enumerate(areas):
            at = f"areas[{index}]"
            if not isinstance(area, dict):
                self.out.error(s.where, at, _("Expected an area object."))
                continue
            found: list[Any] = []
            if area.get("type") == "Municipality" and area.get("code") is not None:
                found.append(area["code"])
            for key in ("areaCodes", "municipalities"):
                listed = area.get(key)
                if listed is None:
                    continue
                if not isinstance(listed, list):
                    self.out.error(s.where, f"{at}.{key}", _("Expected a list."))
                    continue
                found.extend(listed)
            if not found:
                self.out.warn(s.where, at, _("The area names no municipalities and was skipped."))
            for item in found:
                code = self.municipality(item, s.where, at)
                if code is not None and code not in codes:
                    codes.append(code)
        if area_type in NATIONWIDE:
            codes = []
        elif area_type in LIMITED and not codes:
            self.out.warn(s.where, "areas", _("No municipalities given; the service is stored as serving all."))
        s.fields["municipality_codes"] = codes

    def org_ref(self, value: Any, where: str, name: str) -> OrgRef | None:
        if isinstance(value, str):
            value = {"id": value}
        if not isinstance(value, dict):
            self.out.error(where, name, _("Expected an organisation with an id or a businessCode."))
            return None
        ptv_id = self.identifier(value.get("id"), where, f"{name}.id")
        business_id = self.identifier(value.get("businessCode"), where, f"{name}.businessCode")
        label = value.get("name")
        name_text = label if isinstance(label, str) else ""
        if not ptv_id and not business_id:
            self.out.error(where, name, _("Expected an organisation with an id or a businessCode."))
            return None
        return OrgRef(ptv_id, business_id, name_text)

    def _provider(self, raw: dict[str, Any], where: str) -> OrgRef | None:
        """The producer when there is exactly one, else the (first) responsible organisation."""
        entries = raw.get("organizations")
        producers: list[OrgRef] = []
        responsible: list[OrgRef] = []
        if entries is not None and not isinstance(entries, list):
            self.out.error(where, "organizations", _("Expected a list."))
            return None
        for index, entry in enumerate(entries or []):
            at = f"organizations[{index}]"
            if not isinstance(entry, dict):
                self.out.error(where, at, _("Expected an object with an organization and its roleType."))
                continue
            if entry.get("organization") is None:
                continue  # a producer named only in free text
            ref = self.org_ref(entry["organization"], where, f"{at}.organization")
            if ref is None:
                continue
            role = entry.get("roleType")
            (producers if role == "Producer" else responsible if role == "Responsible" else []).append(ref)
        if len({(r.ptv_id, r.business_id) for r in producers}) == 1:
            return producers[0]
        if responsible:
            return responsible[0]
        if producers:
            return producers[0]
        if raw.get("mainResponsibleOrganization") is not None:
            return self.org_ref(raw["mainResponsibleOrganization"], where, "mainResponsibleOrganization")
        self.out.error(where, "organizations", _("The service names no responsible or producing organisation."))
        return None

    def _extension(self, raw: dict[str, Any], s: ServiceIn) -> None:
        where = s.where
        if raw.get("polku:serviceClass") is not None:
            value = self.choice(raw["polku:serviceClass"], where, "polku:serviceClass", ServiceClass.values)
            if value is not None:
                s.fields["service_class"] = value
        if raw.get("polku:dataCategory") is not None:
            value = self.choice(raw["polku:dataCategory"], where, "polku:dataCategory", DataCategory.values)
            if value is not None:
                s.fields["data_category"] = value
        if raw.get("polku:costUnit") is not None:
            value = self.choice(raw["polku:costUnit"], where, "polku:costUnit", CostUnit.values)
            if value is not None:
                s.fields["cost_unit"] = value
        if raw.get("polku:targetGroups") is not None:
            groups = self.string_list(raw["polku:targetGroups"], where, "polku:targetGroups")
            if groups is not None:
                s.fields["target_groups"] = groups
        if raw.get("polku:accessibility") is not None:
            text = self.text(raw["polku:accessibility"], where, "polku:accessibility")
            if text is not None:
                s.fields["accessibility"] = text
        if raw.get("polku:unitCost") is not None:
            cost = self.decimal(raw["polku:unitCost"], where, "polku:unitCost")
            if cost is not None:
                s.fields["unit_cost"] = cost
        if "polku:capacity" in raw:
            capacity = raw["polku:capacity"]
            if capacity is None or (isinstance(capacity, int) and not isinstance(capacity, bool) and capacity >= 0):
                s.fields["capacity"] = capacity
            else:
                self.out.error(where, "polku:capacity", _("Expected a whole number, zero or more, or null."))

    # ----------------------------------------------------------------------------------------- an organisation

    def organisation(self, raw: Any, where: str) -> OrgIn | None:
        """An organisation described in the file. Its problems are kept apart: they matter only if a service
        needs the organisation created."""
        if not isinstance(raw, dict):
            return None
        org = OrgIn(where=where)
        reader = Reader(org.problems)
        org.ptv_id = reader.identifier(raw.get("id"), where, "id")
        org.business_id = reader.identifier(raw.get("businessCode"), where, "businessCode")
        names: dict[str, str] = {}
        if raw.get("organizationNames") is not None:
            texts = reader.localized(raw["organizationNames"], where, "organizationNames") or {}
            for text_type in ("Name", ""):
                for lang, text in texts.get(text_type, {}).items():
                    if text.strip():
                        names.setdefault(lang, text)
        fi = names.get("fi") or next((names[lang] for lang in ("sv", "en") if names.get(lang)), "")
        if not fi:
            org.problems.error(where, "organizationNames", _("An organisation needs a name."))
        elif not names.get("fi"):
            org.problems.warn(where, "organizationNames",
                              _("No Finnish name; the name in another language is used."))
        kind: str | None = OrganisationKind.OTHER
        if raw.get("polku:kind") is not None:
            kind = reader.choice(raw["polku:kind"], where, "polku:kind", OrganisationKind.values)
        else:
            if raw.get("organizationType") == "Organization":
                kind = OrganisationKind.NGO
            org.problems.warn(where, "organizationType",
                              _("The organisation's kind was guessed as %(kind)s; check it in the admin.")
                              % {"kind": OrganisationKind(kind or OrganisationKind.OTHER).label})
        municipality = ""
        if raw.get("municipality") is not None:
            municipality = reader.municipality(raw["municipality"], where, "municipality") or ""
        active = True
        if raw.get("publishingStatus") is not None:
            status = reader.choice(raw["publishingStatus"], where, "publishingStatus",
                                   sorted(ACTIVE_STATUSES | INACTIVE_STATUSES))
            active = status in ACTIVE_STATUSES if status else True
        org.fields = {"name_fi": fi, "name_sv": names.get("sv", ""), "name_en": names.get("en", ""),
                      "kind": kind or OrganisationKind.OTHER, "municipality_code": municipality,
                      "active": active, "business_id": org.business_id, "national_catalogue_id": org.ptv_id}
        return org


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def split_document(data: Any, out: Outcome) -> tuple[list[Any], list[Any]]:
    """The services and organisations of a file: ``{"services": […], "organizations": […]}`` (Polku's export),
    a PTV page ``{"itemList": […]}``, a list of services, or one service."""
    if isinstance(data, list):
        return data, []
    if not isinstance(data, dict):
        out.error("$", "", _("Expected a JSON object with services, or a list of services."))
        return [], []
    if "services" in data or "itemList" in data:
        services = data.get("services", data.get("itemList"))
    elif "serviceNames" in data:
        services = [data]
    else:
        out.error("$", "services", _("Expected a JSON object with services, or a list of services."))
        return [], []
    organisations = data.get("organizations")
    if not isinstance(services, list):
        out.error("$", "services", _("Expected a list."))
        services = []
    if organisations is None:
        organisations = []
    if not isinstance(organisations, list):
        out.error("$", "organizations", _("Expected a list."))
        organisations = []
    return services, organisations
