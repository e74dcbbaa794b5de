"""The attack surface, enumerated rather than hand-picked: every URL pattern of the UI (web, portal, accounts,
language switch) and every operation of the API's OpenAPI document, and the free-text fields of the models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

#: Prefixes not part of Polku's own UI: Django's admin (its own CSRF and escaping) and the API (tested by operation).
NOT_UI = ("admin/", "api/")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name (``namespace:name``), the pattern and its parameters."""

    name: str
    pattern: str
    params: tuple[str, ...]
    callback: Any

    @property
    def id(self) -> str:
        return self.name or self.pattern

    def path(self, values: dict[str, Any] | None = None) -> str:
        """The concrete path, each ``<int:x>``/``<slug:x>`` filled from ``values`` (default 1 / ``x``)."""
        values = values or {}

        def fill(match: re.Match[str]) -> str:
            converter, name = match.group(1) or "str", match.group(2)
            default = 1 if converter == "int" else "x"
            return str(values.get(name, default))

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.pattern)


def ui_routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                text = prefix + str(entry.pattern)
                if text.startswith(NOT_UI):
                    continue
                inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (
                    entry.namespace or namespace)
                walk(entry.url_patterns, text, inner or "")
            elif isinstance(entry, URLPattern):
                text = prefix + str(entry.pattern)
                name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
                params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", text))
                found.append(Route(name, text, params, entry.callback))

    walk(get_resolver().url_patterns, "", "")
    return found


def api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` for every operation of ``/api/v1/openapi.json``."""
    from polku.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    return [(method.upper(), path, operation) for path, operations in schema["paths"].items()
            for method, operation in operations.items()]


def api_schema() -> dict[str, Any]:
    from polku.api.api import api

    return api.get_openapi_schema(path_prefix="/api/v1")


#: Text fields that are not free text: identifiers and codes checked by validators or written only by Polku
#: (hashes, signatures, rule and category codes, actor names of the log). A payload there would be refused by
#: every way in, so it is not stored XSS; they are listed so that a new field is free text by default.
NOT_FREE_TEXT = {
    "organisations.Organisation": {"business_id", "municipality_code", "national_catalogue_id"},
    "organisations.ServiceArea": {"municipality_code"},
    "organisations.Unit": {"municipality_code"},
    "clients.Client": {"personal_identity_code", "municipality_code", "phone", "email"},
    "clients.ResidenceChange": {"from_municipality", "to_municipality"},
    "catalogue.Service": {"national_catalogue_id"},
    "assessments.Instrument": {"code"},
    "assessments.InstrumentItem": {"code", "domain"},
    "assessments.Assessment": {"band"},
    "coordination.RuleSetting": {"rule"},
    "coordination.Alert": {"rule", "object_type", "category"},
    "coordination.AlertCandidate": {"rule", "object_type", "category"},
    "coordination.SweepRun": {"triggered_by"},
    "accounts.ApiToken": {"prefix", "key_hash"},
    "audit.AccessLog": {"actor_role", "object_type", "object_id", "purpose"},
    "audit.ChainCheckpoint": {"rule"},
    "impact.ModelVersion": {"outcome", "data_hash", "signature"},
    "impact.EffectRun": {"data_hash", "treatment", "outcome", "control_level"},
    "impact.ContractPayment": {"data_hash"},
    "impact.OutcomeContract": {"name"},
    "partners.Skill": {"code", "esco_uri"},
    "partners.Employer": {"business_id", "municipality_code"},
    "partners.Opening": {"municipality_code"},
    "indicators.FactRefresh": {"triggered_by"},
    "retention.RetentionRun": {"triggered_by"},
    "retention.RetentionRuleResult": {"rule"},
}
#: Apps whose tables are derived, never typed in: the indicator facts are computed from the rest.
DERIVED_APPS = {"indicators"}


def free_text_fields(min_length: int = 30) -> list[tuple[str, str]]:
    """``(model label, field name)`` of every CharField/TextField of Polku's models without choices that a person
    can fill in (see :data:`NOT_FREE_TEXT`), long enough to hold a payload."""
    fields: list[tuple[str, str]] = []
    for model in apps.get_models():
        label = model._meta.label
        if not model.__module__.startswith("polku.") or model._meta.app_label in DERIVED_APPS:
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, (models.CharField, models.TextField)) or field.choices:
                continue
            if field.name in NOT_FREE_TEXT.get(label, set()):
                continue
            if isinstance(field, models.CharField) and (field.max_length or 0) < min_length:
                continue
            fields.append((label, field.name))
    # Staff members' names are Django's user's: shown wherever a responsible person or a sender is.
    fields += [("auth.User", "first_name"), ("auth.User", "last_name")]
    return sorted(fields)
