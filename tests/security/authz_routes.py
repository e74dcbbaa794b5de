"""The routes of the authorisation matrix: enumerated from the code, classified here by hand.

Every page of the URL resolver and every operation of the NinjaAPI is enumerated (``enumerate_routes``); each must
have a classification in ``CLASSIFICATION`` (or match a rule in ``NAMESPACE_RULES``), or the matrix fails and
names it. A classification says what the route does with client data:

- ``OPEN``: no sign-in needed (sign-in page, health check, OpenAPI document).
- ``SIGNED_IN``: any signed-in user; no client's data (the catalogue, the caller's own identity).
- ``LIST``: shows many clients, filtered by the policy (caseloads, worklists). Whatever it shows is checked
  against the oracle (no client's markers beyond what the role may see) and the access log (one row per client
  shown).
- ``AGGREGATE``: managers' and administrators' aggregates (indicators, impact, gaps); others are refused.
- ``CONTRACTS``: public contracts (docs/partners.md): managers, administrators and procurement officers.
- ``ADMIN_ROLE``: Polku's own administration pages, for the administrator role only.
- ``DJANGO_ADMIN``: the Django admin site, for ``is_staff`` accounts only; no role of the matrix has one.
- ``PORTAL``: the signed-in client's own pages (no id in the address); staff are refused.
- ``OBJECT``: acts on one record of one client (``obj`` names which, ``category`` the data category it reads or
  writes); the oracle decides each role × situation. ``policy="consent"`` for recording or revoking consent
  (relationship and a joint-service role, no prior consent); ``staff=False`` for the client's own routes (the
  portal, the client's own access log); ``clients=True`` where the client may use it on their own data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from .authz_world import OUTCOME_CONTRACT

OPEN = "open"
SIGNED_IN = "signed_in"
LIST = "list"
AGGREGATE = "aggregate"
CONTRACTS = "contracts"
ADMIN_ROLE = "admin_role"
DJANGO_ADMIN = "django_admin"
PORTAL = "portal"
OBJECT = "object"


@dataclass(frozen=True)
class Route:
    key: str  # "web:client_detail", "api:GET /clients/{client_id}", "admin:clients_client_change"
    kind: str  # "ui" or "api"
    methods: tuple[str, ...]  # for an API operation, its methods; for a page, () (any)
    template: str  # the address with {param} placeholders, from the root
    params: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    access: str
    obj: str = ""  # OBJECT: the record the path's ids name
    category: str = ""
    write: bool = False  # the route (or its POST) changes data
    read: bool = True  # a GET reads (False: POST-only)
    clients: bool = False  # OBJECT: a client may use it on their own data
    staff: bool = True  # OBJECT: staff may use it (False: the client's own routes)
    policy: str = "data"  # or "consent"
    query: dict[str, str] = field(default_factory=dict)  # "{client}" etc. are filled in
    body: dict[str, Any] = field(default_factory=dict)  # for the write: "{client}" etc. are filled in
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"  # the method of the write
    variant: str = ""
    logged: bool = True  # an allowed read is logged (False: the client reading their own access log)


def _ui_template(pattern: Any) -> tuple[str, tuple[str, ...]]:
    text = str(pattern)
    params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", text)) + tuple(re.findall(r"\(\?P<(\w+)>", text))
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    return text.replace("^", "").replace("$", "").replace("\\", ""), params


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> list[tuple[str, str, Any]]:
    found = []
    for p in resolver.url_patterns:
        text, _params = _ui_template(p.pattern)
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            found.extend(_walk(p, prefix + text, ns))
        elif isinstance(p, URLPattern):
            name = str(p.name) if p.name else f"path:{prefix + text}"
            name = f"{namespace}:{name}" if namespace else name
            found.append((name, prefix + text, p))
    return found


API_PREFIX = "/api/v1"

#: Path parameters that name no client's record (the matrix fills in the ids of the situations' records): filled in
#: here, per route, with a record the world (``authz_world``) holds.
PATH_VALUES: dict[str, dict[str, str]] = {"web:outcome_contract": {"name": OUTCOME_CONTRACT}}


def enumerate_routes() -> list[Route]:
    """Every page of the URL resolver (the API's own patterns excepted) and every API operation."""
    from polku.api.api import api

    routes: list[Route] = []
    for name, template, _pattern in _walk(get_resolver(), "/", ""):
        if name.startswith("api-v1:"):
            continue  # the API's patterns: enumerated below, per operation and method
        for param, value in PATH_VALUES.get(name, {}).items():
            template = template.replace("{" + param + "}", value)
        params = tuple(re.findall(r"\{(\w+)\}", template))
        routes.append(Route(name, "ui", (), template, params))
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                template = f"{prefix}{path}"
                params = tuple(re.findall(r"\{(\w+)\}", template))
                for method in operation.methods:
                    routes.append(Route(f"api:{method} {template}", "api", (method,), API_PREFIX + template, params))
    return routes


def api_resolver_names() -> set[str]:
    """The names of the URL patterns under ``/api/v1/`` that are not operations (the OpenAPI document, ...)."""
    return {name for name, _t, p in _walk(get_resolver(), "/", "")
            if name.startswith("api-v1:") and not getattr(p.callback, "__module__", "").startswith("ninja.oper")}


def _client_api(obj: str, category: str, **kw: Any) -> Spec:
    return Spec(OBJECT, obj=obj, category=category, clients=True, **kw)


_TODAY = "{today}"

CLASSIFICATION: dict[str, Spec | list[Spec]] = {
    # --- the API's own non-operation patterns ---------------------------------------------------------------------
    "api-v1:openapi-json": Spec(OPEN),
    "api-v1:openapi-view": Spec(OPEN),
    "api-v1:api-root": Spec(OPEN),
    # --- site-wide ------------------------------------------------------------------------------------------------
    "set_language": Spec(OPEN),
    "web:home": Spec(LIST),
    "web:login": Spec(OPEN),
    "web:logout": Spec(OPEN),
    "web:health": Spec(OPEN),
    # --- worklist and alerts --------------------------------------------------------------------------------------
    "web:alert_detail": Spec(OBJECT, obj="alert", category="basic"),
    "web:alert_acknowledge": Spec(OBJECT, obj="alert", category="basic", write=True, read=False),
    "web:alert_comment": Spec(OBJECT, obj="alert", category="basic", write=True, read=False,
                              body={"comment": "matrix"}),
    "web:alert_resolve": Spec(OBJECT, obj="alert", category="basic", write=True, read=False),
    "web:gaps": Spec(AGGREGATE),
    # --- clients --------------------------------------------------------------------------------------------------
    "web:client_search": Spec(LIST),
    "web:client_register": Spec(LIST),  # the form: no client's data (registering itself is not exercised)
    "web:client_detail": Spec(OBJECT, obj="client", category="basic"),
    "web:client_consent_record": Spec(OBJECT, obj="client", category="basic", policy="consent", write=True,
                                      read=False, body={"organisation": "{org_a}", "category": "health",
                                                        "purpose": "matrix", "method": "in_person"}),
    "web:client_consent_revoke": Spec(OBJECT, obj="consent", category="basic", policy="consent", write=True,
                                      read=False, body={"reason": "matrix"}),
    "web:client_access_log": Spec(OBJECT, obj="client", category="basic"),
    "web:client_estimate_disagree": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                                         body={"direction": "higher", "reason": "matrix"}),
    # --- plans (the multi-sector *employment* plan: employment data) ----------------------------------------------
    "web:plan_edit": Spec(OBJECT, obj="episode", category="employment", write=True),
    "web:plan_step_row": Spec(OBJECT, obj="episode", category="employment"),
    "web:plan_sign": Spec(OBJECT, obj="episode", category="employment", write=True, read=False,
                          body={"version": "{version_id}"}),
    "web:plan_review_request": Spec(OBJECT, obj="episode", category="employment", write=True, read=False,
                                    body={"trigger": "client_request"}),
    "web:plan_review_record": Spec(OBJECT, obj="episode", category="employment", write=True, read=False,
                                   body={"held_on": _TODAY, "notes": "matrix"}),
    "web:plan_step_status": Spec(OBJECT, obj="step", category="employment", write=True, read=False,
                                 body={"status": "done"}),
    # --- assessments ----------------------------------------------------------------------------------------------
    "web:assessment_new": Spec(OBJECT, obj="client", category="basic", write=True,
                               body={"instrument": "work-ability-score"}),
    "web:joint_assessment_open": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                                      body={"held_on": _TODAY}),
    "web:joint_assessment": Spec(OBJECT, obj="joint", category="employment"),
    "web:joint_assessment_section": Spec(OBJECT, obj="joint", category="employment", write=True, read=False,
                                         body={"area": "employment", "findings": "matrix"}),
    "web:joint_assessment_disagreement": Spec(OBJECT, obj="joint", category="employment", write=True, read=False,
                                              body={"topic": "matrix", "positions": "matrix"}),
    # --- referrals ------------------------------------------------------------------------------------------------
    "web:referral_new": Spec(OBJECT, obj="client", category="basic", write=True,
                             body={"service": "{service}", "reason_for_referral": "matrix"}),
    "web:referrals": Spec(LIST),
    "web:referral_detail": Spec(OBJECT, obj="referral", category="basic"),
    "web:referral_action": Spec(OBJECT, obj="referral", category="basic", write=True, read=False,
                                body={"reason": "matrix"}),
    # --- the catalogue (no client data; "refer" lists the caller's caseload) --------------------------------------
    "web:services": Spec(SIGNED_IN),
    "web:service_detail": Spec(SIGNED_IN),
    "web:service_refer": Spec(LIST),
    # --- administration, aggregates -------------------------------------------------------------------------------
    "web:admin_home": Spec(ADMIN_ROLE),
    "web:admin_organisation": Spec(ADMIN_ROLE),
    "web:admin_staff_role": Spec(ADMIN_ROLE, write=True, read=False, body={"role": "manager"}),
    "web:admin_staff_active": Spec(ADMIN_ROLE, write=True, read=False, body={"active": ""}),
    "web:impact": Spec(AGGREGATE),
    "web:effects": Spec(AGGREGATE),
    "web:outcome_contracts": Spec(AGGREGATE),
    "web:outcome_contract": Spec(AGGREGATE),  # {name}: PATH_VALUES
    "web:indicators": Spec(AGGREGATE),
    "web:indicators_download": Spec(AGGREGATE),
    # --- employment partners --------------------------------------------------------------------------------------
    "web:job_preferences": Spec(OBJECT, obj="client", category="employment", write=True,
                                body={"hours_min": "1", "hours_max": "20", "max_commute_km": "5", "version": "1"}),
    "web:job_propose": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                            body={"opening": "{opening}", "client_agreed": "on"}),
    "web:job_training_step": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                                  body={"opening": "{opening}"}),
    "web:partner_openings": Spec(LIST),
    "web:partner_opening": Spec(LIST),  # an opening lists suitable candidates: the caller's clients only
    "web:partner_contracts": Spec(CONTRACTS),
    "web:partner_contract": Spec(CONTRACTS),
    "web:job_proposal_status": Spec(OBJECT, obj="proposal", category="employment", write=True, read=False,
                                    body={"status": "interview"}),
    # --- sign-in: the second factor (issue 11) --------------------------------------------------------------------
    "path:/admin/login/": Spec(OPEN),  # redirects to Polku's own sign-in
    "accounts:two_factor": Spec(SIGNED_IN),
    "accounts:two_factor_setup": Spec(SIGNED_IN),
    "accounts:confirm": Spec(SIGNED_IN),
    # --- the client portal ----------------------------------------------------------------------------------------
    "portal:home": Spec(PORTAL),
    "portal:plan": Spec(PORTAL),
    "portal:step_done": Spec(OBJECT, obj="client_step", category="employment", write=True, read=False,
                             clients=True, staff=False),
    "portal:plan_propose": Spec(PORTAL, write=True, body={"body": "matrix"}),
    "portal:plan_review": Spec(PORTAL, write=True, body={"reason": "matrix"}),
    "portal:messages": Spec(PORTAL, write=True, body={"body": "matrix"}),
    "portal:progress": Spec(PORTAL),
    "portal:consents": Spec(PORTAL),
    "portal:consent_revoke": Spec(OBJECT, obj="consent", category="basic", write=True, read=False, clients=True,
                                  staff=False),
    "portal:access_log": Spec(PORTAL),
    "portal:export": Spec(PORTAL),
    "portal:staff_thread": Spec(OBJECT, obj="client", category="basic", write=True, body={"body": "matrix"}),
    "portal:oidc_authenticate": Spec(OPEN),
    "portal:oidc_callback": Spec(OPEN),
    # --- the API --------------------------------------------------------------------------------------------------
    "api:GET /me": Spec(SIGNED_IN),
    "api:GET /me/export": Spec(PORTAL),
    "api:GET /organisations": Spec(SIGNED_IN),
    "api:GET /organisations/{organisation_id}": Spec(SIGNED_IN),
    "api:GET /services": Spec(SIGNED_IN),
    "api:GET /services/{service_id}": Spec(SIGNED_IN),
    "api:GET /clients": Spec(LIST),
    "api:POST /clients": Spec(SIGNED_IN, write=True, read=False, body={
        "personal_identity_code": "{hetu}", "first_name": "Matrix", "last_name": "New", "municipality_code": "091",
        "consents": [{"organisation_id": "{org_a}", "category": "employment", "purpose": "matrix"}]}),
    "api:GET /clients/{client_id}": _client_api("client", "basic"),
    "api:PATCH /clients/{client_id}": _client_api("client", "basic", write=True, read=False, method="PATCH",
                                                  body={"phone": "0401234567"},
                                                  headers={"If-Match": '"client-{client}-v1"'}),
    "api:GET /clients/{client_id}/consents": _client_api("client", "basic"),
    "api:POST /clients/{client_id}/consents": Spec(OBJECT, obj="client", category="basic", policy="consent",
                                                   write=True, clients=True, read=False, body={
                                                       "organisation_id": "{org_a}", "category": "health",
                                                       "purpose": "matrix"}),
    "api:POST /clients/{client_id}/consents/{consent_id}/revoke": Spec(
        OBJECT, obj="consent", category="basic", policy="consent", write=True, read=False, clients=True,
        body={"reason": "matrix"}),
    "api:GET /clients/{client_id}/employment-periods": _client_api("client", "employment"),
    "api:GET /clients/{client_id}/suggested-services": Spec(OBJECT, obj="client", category="employment"),
    "api:POST /clients/{client_id}/employment-periods": Spec(
        OBJECT, obj="client", category="employment", write=True, read=False,
        body={"status": "employed", "start_date": _TODAY}),
    "api:GET /episodes": Spec(LIST, query={"client_id": "{client}"}),
    "api:POST /episodes": Spec(OBJECT, obj="client", category="basic", write=True, read=False,
                               body={"client_id": "{client}"}),
    "api:GET /episodes/{episode_id}": _client_api("episode", "basic"),
    "api:POST /episodes/{episode_id}/participants": Spec(
        OBJECT, obj="episode", category="basic", write=True, read=False,
        body={"responsible_person_id": "{staff_b}"}),
    "api:POST /episodes/{episode_id}/close": Spec(
        OBJECT, obj="episode", category="basic", write=True, read=False,
        body={"end_date": _TODAY, "end_reason": "employed"}),
    "api:POST /plans/steps/{step_id}/status": Spec(OBJECT, obj="step", category="employment", write=True,
                                                   read=False, clients=True, body={"status": "done"}),
    "api:GET /plans": Spec(LIST, query={"client_id": "{client}"}),
    "api:POST /plans": Spec(OBJECT, obj="episode", category="employment", write=True, read=False, body={
        "episode_id": "{episode}", "employment_goal": "matrix",
        "goals": [{"area": "employment", "title": "matrix", "steps": []}]}),
    "api:GET /plans/{plan_id}": _client_api("plan", "employment"),
    "api:GET /plans/{plan_id}/versions": _client_api("plan", "employment"),
    "api:POST /plans/{plan_id}/versions": Spec(OBJECT, obj="plan", category="employment", write=True, read=False,
                                               headers={"If-Match": '"plan-{plan}-v1"'}, body={
                                                   "employment_goal": "matrix", "change_summary": "matrix",
                                                   "goals": [{"area": "employment", "title": "matrix",
                                                              "steps": []}]}),
    "api:GET /plans/{plan_id}/versions/{number}": _client_api("plan", "employment"),
    "api:POST /plans/{plan_id}/versions/{number}/sign": Spec(OBJECT, obj="plan", category="employment",
                                                             write=True, read=False, clients=True, body={}),
    "api:POST /plans/{plan_id}/review-requests": Spec(OBJECT, obj="plan", category="employment", write=True,
                                                      read=False, clients=True, body={"trigger": "client_request"}),
    "api:POST /plans/{plan_id}/reviews": Spec(OBJECT, obj="plan", category="employment", write=True, read=False,
                                              body={"held_on": _TODAY, "notes": "matrix"}),
    "api:GET /assessments/instruments": Spec(SIGNED_IN),
    "api:GET /assessments/instruments/{code}": Spec(SIGNED_IN),
    "api:GET /assessments": Spec(LIST, query={"client_id": "{client}"}),
    "api:POST /assessments": Spec(OBJECT, obj="client", category="health", write=True, read=False, clients=True,
                                  body={
        "client_id": "{client}", "instrument_code": "work-ability-score", "answers": {"was": 5}}),
    "api:POST /assessments/joint": Spec(OBJECT, obj="episode", category="employment", write=True, read=False,
                                        body={"episode_id": "{episode}", "held_on": _TODAY}),
    "api:GET /assessments/joint/{joint_assessment_id}": _client_api("joint", "employment"),
    "api:POST /assessments/joint/{joint_assessment_id}/sections": Spec(
        OBJECT, obj="joint", category="employment", write=True, read=False,
        body={"area": "employment", "findings": "matrix"}),
    "api:POST /assessments/joint/{joint_assessment_id}/disagreements": Spec(
        OBJECT, obj="joint", category="employment", write=True, read=False,
        body={"topic": "matrix", "positions": "matrix"}),
    "api:GET /assessments/{assessment_id}": [
        _client_api("assessment_health", "health", variant="health"),
        _client_api("assessment_social", "social", variant="social"),
    ],
    "api:GET /referrals": Spec(LIST, query={"client_id": "{client}"}),
    "api:POST /referrals": Spec(OBJECT, obj="client", category="basic", write=True, read=False,
                                body={"client_id": "{client}", "service_id": "{service}"}),
    "api:GET /referrals/{referral_id}": _client_api("referral", "basic"),
    **{f"api:POST /referrals/{{referral_id}}/{action}": Spec(OBJECT, obj="referral", category="basic", write=True,
                                                              read=False, body={"reason": "matrix"})
       for action in ("send", "receive", "accept", "waitlist", "decline", "start", "complete", "interrupt",
                      "cancel")},
    "api:GET /alerts": Spec(LIST, query={"client_id": "{client}"}),
    "api:GET /alerts/worklist": Spec(LIST),
    "api:GET /alerts/{alert_id}": Spec(OBJECT, obj="alert", category="basic"),
    "api:POST /alerts/{alert_id}/acknowledge": Spec(OBJECT, obj="alert", category="basic", write=True, read=False),
    "api:POST /alerts/{alert_id}/comment": Spec(OBJECT, obj="alert", category="basic", write=True, read=False,
                                                body={"comment": "matrix"}),
    "api:POST /alerts/{alert_id}/resolve": Spec(OBJECT, obj="alert", category="basic", write=True, read=False,
                                                body={"note": "matrix"}),
    "api:GET /access-log/mine": Spec(SIGNED_IN),
    "api:GET /access-log/client/{client_id}": Spec(OBJECT, obj="client", category="basic", clients=True,
                                                   staff=False, logged=False),
    "api:GET /indicators": Spec(AGGREGATE, query={"period": "2025"}),
    "api:GET /indicators/": Spec(AGGREGATE, query={"period": "2025"}),
    "api:GET /indicators/definitions": Spec(SIGNED_IN),
    "api:GET /partners/openings": Spec(LIST),
    "api:GET /partners/openings/{opening_id}": Spec(LIST),
    "api:GET /partners/job-suggestions/{client_id}": Spec(OBJECT, obj="client", category="employment"),
    "api:GET /partners/job-preferences/{client_id}": _client_api("client", "employment"),
    "api:PUT /partners/job-preferences/{client_id}": Spec(
        OBJECT, obj="client", category="employment", write=True, read=False, method="PUT",
        headers={"If-Match": '"job-preferences-{job_prefs}-v1"'},
        body={"hours_min": 1, "hours_max": 20, "max_commute_km": 5, "kinds": [], "languages": [],
              "accommodations_needed": [], "skills": [], "notes": "matrix"}),
    "api:POST /partners/proposals": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                                         body={"client_id": "{client}", "opening_id": "{opening}",
                                               "client_agreed": True}),
    "api:POST /partners/placements": Spec(OBJECT, obj="client", category="employment", write=True, read=False,
                                          body={"client_id": "{client}", "employer_id": "{employer}",
                                                "kind": "job", "start_date": _TODAY, "hours_per_week": 20}),
    "api:GET /partners/contracts": Spec(CONTRACTS),
    "api:GET /partners/contracts/totals": Spec(CONTRACTS),
    "api:GET /partners/contracts/{contract_id}": Spec(CONTRACTS),
    "api:GET /partners/job-proposals/{client_id}": Spec(OBJECT, obj="client", category="employment"),
    **{f"api:POST /partners/proposals/{{proposal_id}}/{action}": Spec(
        OBJECT, obj="proposal", category="employment", write=True, read=False, body={"note": "matrix"})
       for action in ("interview", "accept", "decline", "withdraw")},
}

#: Routes classified by their namespace: the Django admin site guards every page the same way.
NAMESPACE_RULES: dict[str, Spec] = {"admin:": Spec(DJANGO_ADMIN)}
CLASSIFICATION["admin:logout"] = Spec(OPEN)  # signing out reveals nothing
CLASSIFICATION["admin:login"] = Spec(OPEN)  # the admin's sign-in form: redirected to Polku's own


def classify(route: Route) -> list[Spec] | None:
    spec = CLASSIFICATION.get(route.key)
    if spec is None:
        for prefix, rule in NAMESPACE_RULES.items():
            if route.key.startswith(prefix):
                return [rule]
        return None
    return spec if isinstance(spec, list) else [spec]
