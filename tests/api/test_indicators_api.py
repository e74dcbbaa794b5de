"""``GET /api/v1/indicators``: the protected indicator report for managers and administrators, its errors as
problem+json in the caller's language, and ``GET /api/v1/indicators/definitions``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from polku.indicators.facts import refresh
from polku.indicators.models import FactRefresh
from polku.organisations.models import StaffRole
from tests import factories as f

PERIOD = str(timezone.localdate().year - 1)
PERIOD_MESSAGE = ("“%(value)s” is not a period: give a year (2025), a quarter (2025-Q2), a month (2025-03) or two "
                  "dates (2025-01-01..2025-06-30).")


@pytest.fixture(scope="module")
def facts(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A small synthetic region with its indicator facts, once for the module (rolled back afterwards)."""
    from polku.synth.generate import Options, generate

    with django_db_blocker.unblock(), transaction.atomic():
        generate(Options(clients=300, months=36, seed=5))
        refresh(timezone.localdate())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def manager(joint: Any) -> Any:
    return f.staff(joint.employment, StaffRole.MANAGER)


def test_manager_gets_the_report(facts: None, manager: Any, api_as: Any) -> None:
    r = api_as(manager).get("/indicators/", period=PERIOD, report="esf")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["key"] == "esf" and data["period_label"] == PERIOD
    assert data["period_start"] == f"{PERIOD}-01-01" and data["period_end"] == f"{PERIOD}-12-31"
    assert data["language"] == "en" and data["title"] == "ESF+ participant and result report"
    assert data["computed_at"] and data["legend"][0]["mark"] == "<5"
    tables = [table for section in data["sections"] for table in section["tables"]]
    assert tables and all(len(row) == len(table["columns"]) for table in tables for row in table["cells"])
    for table in tables:
        for row in table["cells"]:
            for cell in row:
                assert set(cell) == {"value", "text", "status"}
                if table["kind"] == "count" and cell["value"] is not None:
                    assert cell["value"] == 0 or cell["value"] >= 5
                if cell["status"]:
                    assert cell["value"] is None


def test_without_the_slash_and_with_a_breakdown_and_region(facts: None, manager: Any, api_as: Any) -> None:
    r = api_as(manager).get("/indicators", period=PERIOD, report="all", region="179", by="age_band")
    assert r.status_code == 200, r.content
    data = r.json()
    assert {s["key"] for s in data["sections"]} >= {"joint", "chain"}
    assert data["region_label"].startswith("179")


def test_finnish_by_default(facts: None, manager: Any, api_as: Any) -> None:
    r = api_as(manager, language="fi").get("/indicators", period=PERIOD)
    assert r.status_code == 200
    assert r.json()["language"] == "fi"


def test_coordinator_gets_403(facts: None, joint: Any, api_as: Any) -> None:
    r = api_as(joint.coordinator).get("/indicators/", period=PERIOD)
    assert r.status_code == 403
    assert r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 403 and "managers and administrators" in body["detail"]


def test_a_bad_period_is_400_in_finnish_by_default_and_in_english_on_request(manager: Any, api_as: Any) -> None:
    api = api_as(manager)
    api.http.defaults.pop("HTTP_ACCEPT_LANGUAGE")  # no Accept-Language: the site's language, Finnish
    r = api.get("/indicators/", period="2025-13")
    assert r.status_code == 400
    assert r["Content-Type"] == "application/problem+json"
    finnish = json.loads(r.content)
    assert finnish["status"] == 400 and "2025-13" in finnish["detail"]
    r = api_as(manager, language="en").get("/indicators/", period="2025-13")
    assert r.status_code == 400
    english = r.json()["detail"]
    assert english == ("“2025-13” is not a period: give a year (2025), a quarter (2025-Q2), a month (2025-03) or "
                       "two dates (2025-01-01..2025-06-30).")
    assert finnish["title"] != r.json()["title"]  # "Bad request" in Finnish
    with translation.override("fi"):  # the detail is the message's Finnish translation (once in the catalogue)
        assert finnish["detail"] == gettext(PERIOD_MESSAGE) % {"value": "2025-13"}
    r = api_as(manager, language="fi").get("/indicators/", period="2025-13")
    assert r.json()["detail"] == finnish["detail"]


def test_other_bad_input_is_400(manager: Any, api_as: Any) -> None:
    api = api_as(manager)
    for params in ({"period": PERIOD, "report": "everything"}, {"period": PERIOD, "by": "shoe_size"},
                   {"period": PERIOD, "region": "Helsinki"}):
        r = api.get("/indicators", **params)
        assert r.status_code == 400, params
        assert r["Content-Type"] == "application/problem+json"
    assert api.get("/indicators").status_code == 422  # the period is required


def test_before_the_facts_are_computed_409(manager: Any, api_as: Any) -> None:
    FactRefresh.objects.all().delete()
    r = api_as(manager).get("/indicators", period=PERIOD)
    assert r.status_code == 409
    assert "polku indicators refresh" in r.json()["detail"]


def test_definitions(joint: Any, api_as: Any) -> None:
    r = api_as(joint.coordinator).get("/indicators/definitions")
    assert r.status_code == 200
    rows = r.json()
    keys = [row["key"] for row in rows]
    assert "esf_total" in keys and "esf_employed_6m" in keys
    total = rows[keys.index("esf_total")]
    assert total["name"] == "Total number of participants" and total["population"] == "entrants"
    assert total["code"].startswith("EECO") and total["definition"]


def test_the_openapi_document_lists_the_indicators(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/indicators" in doc["paths"] and "/api/v1/indicators/definitions" in doc["paths"]
    assert "/api/v1/indicators/" not in doc["paths"]
