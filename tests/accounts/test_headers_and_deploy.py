"""Security headers on pages and API answers; ``check --deploy`` passes with production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client as Browser

from .conftest import sign_in

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
ROOT = Path(__file__).resolve().parents[2]


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def _assert_security_headers(response: Any) -> None:
    assert _directives(response["Content-Security-Policy"]) == _directives(CSP)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "microphone=()" in response["Permissions-Policy"]


def test_headers__on_a_page_and_signed_in_pages_not_cached(db: Any, coordinator: Any) -> None:
    _assert_security_headers(Browser().get("/login/"))
    page = sign_in(coordinator).get("/clients/")
    assert page.status_code == 200
    _assert_security_headers(page)
    assert "no-store" in page["Cache-Control"]


def test_headers__on_an_api_answer(db: Any) -> None:
    response = Browser().get("/api/v1/me")
    assert response.status_code == 401
    _assert_security_headers(response)
    _assert_security_headers(Browser().get("/api/v1/openapi.json"))


def test_hsts__over_https_when_configured(db: Any, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Browser().get("/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def _production_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLKU_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update({"POLKU_PRODUCTION": "1", "POLKU_DEBUG": "0", "POLKU_SECRET_KEY": secrets.token_urlsafe(64),
                "POLKU_ALLOWED_HOSTS": "polku.example.fi", "POLKU_DATA_DIR": str(data_dir),
                "DJANGO_SETTINGS_MODULE": "polku.settings", **extra})
    return env


def test_check_deploy__passes_with_production_settings(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                            env=_production_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    # The same check does fail on what a deployment must not have (here: debug on), so it really looks.
    debug = subprocess.run([sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
                           env=_production_env(tmp_path, POLKU_DEBUG="1"), cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert debug.returncode != 0 and "security.W018" in debug.stderr + debug.stdout


def test_production_settings__cookies_2fa_and_redirects(tmp_path: Path) -> None:
    script = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
              "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.POLKU_REQUIRE_2FA, "
              "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SECURE_HSTS_PRELOAD, "
              "getattr(s, 'SECURE_PROXY_SSL_HEADER', None))")
    run = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + script],
                         env=_production_env(tmp_path, POLKU_BEHIND_PROXY="1"), cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True", "Lax", "True", "True", "True", "True", "True", "False",
                                  "('HTTP_X_FORWARDED_PROTO',", "'https')"]
