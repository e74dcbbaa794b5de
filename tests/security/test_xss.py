"""Cross-site scripting, stored and reflected (issue 11, item 2).

Stored: every free-text field of every model (``routes.free_text_fields``: enumerated, not hand-picked) gets a
payload of its own, numbered, in every row; then every page of the UI (every URL pattern, its parameters filled
with records the user may open) is fetched as every demo role and the portal client, in Finnish, Swedish and
English. No page may contain a payload's markup unescaped; each field's payload must show up escaped on at least
one page unless the field is listed as never shown (``NOT_SHOWN``), so that a field that starts to be shown is
checked and a field that stops being shown is noticed.

Reflected: every query parameter any view or form reads gets the payload on every page; and every form posts it
back in every field, so that an error page echoing input is covered.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField
from django.test import Client as Browser

from .routes import Route, free_text_fields, ui_routes
from .seed import STAFF_USERS

pytestmark = pytest.mark.django_db  # also makes pytest-django create the test database for the module fixture

LANGUAGES = ("fi", "sv", "en")
FIELDS = free_text_fields()

#: Fields no page of the crawl shows (checked: a payload there is never seen, escaped or not). Listed with the
#: reason; a field that starts to be shown must be removed from here, or the test fails, and every other field must
#: be seen escaped somewhere, so that the crawl is known to reach it.
NOT_SHOWN: dict[tuple[str, str], str] = {
    ("accounts.ApiToken", "name"): "tokens are managed on the command line (polku token)",
    ("assessments.Assessment", "notes"): "the UI shows scores and bands; notes only in the API",
    ("assessments.Instrument", "description_fi"): "instrument metadata: API and seed data",
    ("assessments.Instrument", "description_sv"): "instrument metadata: API and seed data",
    ("assessments.Instrument", "description_en"): "instrument metadata: API and seed data",
    ("assessments.Instrument", "source"): "instrument metadata: API and seed data",
    ("audit.AccessLog", "actor_name"): "log pages name the organisation and role, not the person",
    ("audit.AccessLog", "reason"): "the policy's reason code: API and audit exports only",
    ("clients.BenefitPeriod", "source"): "register provenance: API and exports",
    ("clients.Client", "address"): "not shown in the UI",
    ("clients.ResidenceChange", "source"): "register provenance: API and exports",
    ("coordination.SweepState", "rules_fingerprint"): "the incremental sweep's own bookkeeping (a hash), never shown",
    ("episodes.JointServiceEpisode", "end_notes"): "the demo region has no closed episode with notes in view",
    ("impact.EffectRun", "data_source"): "shown only with a computed effect run (none seeded here)",
    ("impact.EstimateOverride", "reason"): "shown only with a trained impact model (none seeded here)",
    ("impact.FairnessReport", "text"): "shown only with a trained impact model (none seeded here)",
    ("impact.ModelVersion", "data_source"): "shown only with a trained impact model (none seeded here)",
    ("impact.ModelVersion", "trained_by"): "shown only with a trained impact model (none seeded here)",
}


def payload(number: int, room: int | None = None) -> str:
    """Markup that would run if rendered raw: a script element, an attribute break-out and an image error handler,
    numbered so that a hit names its field. Shorter forms for short fields."""
    full = f"<script>alert({number})</script>\"'><img src=x onerror=alert({number})>"
    if room is None or room >= len(full):
        return full
    return f"\"'><img src=x onerror=alert({number})>"


def raw_markers(number: int) -> tuple[str, ...]:
    return (f"<script>alert({number})</script>", f"<img src=x onerror=alert({number})>")


def escaped_markers(number: int) -> tuple[str, ...]:
    """How an escaped payload looks in HTML (Django's escape, or JSON's \\u003C in a script data block)."""
    return (f"&lt;img src=x onerror=alert({number})&gt;", f"\\u003Cimg src=x onerror=alert({number})\\u003E")


@dataclass(repr=False)
class Crawl:
    pages: int = 0
    raw: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    escaped: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    server_errors: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Crawl({self.pages} pages)"

    def scan(self, where: str, response: Any, numbers: range) -> None:
        self.pages += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{where}: {response.status_code}")
        if "html" not in response.get("Content-Type", ""):
            return
        text = response.content.decode("utf-8", errors="replace")
        if "alert(" not in text:
            return
        found = {int(n) for n in re.findall(r"alert\((\d+)\)", text)}
        for number in found & set(numbers):
            if any(marker in text for marker in raw_markers(number)):
                self.raw[number].add(where)
            if any(marker in text for marker in escaped_markers(number)):
                self.escaped[number].add(where)


def _store_payloads(client_ids: list[int]) -> None:
    """Every row of every free-text field gets its field's payload (unique fields: with the row's id). The access
    log is append-only: it gets new rows carrying the payloads instead."""
    for number, (label, name) in enumerate(FIELDS):
        model = apps.get_model(label)
        if label == "audit.AccessLog":
            _log_rows(client_ids, name, payload(number))
            continue
        model_field = model._meta.get_field(name)
        room = model_field.max_length if isinstance(model_field, CharField) else None
        text = payload(number, room)
        if model_field.unique:
            for pk in model.objects.values_list("pk", flat=True):
                suffix = f"#{pk}"
                model.objects.filter(pk=pk).update(**{name: payload(number, (room or 10**6) - len(suffix)) + suffix})
        else:
            model.objects.update(**{name: text})


def _log_rows(client_ids: list[int], name: str, text: str) -> None:
    from polku.access.policy import log_access
    from polku.audit.models import AccessLog

    coordinator = get_user_model().objects.get(username="coordinator")
    for client_id in client_ids:
        row = log_access(user=coordinator, client_id=client_id, category="basic", action="view", purpose="hostile",
                         allowed=True, reason=text if name == "reason" else "hostile")
        if name == "actor_name":  # as written by a batch job named by its operator (log_system_access)
            AccessLog.objects.create(**{**{f.attname: getattr(row, f.attname) for f in AccessLog._meta.concrete_fields
                                           if not f.primary_key and f.attname not in ("prev_hash", "row_hash")},
                                        "actor_name": text, "actor_id": None})


def _get_routes(username: str) -> list[Route]:
    portal = username == "client"
    chosen = []
    for route in ui_routes():
        if route.name in ("web:logout", "portal:oidc_authenticate", "portal:oidc_callback", "web:health"):
            continue
        if portal and not route.name.startswith("portal:") and route.name not in ("web:home",):
            continue
        if not portal and route.name.startswith("portal:") and route.name != "portal:staff_thread":
            continue
        chosen.append(route)
    return chosen


def _browser(username: str, language: str) -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    browser.force_login(get_user_model().objects.get(username=username))
    return browser


#: Which languages each user's pages are fetched in: the coordinator and the client, who see the most, in all
#: three; the other roles each in all three too, since a name or description is chosen by language.
def _plan() -> Iterator[tuple[str, str]]:
    """Who fetches the pages in which language: the roles that see the most (coordinator, social worker, provider,
    the administrator, the portal client) in all three languages; the others (health, Kela, manager, procurement) in
    one language each, in turn, to keep the crawl to about twenty seconds."""
    full = ("coordinator", "socialworker", "provider", "admin", "client")
    for username in full:
        for language in LANGUAGES:
            yield username, language
    others = [u for u in STAFF_USERS if u not in full]
    for index, username in enumerate(others):
        yield username, LANGUAGES[index % len(LANGUAGES)]


@pytest.fixture(scope="module")
def crawl(seeded: Any, django_db_blocker: Any) -> Crawl:
    result = Crawl()
    numbers = range(len(FIELDS))
    with django_db_blocker.unblock():
        _store_payloads(sorted({values["client_id"] for values in seeded.ids.values()}))
        for username, language in _plan():
            browser = _browser(username, language)
            values = seeded.ids[username]
            for route in _get_routes(username):
                path = route.path(values)
                response = browser.get(path)
                result.scan(f"{username}/{language} GET {path}", response, numbers)
    return result


def test_stored_xss__crawl_reached_the_pages(crawl: Crawl) -> None:
    """The crawl itself worked: many pages, no server error, and the payloads of the fields every page shows
    (client and staff names, organisation names) were found escaped."""
    assert crawl.pages > 300
    assert crawl.server_errors == []
    shown = {FIELDS[n] for n in crawl.escaped}
    assert {("clients.Client", "last_name"), ("organisations.Organisation", "name_fi"),
            ("organisations.Organisation", "name_sv"), ("organisations.Organisation", "name_en")} <= shown


@pytest.mark.parametrize("number", range(len(FIELDS)), ids=[f"{label}.{name}" for label, name in FIELDS])
def test_stored_xss__field_is_escaped_on_every_page(crawl: Crawl, number: int) -> None:
    assert sorted(crawl.raw.get(number, ())) == [], f"{FIELDS[number]} rendered unescaped"
    if FIELDS[number] in NOT_SHOWN:
        assert not crawl.escaped.get(number), f"{FIELDS[number]} is shown now: remove it from NOT_SHOWN"
    else:
        assert crawl.escaped.get(number), f"{FIELDS[number]}: no crawled page showed it (list it in NOT_SHOWN?)"



# ------------------------------------------------------------------------------------------------ reflected


def reflected_parameters() -> list[str]:
    """Every query or form parameter a view reads: the names in ``request.GET/POST.get("...")`` of the UI's
    modules and every field of every form class they define (with the prefixes the views give them)."""
    import importlib
    import inspect

    from django import forms

    names: set[str] = {"next", "page", "q", "format", "period", "report", "by", "by2", "region", "state"}
    modules = ["polku.web.views", "polku.web.worklist_views", "polku.web.client_views", "polku.web.plan_views",
               "polku.web.assessment_views", "polku.web.referral_views", "polku.web.catalogue_views",
               "polku.web.admin_views", "polku.web.impact_views", "polku.web.effects_views",
               "polku.web.indicator_views", "polku.web.partner_views", "polku.portal.views", "polku.portal.forms",
               "polku.accounts.views", "polku.accounts.forms"]
    for dotted in modules:
        try:
            module = importlib.import_module(dotted)
        except ImportError:
            continue
        source = inspect.getsource(module)
        names.update(re.findall(r"request\.(?:GET|POST)(?:\.get)?[\[(]\"([\w-]+)\"", source))
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == dotted:
                names.update(getattr(cls, "base_fields", {}).keys())
    return sorted(names)


PARAMETERS = reflected_parameters()
REFLECTED_BASE = 10_000


@pytest.fixture(scope="module")
def reflected(seeded: Any, django_db_blocker: Any) -> Crawl:
    """Every page fetched with every parameter set to its own payload (coordinator, manager and procurement
    officer, the client; fi, sv, en), then every form posted back with every parameter so (coordinator and client),
    so that error messages and re-rendered forms that echo input are covered."""
    result = Crawl()
    numbers = range(REFLECTED_BASE, REFLECTED_BASE + len(PARAMETERS))
    query = {name: payload(REFLECTED_BASE + index) for index, name in enumerate(PARAMETERS)}
    plan = [("coordinator", lang) for lang in LANGUAGES] + [("client", lang) for lang in LANGUAGES] + [
        ("manager", "fi"), ("procurement", "sv"), ("provider", "en")]
    with django_db_blocker.unblock():
        for username, language in plan:
            browser = _browser(username, language)
            for route in _get_routes(username):
                path = route.path(seeded.ids[username])
                result.scan(f"{username}/{language} GET {path}", browser.get(path, query), numbers)
        for username, language in [("coordinator", "fi"), ("client", "sv")]:
            browser = _browser(username, language)
            for route in _get_routes(username):
                if route.name in ("i18n:set_language", "set_language"):
                    continue
                path = route.path(seeded.ids[username])
                result.scan(f"{username}/{language} POST {path}", browser.post(path, query), numbers)
    return result


def test_reflected_xss__crawl_reached_the_pages(reflected: Crawl) -> None:
    assert reflected.pages > 150
    assert reflected.server_errors == []
    echoed = {PARAMETERS[n - REFLECTED_BASE] for n in reflected.escaped}
    assert "q" in echoed  # the client search echoes its query (escaped)


@pytest.mark.parametrize("index", range(len(PARAMETERS)), ids=PARAMETERS)
def test_reflected_xss__parameter_is_escaped_on_every_page(reflected: Crawl, index: int) -> None:
    assert sorted(reflected.raw.get(REFLECTED_BASE + index, ())) == [], f"{PARAMETERS[index]} echoed unescaped"
