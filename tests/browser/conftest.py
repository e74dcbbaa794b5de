"""Browser tests: Playwright drives Debian's Chromium (``/usr/bin/chromium``, headless; never a downloaded
browser) over a live Polku server whose database holds a seeded demo region (the same as ``polku demo``).

The region is seeded once for the whole run (``pytest --browser``), so tests share it: a test that changes data
works on records of its own (see ``fresh_joint_client``) and never on what another test reads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API keeps an event loop in this thread

CHROMIUM = os.environ.get("POLKU_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LANGUAGES = ["fi", "sv", "en"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
DEMO_CLIENTS = 150


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM}: install Debian's chromium (python3 run.py test does)"
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(message + "; under CI=true a missing browser is a failure")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: Any) -> None:
    """On SQLite the test database is a file, not memory: the server thread and the region generator's bulk
    writer open connections of their own."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("browser-db") / "polku-test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(request: Any, django_test_environment: None, django_db_blocker: Any,
                    django_db_modify_db_settings: None) -> Iterator[None]:
    """The test database, created and migrated for the whole browser run. (pytest-django's own fixture sets up
    only databases that some test asks for with ``db``; these tests use the database outside test transactions.)"""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    yield
    with django_db_blocker.unblock():
        _end_other_sessions()
        teardown_databases(config, verbosity=0)


def _end_other_sessions() -> None:
    """A request thread of the live server that was still answering when the run ended may keep its database
    session open; PostgreSQL refuses to drop a database in use, so end such sessions first."""
    from django.db import connection, connections

    connections.close_all()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        connection.close()


@pytest.fixture(scope="session")
def region(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """The demo region (``polku.demo``: a synthetic region plus one login per role), seeded once."""
    from polku.demo.region import load_demo_region

    with django_db_blocker.unblock():
        return load_demo_region(clients=DEMO_CLIENTS, seed=7)


@pytest.fixture(scope="module")
def impact_models(region: Any, django_db_blocker: Any) -> Iterator[Any]:
    """The impact model trained on the seeded region (``polku impact train`` and ``polku impact segments``), for
    the tests of the pages that show it; removed again after the module, so that the other modules' thousands of
    client-page requests (the access-policy table) do not each compute an estimate. Yields the potential model's
    version. A failure to train is an error that says so, never a page test failing for another reason."""
    from django.utils import timezone

    from polku.impact.models import ModelVersion
    from polku.impact.services import (
        database_table,
        default_reference_dates,
        train_and_store,
        train_segments_and_store,
    )

    with django_db_blocker.unblock():
        today = timezone.localdate()
        try:
            table = database_table(default_reference_dates(1, today), observed_until=today,
                                   actor_name="browser tests")
            version, _metrics = train_and_store(table, outcome="employed_12m", features=None,
                                                data_source="browser tests", trained_by="browser tests", members=2)
            train_segments_and_store(table, data_source="browser tests", trained_by="browser tests", max_segments=4,
                                     seeds=(0,))
        except Exception as exc:  # any failure here means the impact pages cannot be checked
            raise RuntimeError(f"could not train the impact model on the demo region: {exc!r}") from exc
    yield version
    with django_db_blocker.unblock():
        from polku.impact.models import EstimateOverride, FairnessReport

        EstimateOverride.objects.all().delete()
        FairnessReport.objects.all().delete()
        ModelVersion.objects.all().delete()


@pytest.fixture(scope="session")
def server(region: Any, django_db_blocker: Any) -> Iterator[str]:
    """A live Polku server in a thread of this process, over the seeded test database; yields its base URL."""
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        live = LiveServer("localhost", start=False)
        live._live_server_modified_settings.enable()
        live.start()
        yield live.url
        live.stop()
        live._live_server_modified_settings.disable()


@pytest.fixture(scope="session")
def chromium(server: str) -> Iterator[Any]:
    """The browser; it depends on the server so that it closes (and ends its requests) before the server stops."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _db_open(django_db_blocker: Any) -> Iterator[None]:
    """Tests read and change the seeded database directly (set-up and checks), outside any test transaction."""
    with django_db_blocker.unblock():
        yield


@dataclass
class Visit:
    """A signed-in browser tab: ``page`` is Playwright's Page, ``url(path)`` the absolute address."""

    page: Any
    base: str
    language: str

    def url(self, path: str) -> str:
        return self.base + path

    def open(self, path: str) -> Any:
        response = self.page.goto(self.url(path))
        return response


@pytest.fixture
def visit(chromium: Any, server: str) -> Iterator[Any]:
    """``visit(username=None, language="fi", javascript=True)`` opens a browser context, signed in as that user
    (by a session cookie made on the server side: the login form itself has its own test), set to that language,
    with or without JavaScript."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client as DjangoClient

    contexts: list[Any] = []

    def open_as(username: str | None = None, language: str = "fi", javascript: bool = True) -> Visit:
        context = chromium.new_context(locale=language, viewport={"width": 1280, "height": 900},
                                       java_script_enabled=javascript)
        contexts.append(context)
        host = server.split("//", 1)[1].split(":")[0]
        cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "domain": host, "path": "/"}]
        if username is not None:
            django_client = DjangoClient()
            django_client.force_login(get_user_model().objects.get(username=username))
            cookies.append({"name": settings.SESSION_COOKIE_NAME,
                            "value": django_client.cookies[settings.SESSION_COOKIE_NAME].value,
                            "domain": host, "path": "/"})
        context.add_cookies(cookies)
        return Visit(page=context.new_page(), base=server, language=language)

    yield open_as
    for context in contexts:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now (axe-core bundled by
    axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    return list(result.response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                   for node in violation["nodes"][:5]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return "\n".join(lines)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (git-ignored) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture
def assert_accessible(visit: Any) -> Any:
    """``assert_accessible(username, path, name)``: the page answers 200 in fi, sv and en, the page's ``lang``
    is that language, axe-core finds no WCAG 2.1 A/AA violation, and a screenshot is saved as
    ``var/screenshots/<name>-<language>.png``."""

    def check(username: str | None, path: str, name: str, languages: list[str] | None = None) -> None:
        for language in languages or LANGUAGES:
            tab = visit(username, language)
            response = tab.open(path)
            assert response is not None and response.status == 200, (path, language, response and response.status)
            assert tab.page.locator("html").get_attribute("lang") == language
            violations = axe_violations(tab.page)
            screenshot(tab.page, f"{name}-{language}")
            assert not violations, f"{path} in {language}:\n{describe(violations)}"
            tab.page.context.close()

    return check
