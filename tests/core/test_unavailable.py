"""A lost database connection fails a request cleanly: 503 with Retry-After and a translated message (a page in
the UI, problem+json in the API), not a 500; other server errors stay 500."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client as Browser

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_ui_page_when_the_database_is_gone(joint: Any, error: Exception) -> None:
    browser = Browser(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="fi")
    browser.force_login(joint.coordinator)
    with mock.patch("polku.web.worklist_views.front_page", side_effect=error):
        r = browser.get("/")
    assert r.status_code == 503 and r["Retry-After"] == "5"
    page = r.content.decode()
    assert "<h1>" in page and 'lang="fi"' in page
    assert "Polku is briefly unavailable" not in page  # in Finnish


def test_other_errors_stay_500(joint: Any) -> None:
    browser = Browser(raise_request_exception=False)
    browser.force_login(joint.coordinator)
    with mock.patch("polku.web.worklist_views.front_page", side_effect=RuntimeError("bug")):
        r = browser.get("/")
    assert r.status_code == 500 and "Retry-After" not in r


def test_api_when_the_database_is_gone(joint: Any) -> None:
    api = Api(joint.coordinator, language="en")
    with mock.patch("polku.organisations.selectors.organisation_list",
                    side_effect=OperationalError("terminating connection due to administrator command")):
        r = api.get("/organisations")
    assert r.status_code == 503 and r["Retry-After"] == "5"
    assert r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 503 and "briefly unavailable" in body["detail"]


def test_database_connections_are_health_checked() -> None:
    from django.conf import settings

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
