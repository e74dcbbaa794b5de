"""Authentication: bearer tokens (expiry, revocation), throttled failures, the web form, OIDC single sign-on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.utils import timezone

from polku.accounts.models import ApiToken
from polku.accounts.oidc import StaffOIDCBackend
from polku.accounts.services import token_create, token_revoke
from tests import factories as f


@pytest.fixture(autouse=True)
def _fresh_counts() -> Any:
    cache.clear()
    yield
    cache.clear()


def _get(secret: str) -> Any:
    return HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/clients")


def test_token__valid_expired_revoked(joint: Any) -> None:
    token, secret = token_create(username=joint.coordinator.get_username(), expires_in_days=1)
    assert _get(secret).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _get(secret).status_code == 401
    _token2, secret2 = token_create(username=joint.coordinator.get_username())
    assert _get(secret2).status_code == 200
    token_revoke(prefix=secret2[:12])
    assert _get(secret2).status_code == 401


def test_token__stored_hashed_only(joint: Any) -> None:
    token, secret = token_create(username=joint.coordinator.get_username())
    assert secret not in {token.key_hash, token.prefix}
    assert not ApiToken.objects.filter(key_hash=secret).exists()


def test_failed_tokens_are_throttled_then_even_a_good_token_waits(joint: Any, settings: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 3
    _token, secret = token_create(username=joint.coordinator.get_username())
    for _ in range(3):
        assert _get("polku_guess").status_code == 401
    r = _get(secret)
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert r["Content-Type"] == "application/problem+json"
    cache.clear()  # the window passes
    assert _get(secret).status_code == 200


def test_web_login_is_throttled(db: Any, settings: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 2
    user = f.user("anna")
    user.set_password("right-password")
    user.save()
    web = HttpClient()
    for _ in range(2):
        assert web.post("/login/", {"username": "anna", "password": "wrong"}).status_code == 200
    refused = web.post("/login/", {"username": "anna", "password": "right-password"})
    assert refused.status_code == 429
    assert "_auth_user_id" not in web.session
    cache.clear()
    assert web.post("/login/", {"username": "anna", "password": "right-password"}).status_code == 302


def test_oidc_backend_matches_provisioned_staff_only_and_never_creates(joint: Any, settings: Any) -> None:
    joint.coordinator.email = "koordinaattori@example.fi"
    joint.coordinator.save()
    backend = StaffOIDCBackend.__new__(StaffOIDCBackend)
    backend.UserModel = type(joint.coordinator)
    assert list(backend.filter_users_by_claims({"email": "KOORDINAATTORI@example.fi"})) == [joint.coordinator]
    assert not backend.filter_users_by_claims({"email": "someone@else.fi"}).exists()
    assert not backend.filter_users_by_claims({}).exists()
    assert backend.create_user({"email": "new@example.fi"}) is None
    joint.coordinator.staff.active = False
    joint.coordinator.staff.save()
    assert not backend.filter_users_by_claims({"email": "koordinaattori@example.fi"}).exists()
    settings.POLKU_OIDC_USERNAME_CLAIM = "preferred_username"
    by_name = backend.filter_users_by_claims({"preferred_username": joint.social_worker.username, "email": "x@y.fi"})
    assert list(by_name) == [joint.social_worker]
    assert not backend.filter_users_by_claims({"email": joint.social_worker.email or "none@x.fi"}).exists()
