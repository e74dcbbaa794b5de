"""Cross-site request forgery (issue 11, item 2).

UI: every URL pattern of the UI (enumerated from the URL configuration: web, portal, accounts, language switch)
refuses a POST without a CSRF token, signed in as staff, as a client and anonymously; no view is exempt; and the
same POST with a token gets past the check (so the refusal is the CSRF check's, not the view's).

API: with the web session (a browser's cookie), every unsafe operation of the OpenAPI document is refused without
the CSRF token and nothing is written; with a bearer token (which a browser never sends by itself) the same
requests are not refused for CSRF.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.test import Client as Browser

from polku.accounts.services import token_create
from polku.audit.models import AccessLog
from polku.clients.models import Client, Consent
from polku.plans.models import Plan
from polku.referrals.models import Referral

from .routes import api_operations, ui_routes

REFUSED = "csrf-refused-by-the-middleware"
TOKEN = "k" * 32  # a well-formed unmasked token: cookie and form field agree


def csrf_refused(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Stands in for the CSRF failure view, so that the test knows which check refused."""
    return HttpResponseForbidden(REFUSED)


@pytest.fixture(autouse=True)
def _marked_failure_view(settings: Any) -> None:
    settings.CSRF_FAILURE_VIEW = "tests.security.test_csrf.csrf_refused"


ROUTES = list(ui_routes())


def _ids(joint: Any) -> dict[str, Any]:
    return {"client_id": joint.client.pk, "episode_id": joint.episode.pk, "consent_id": 1, "step_id": 1,
            "referral_id": 1, "alert_id": 1, "joint_id": 1, "service_id": joint.service.pk,
            "organisation_id": joint.employment.pk, "staff_id": joint.coordinator.staff.pk, "action": "send"}


def _snapshot() -> tuple[int, ...]:
    return (Client.objects.count(), Consent.objects.filter(revoked_at__isnull=True).count(), Plan.objects.count(),
            Referral.objects.count())


def test_csrf__no_ui_view_is_exempt() -> None:
    exempt = [r.id for r in ROUTES if getattr(r.callback, "csrf_exempt", False)]
    assert exempt == []


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
@pytest.mark.parametrize("who", ["staff", "client", "anonymous"])
def test_csrf__ui_post_without_token__refused(joint: Any, route: Any, who: str) -> None:
    browser = Browser(enforce_csrf_checks=True)
    if who == "staff":
        browser.force_login(joint.coordinator)
    elif who == "client":
        joint.client.user = get_user_model().objects.create_user("asiakas")
        joint.client.save(update_fields=["user"])
        browser.force_login(joint.client.user)
    path = route.path(_ids(joint))
    before = _snapshot()

    response = browser.post(path, {"reason": "x", "next": "/", "language": "sv", "username": "u", "password": "p"})

    assert (response.status_code, response.content.decode()) == (403, REFUSED), path
    assert _snapshot() == before
    # The control: with a token the request gets past the CSRF check (whatever the view then answers).
    browser.cookies[settings.CSRF_COOKIE_NAME] = TOKEN
    control = browser.post(path, {"csrfmiddlewaretoken": TOKEN})
    assert control.content.decode() != REFUSED


UNSAFE = [(method, path) for method, path, _op in api_operations() if method in ("POST", "PUT", "PATCH", "DELETE")]


def _api_path(path: str, joint: Any) -> str:
    values = {"client_id": joint.client.pk, "episode_id": joint.episode.pk}
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
def test_csrf__api_with_session__unsafe_method_without_token__refused(joint: Any, method: str, path: str) -> None:
    browser = Browser(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(joint.coordinator)
    before = _snapshot(), AccessLog.objects.filter(action__in=["create", "update"]).count()

    response = browser.generic(method, _api_path(path, joint), "{}", content_type="application/json")

    assert response.status_code == 403, response.content
    assert "CSRF" in response.json()["detail"]
    assert (_snapshot(), AccessLog.objects.filter(action__in=["create", "update"]).count()) == before


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
def test_csrf__api_with_bearer_token__no_csrf_needed(joint: Any, method: str, path: str) -> None:
    _token, secret = token_create(username=joint.coordinator.get_username())
    api = Browser(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")

    response = api.generic(method, _api_path(path, joint), "{}", content_type="application/json")

    assert response.status_code != 401
    assert "CSRF" not in response.content.decode()


def test_csrf__api_with_session_and_token__accepted(joint: Any) -> None:
    """The UI's own calls: session plus the CSRF token header get through (here: a 422 for the empty body)."""
    browser = Browser(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(joint.coordinator)
    browser.cookies[settings.CSRF_COOKIE_NAME] = TOKEN
    response = browser.post("/api/v1/referrals", "{}", content_type="application/json", HTTP_X_CSRFTOKEN=TOKEN)
    assert response.status_code == 422
