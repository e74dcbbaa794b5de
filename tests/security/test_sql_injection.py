"""SQL injection (issue 11, item 2): classic payloads in every search, filter, sort and cursor parameter of the
API (every query parameter and every text path parameter of every GET operation in the OpenAPI document) and of
the UI (every parameter any view or form reads, on every page) give a 4xx or an ordinary answer, never a server
error, and never more rows than the same request without the parameter (nor a client the caller may not see).

The ORM parameterises every value; these tests guard the places where text reaches SQL otherwise (raw SQL in
the selectors and the indicator facts, ``extra()``, ordering by a name from the query string) and the database's
own limits (PostgreSQL refuses NUL characters in text: run them on PostgreSQL too, see docs/security.md).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as Browser

from tests import factories as f
from tests.api.conftest import Api

from .routes import api_operations, ui_routes
from .test_xss import PARAMETERS

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "1 OR 1=1",
    "1' UNION SELECT personal_identity_code, first_name FROM clients_client --",
    "1; DROP TABLE clients_client; --",
    "')) OR (('1'='1",
    "%' OR '%'='",
    "%",
    "_",
    "\\",
    "\" OR \"\"=\"",
    "-1",
    "99999999999999999999999",
    "\x00",
    "a\x00' OR '1'='1",
    "name; --",
    "-pk",
    "__class__",
    "client__personal_identity_code",
]


def _query_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def _text_path_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", [])
            if p["in"] == "path" and p.get("schema", {}).get("type") == "string"]


CASES = [(path, name, where) for method, path, operation in api_operations() if method == "GET"
         for where, names in (("query", _query_parameters(operation)), ("path", _text_path_parameters(operation)))
         for name in names]


@pytest.fixture
def api(joint: Any) -> Any:
    f.client(first_name="Ulla", last_name="Ulkopuolinen")  # nobody here may see this client
    return Api(joint.coordinator)


def _path(template: str, joint: Any, override: dict[str, str] | None = None) -> str:
    values = {"client_id": joint.client.pk, "episode_id": joint.episode.pk, "code": "work-ability-index",
              **(override or {})}
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), template).removeprefix("/api/v1")


def _ids(response: Any) -> set[Any] | None:
    if response.status_code != 200 or not response["Content-Type"].startswith("application/json"):
        return None
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return {repr(item.get("id", item)) if isinstance(item, dict) else repr(item) for item in body["items"]}
    return None


@pytest.mark.parametrize(("path", "name", "where"), CASES, ids=[f"{p}:{n}" for p, n, _w in CASES])
def test_sql_injection__api_parameter(joint: Any, api: Any, path: str, name: str, where: str) -> None:
    baseline = _ids(api.get(_path(path, joint), limit=200))
    for payload in PAYLOADS:
        if where == "query":
            response = api.get(_path(path, joint), **{name: payload, "limit": 200})
        else:
            from urllib.parse import quote

            response = api.get(_path(path, joint, {name: quote(payload, safe="")}))
        assert response.status_code < 500, (payload, response.content[:500])
        assert b"Ulkopuolinen" not in response.content
        found = _ids(response)
        if found is not None and baseline is not None:
            assert found <= baseline, (payload, found - baseline)


ROUTES = [r for r in ui_routes() if r.name not in ("web:logout", "portal:oidc_authenticate",
                                                   "portal:oidc_callback", "web:health")]


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_sql_injection__ui_page_with_every_parameter(joint: Any, route: Any) -> None:
    portal = route.name.startswith("portal:") and route.name != "portal:staff_thread"
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    if portal:
        joint.client.user = get_user_model().objects.create_user("asiakas")
        joint.client.save(update_fields=["user"])
        browser.force_login(joint.client.user)
    else:
        browser.force_login(joint.coordinator)
    f.client(first_name="Ulla", last_name="Ulkopuolinen")
    path = route.path({"client_id": joint.client.pk, "episode_id": joint.episode.pk, "action": "send",
                       "service_id": joint.service.pk, "organisation_id": joint.employment.pk})
    for payload in PAYLOADS:
        response = browser.get(path, dict.fromkeys(PARAMETERS, payload))
        assert response.status_code < 500, (payload, response.status_code)
        assert b"Ulkopuolinen" not in response.content, payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sql_injection__client_search_finds_nobody_by_a_payload(joint: Any, payload: str) -> None:
    """The staff's client search: a payload is a name nobody has; the caller's own client and the hidden one
    are both absent (an injected ``OR 1=1`` would list at least the caller's own)."""
    f.client(first_name="Ulla", last_name="Ulkopuolinen")
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(joint.coordinator)
    own = browser.get("/clients/", {"q": joint.client.last_name}).content.decode()
    assert joint.client.last_name in own  # the search works at all
    page = browser.get("/clients/", {"q": payload})
    assert page.status_code in (200, 400)
    text = page.content.decode()
    assert "Ulkopuolinen" not in text
    assert f">{joint.client.last_name}" not in text and f"{joint.client.last_name}," not in text
