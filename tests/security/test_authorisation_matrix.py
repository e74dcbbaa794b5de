"""The authorisation matrix (issue 11): every page and API operation × every role × every situation.

Routes come from the code (the URL resolver and the NinjaAPI, ``authz_routes.enumerate_routes``); a route without
a classification fails ``test_every_route_is_classified``. Roles: every ``StaffRole`` (of organisation A), the
client signed in to the portal (the situation's own client, or another client) and an anonymous visitor.
Situations (``authz_world``): A's own client with consent and an open episode, another organisation's client,
a client of A without consent, with consent revoked, and with the episode closed.

The expected answer is the oracle in ``authz_world`` (docs/access-control.md written out, never the policy
itself). Every response is also checked for leaks: no marker string of a client's data of a category the caller
may not see (names and identity codes are basic data; the plan's goal employment data; ...) may appear in it, and
every allowed read is in the access log exactly once (one row per client, category and purpose in a request:
the policy logs a read repeated on one page once; reads for different purposes each keep their row, so the client
sees why). A refused write must change
nothing. Run: ``POLKU_DATA_DIR=/tmp/authz .venv/bin/pytest tests/security -q -p no:cacheprovider``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections import Counter
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client as HttpClient
from django.utils import timezone

from polku.accounts.models import ApiToken
from polku.accounts.services import token_create
from polku.audit.models import AccessLog
from polku.clients.models import Client
from polku.core.identity import make_hetu
from polku.organisations.models import StaffRole

from .authz_routes import (
    ADMIN_ROLE,
    AGGREGATE,
    CLASSIFICATION,
    CONTRACTS,
    DJANGO_ADMIN,
    LIST,
    OBJECT,
    OPEN,
    PORTAL,
    SIGNED_IN,
    Route,
    Spec,
    api_resolver_names,
    classify,
    enumerate_routes,
)
from .authz_world import (
    ANONYMOUS,
    CLIENT_OTHER,
    CLIENT_OWN,
    EXPECTED_AGGREGATE_ROLES,
    EXPECTED_CONTRACT_ROLES,
    EXPECTED_ROLE_CATEGORIES,
    OWN,
    SITUATIONS,
    World,
    all_roles,
    build_world,
    may_manage_consent,
    may_see,
    staff_roles,
)

pytestmark = pytest.mark.django_db  # each test's transaction nests in the module's (the world's)

ROUTES = enumerate_routes()
NOT_A_USER_TABLE = {"audit", "sessions", "auth", "accounts", "admin", "contenttypes", "django_tasks_db"}
MISSING = 987_654_321
STATS: Counter[str] = Counter()
DUPLICATES: dict[str, int] = {}  # route → the most allowed rows (distinct purposes) of one (client, category)


def _cases() -> list[Any]:
    cases = []
    for route in ROUTES:
        for spec in classify(route) or []:
            for role in all_roles():
                name = route.key + (f"#{spec.variant}" if spec.variant else "")
                cases.append(pytest.param(route, spec, role, id=f"{name}|{role}"))
    return cases


# --- the world, once per module ------------------------------------------------------------------------------------

class Harness:
    """The world, an HTTP client per caller, and the database's fingerprint to compare refused writes with."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._ui: dict[Any, HttpClient] = {}
        self._api: dict[Any, HttpClient] = {}
        for user in [*world.users.values(), *(o.portal_user for o in world.objects.values()), None]:
            for kind in ("ui", "api"):  # signed in now, outside the cells' rolled-back transactions
                self._client(kind, user)
        # Tokens "used" in the future: authenticating then writes nothing (last_used_at is kept to the minute).
        ApiToken.objects.update(last_used_at=timezone.now() + dt.timedelta(days=1))
        self.baseline = fingerprint()
        self.missing: dict[tuple[str, str], tuple[int, Any]] = {}
        self.login_url = settings.LOGIN_URL if settings.LOGIN_URL.startswith("/") else "/login/"

    def user(self, role: str, situation: str) -> Any:
        if role == ANONYMOUS:
            return None
        if role == CLIENT_OWN:
            return self.world.objects[situation].portal_user
        return self.world.users[role]

    def http(self, route: Route, role: str, situation: str) -> HttpClient:
        return self._client(route.kind, self.user(role, situation))

    def _client(self, kind: str, user: Any) -> HttpClient:
        cache = self._api if kind == "api" else self._ui
        key = user.pk if user is not None else None
        if key not in cache:
            if user is None:
                cache[key] = HttpClient(HTTP_ACCEPT_LANGUAGE="en")
            elif kind == "api":
                _token, secret = token_create(username=user.get_username())
                cache[key] = HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")
            else:
                cache[key] = HttpClient(HTTP_ACCEPT_LANGUAGE="en")
                cache[key].force_login(user)
        return cache[key]


def fingerprint() -> str:
    """A hash of every row of every table of the domain (not the access log, sessions, accounts or tokens)."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label in NOT_A_USER_TABLE or model._meta.proxy or not model._meta.managed:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names come from the models
            rows = sorted(repr(r) for r in cursor.fetchall())
            digest.update(model._meta.db_table.encode())
            digest.update("\n".join(rows).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def harness(django_db_setup: Any, django_db_blocker: Any) -> Any:
    logging.disable(logging.ERROR)  # thousands of expected 404s and 405s
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        h = Harness(world)
        yield h
        transaction.set_rollback(True)
    logging.disable(logging.NOTSET)
    summary = (f"authorisation matrix: {STATS['cells']} cells ({STATS['requests']} requests: "
               f"{STATS['reads']} reads, {STATS['writes']} refused writes), {STATS['allowed']} allowed, "
               f"{STATS['refused']} refused, {STATS['leaks']} leaks")
    print("\n" + summary)  # the figures var/security/authz.md quotes (pytest -s)
    target = os.environ.get("POLKU_AUTHZ_SUMMARY")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump({"stats": dict(STATS), "log_rows_per_request": DUPLICATES}, out, indent=1)


# --- filling in addresses and bodies ---------------------------------------------------------------------------

def _values(h: Harness, spec: Spec, situation: str) -> dict[str, Any]:
    w = h.world
    o = w.objects[situation]
    assessment = o.assessment_social if spec.obj == "assessment_social" else o.assessment_health
    step = o.client_step if spec.obj == "client_step" else o.step
    return {
        "client_id": o.client.pk, "client": o.client.pk, "episode_id": o.episode.pk, "episode": o.episode.pk,
        "plan_id": o.plan.pk, "plan": o.plan.pk, "number": 1, "step_id": step.pk, "referral_id": o.referral.pk,
        "assessment_id": assessment.pk, "joint_assessment_id": o.joint.pk, "joint_id": o.joint.pk,
        "alert_id": o.alert.pk, "proposal_id": o.proposal.pk, "contract_id": w.contract.pk,
        "consent_id": o.consent.pk, "action": "accept", "service_id": w.service.pk, "service": w.service.pk,
        "organisation_id": w.org_a.pk, "org_a": w.org_a.pk, "staff_id": w.users[StaffRole.COORDINATOR].staff.pk,
        "staff_b": w.staff_b.staff.pk, "opening_id": w.opening.pk, "opening": w.opening.pk,
        "employer": w.employer.pk, "code": "work-ability-score", "object_id": o.client.pk, "app_label": "clients",
        "url": "matrix/", "content_type_id": ContentType.objects.get_for_model(Client).pk,
        "version_id": o.version.pk, "job_prefs": o.client.job_preferences.pk,
        "today": timezone.localdate().isoformat(), "hetu": make_hetu(dt.date(1990, 5, 17), 933, variant=7),
    }


_OBJECT_PARAMS = {"client_id", "episode_id", "plan_id", "step_id", "referral_id", "assessment_id",
                  "joint_assessment_id", "joint_id", "alert_id", "consent_id", "object_id", "proposal_id"}


def _fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        out = template
        for key, value in values.items():
            out = out.replace("{" + key + "}", str(value))
        return out
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _request(h: Harness, route: Route, spec: Spec, role: str, situation: str, *, write: bool,
             missing: bool = False) -> Any:
    values = _values(h, spec, situation)
    path_values = dict(values)
    if missing:
        path_values.update({p: MISSING for p in route.params if p in _OBJECT_PARAMS})
    url = _fill(route.template, path_values)
    query = {k: str(_fill(v, values)) for k, v in spec.query.items()}
    http = h.http(route, role, situation)
    headers = {k: _fill(v, values) for k, v in spec.headers.items()}
    if not write:
        method = route.methods[0] if route.methods else "GET"
        return http.generic(method, url, data="", QUERY_STRING="&".join(f"{k}={v}" for k, v in query.items()),
                            headers=headers)
    body = _fill(spec.body, values)
    if route.kind == "api":
        method = route.methods[0]
        return http.generic(method, url, json.dumps(body), content_type="application/json",
                            QUERY_STRING="&".join(f"{k}={v}" for k, v in query.items()), headers=headers)
    return http.post(url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
                     {k: str(v) for k, v in body.items()}, headers=headers)


# --- the oracle for one cell ------------------------------------------------------------------------------------

def viewer_may_see(role: str, logged_in_situation: str, target_situation: str, category: str) -> bool:
    """May the caller see ``category`` data of the client of ``target_situation``? A portal client signed in
    (``CLIENT_OWN``) is the client of ``logged_in_situation``; ``CLIENT_OTHER`` is a stranger."""
    if role == CLIENT_OWN:
        return logged_in_situation == target_situation
    return may_see(role, target_situation, category)


def object_allowed(spec: Spec, role: str, situation: str, *, write: bool = False) -> bool | None:
    """True: must answer; False: must refuse; None: either (a client's own data on a staff page: the docs let a
    client see all of their own data, and a staff page may still refuse them)."""
    if role in (ANONYMOUS, CLIENT_OTHER):
        return False
    if role == CLIENT_OWN:
        if spec.clients:
            return True
        return None if not write else False
    if not spec.staff:
        return False
    if spec.policy == "consent":
        return may_manage_consent(role, situation)
    return may_see(role, situation, spec.category)


def _route_allowed(spec: Spec, role: str) -> bool | None:
    """For the routes without an object: True (answers), False (refuses) or None (either: a list)."""
    if spec.access == OPEN:
        return None  # (the client OIDC sign-in is "not found" unless configured)
    if role == ANONYMOUS:
        return False
    if spec.access == SIGNED_IN:
        return True
    if spec.access == AGGREGATE:
        return role in EXPECTED_AGGREGATE_ROLES
    if spec.access == CONTRACTS:
        return role in EXPECTED_CONTRACT_ROLES
    if spec.access == ADMIN_ROLE:
        return role == StaffRole.ADMINISTRATOR
    if spec.access == DJANGO_ADMIN:
        return False
    if spec.access == PORTAL:
        return role in (CLIENT_OWN, CLIENT_OTHER)
    return None


def _refused_status(route: Route, role: str, response: Any) -> bool:
    if route.kind == "api":
        return response.status_code in ((401,) if role == ANONYMOUS else (403, 404))
    if role == ANONYMOUS or (response.status_code == 302 and "/admin/login/" in response.get("Location", "")):
        return response.status_code == 302 and "login" in response.get("Location", "")
    return response.status_code in (403, 404)


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


# --- the checks -----------------------------------------------------------------------------------------------------

def _generic_checks(h: Harness, route: Route, role: str, situation: str, response: Any, body: str,
                    rows: list[tuple[int, str, bool, str]], *, read: bool) -> list[str]:
    """Every response: no server error, no marker of data the caller may not see, no allowed log row the
    oracle refuses, and (for a read) no read logged twice: one row per (client, category, purpose)."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"server error {response.status_code}")
    for target, objects in h.world.objects.items():
        for category, markers in objects.markers.items():
            if viewer_may_see(role, situation, target, category):
                continue
            for marker in markers:
                if marker in body:
                    problems.append(f"LEAK: {category} data of the {target} client ({marker}) in the response")
                    STATS["leaks"] += 1
    situation_of = h.world.client_ids()
    for (_client_id, category, purpose), count in Counter((c, cat, why) for c, cat, ok, why in rows if ok).items():
        if read and count > 1:
            problems.append(f"an allowed {category} read ({purpose}) was logged {count} times in one request")
    allowed = Counter((c, cat) for c, cat, ok, _why in rows if ok)
    for (client_id, category), count in allowed.items():
        whose = situation_of.get(client_id)
        if whose is not None and not viewer_may_see(role, situation, whose, category):
            problems.append(f"LEAK: an allowed {category} read of the {whose} client was logged")
            STATS["leaks"] += 1
        if read and count > 1:  # reads for several purposes on one page, each logged once
            DUPLICATES[route.key] = max(DUPLICATES.get(route.key, 0), count)
    return problems


def _total_changes() -> int | None:
    """SQLite's count of rows inserted, updated or deleted on this connection (rolled-back ones included)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT total_changes()")
        return int(cursor.fetchone()[0])


def _run(h: Harness, route: Route, spec: Spec, role: str, situation: str, *, write: bool) -> tuple[Any, str, list]:
    with transaction.atomic():
        before = AccessLog.objects.aggregate(m=Max("pk"))["m"] or 0
        changes = _total_changes()
        response = _request(h, route, spec, role, situation, write=write)
        body = _body(response)
        rows = list(AccessLog.objects.filter(pk__gt=before).values_list("client_id", "category", "allowed",
                                                                             "purpose"))
        after = _total_changes()
        # Nothing but the access log written: unchanged, without hashing every table (the costly check).
        untouched = changes is not None and after is not None and after - changes == len(rows)
        changed = write and not untouched and fingerprint() != h.baseline
        transaction.set_rollback(True)
    STATS["requests"] += 1
    STATS["writes" if write else "reads"] += 1
    return response, body, rows if not changed else [*rows, ("changed", "", False, "")]


def check_cell(h: Harness, route: Route, spec: Spec, role: str, situation: str) -> list[str]:
    problems: list[str] = []
    methods_read = spec.read and (not route.methods or route.methods[0] == "GET")
    target = h.world.objects[situation].client.pk
    if spec.access == OBJECT:
        allowed = object_allowed(spec, role, situation)
        write_refused = object_allowed(spec, role, situation, write=True) is False
    else:
        allowed = _route_allowed(spec, role)
        write_refused = allowed is False
    STATS["cells"] += 1
    STATS["allowed" if allowed else "refused" if allowed is False else "either"] += 1
    if methods_read:
        response, body, rows = _run(h, route, spec, role, situation, write=False)
        problems += _generic_checks(h, route, role, situation, response, body, rows, read=True)
        if spec.access == OBJECT and allowed is not None:
            own = [(cat, ok) for c, cat, ok, _why in rows if c == target]
            if allowed:
                if response.status_code != 200:
                    problems.append(f"expected 200, got {response.status_code}")
                if spec.logged and own.count((spec.category, True)) < 1:
                    problems.append(f"an allowed {spec.category} read is not in the access log")
            else:
                if not _refused_status(route, role, response):
                    problems.append(f"LEAK: refused by the oracle but answered {response.status_code}")
                    STATS["leaks"] += 1
                if (spec.category, True) in own:
                    problems.append(f"LEAK: a refused read logged an allowed {spec.category} row")
                    STATS["leaks"] += 1
                if role != ANONYMOUS and spec.staff and role in staff_roles() and \
                        sum(1 for _cat, ok in own if not ok) != 1:
                    problems.append(f"a refused read logged {sum(1 for _c, ok in own if not ok)} refusals, not one")
                if route.kind == "api" and role != ANONYMOUS and \
                        not viewer_may_see(role, situation, situation, "basic") and response.status_code != 404:
                    problems.append(f"the API answered {response.status_code} for a client the caller may not see,"
                                    " not 404")
                if route.kind == "api" and response.status_code == 404:
                    missing = _missing_answer(h, route, spec, role, situation)
                    got = _problem(response)
                    if got != missing:
                        problems.append(f"the API's 404 differs from a missing object's: {got} != {missing}")
        elif allowed is True and _refused_status(route, role, response) and response.status_code != 302:
            problems.append(f"expected an answer, got {response.status_code}")
        elif allowed is False and not _refused_status(route, role, response):
            problems.append(f"LEAK: refused by the oracle but answered {response.status_code}")
            STATS["leaks"] += 1
        elif spec.access == LIST and role == ANONYMOUS and not _refused_status(route, role, response):
            problems.append(f"LEAK: an anonymous visitor got {response.status_code}")
            STATS["leaks"] += 1
    if spec.write and write_refused:
        response, body, rows = _run(h, route, spec, role, situation, write=True)
        problems += [f"write: {p}" for p in _generic_checks(h, route, role, situation, response, body, rows,
                                                              read=False)]
        if ("changed", "", False, "") in rows:
            problems.append(f"LEAK: a refused write ({response.status_code}) changed the database")
            STATS["leaks"] += 1
        if route.kind == "api" and 200 <= response.status_code < 300:  # (a page re-renders its form: 200)
            problems.append(f"LEAK: a refused write answered {response.status_code}")
            STATS["leaks"] += 1
        STATS[f"write_status_{response.status_code}"] += 1
    return [f"[{situation}] {p}" for p in problems]


def _problem(response: Any) -> Any:
    try:
        data = json.loads(response.content)
    except ValueError:
        return response.content[:200]
    return {k: v for k, v in data.items() if k != "instance"}


def _missing_answer(h: Harness, route: Route, spec: Spec, role: str, situation: str) -> Any:
    key = (route.key + spec.variant, role)
    if key not in h.missing:
        with transaction.atomic():
            response = _request(h, route, spec, role, situation, write=False, missing=True)
            transaction.set_rollback(True)
        h.missing[key] = (response.status_code, _problem(response))
    status, problem = h.missing[key]
    return problem if status == 404 else f"(a missing object answers {status})"


# --- the tests ------------------------------------------------------------------------------------------------------

def test_every_route_is_classified() -> None:
    unclassified = sorted(r.key for r in ROUTES if classify(r) is None)
    extra = sorted(n for n in api_resolver_names() if classify(Route(n, "ui", (), "", ())) is None)
    assert not unclassified + extra, (
        "These routes are not in the authorisation matrix. Classify each in tests/security/authz_routes.py "
        "(CLASSIFICATION: which object its ids name, which data category it reads or writes, or OPEN / "
        "SIGNED_IN / LIST / AGGREGATE / ADMIN_ROLE / PORTAL):\n  " + "\n  ".join(unclassified + extra))


def test_no_classification_is_stale() -> None:
    """A route renamed or removed leaves its classification behind: remove it (the new name is then unclassified)."""
    keys = {r.key for r in ROUTES} | api_resolver_names()
    stale = sorted(k for k in CLASSIFICATION if k not in keys)
    assert not stale, f"Classified routes that no longer exist (tests/security/authz_routes.py): {stale}"


def test_every_role_is_in_the_oracle() -> None:
    missing = [role for role in staff_roles() if role not in EXPECTED_ROLE_CATEGORIES]
    assert not missing, (f"Roles {missing} are not in the oracle: add each, with the data categories its work "
                         "task needs (docs/access-control.md), to EXPECTED_ROLE_CATEGORIES in tests/security/"
                         "authz_world.py")


def test_matrix_is_not_empty() -> None:
    kinds = Counter(s.access for r in ROUTES for s in classify(r) or [])
    assert kinds[OBJECT] >= 50 and kinds[LIST] >= 5, kinds


@pytest.mark.parametrize(("route", "spec", "role"), _cases())
def test_authorisation(harness: Harness, route: Route, spec: Spec, role: str) -> None:
    situations = SITUATIONS if spec.access == OBJECT else (OWN,)
    problems: list[str] = []
    for situation in situations:
        problems += check_cell(harness, route, spec, role, situation)
    assert not problems, f"{route.key} {spec.variant} as {role}:\n  " + "\n  ".join(problems)
