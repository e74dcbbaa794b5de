"""Polku settings, read from environment variables with typed defaults (see ``.env.example``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


def default_data_dir() -> Path:
    """``POLKU_DATA_DIR``, else ``./var`` beside the checkout if it exists, else the user's data directory."""
    if os.environ.get("POLKU_DATA_DIR"):
        return Path(os.environ["POLKU_DATA_DIR"])
    checkout_var = BASE_DIR.parent.parent / "var"
    if (BASE_DIR.parent.parent / "pyproject.toml").exists():
        return checkout_var
    import platformdirs

    return Path(platformdirs.user_data_dir("polku"))


DATA_DIR = default_data_dir()
DEBUG = env_bool("POLKU_DEBUG", False)
SECRET_KEY = os.environ.get("POLKU_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("POLKU_PRODUCTION", False):
        raise RuntimeError("POLKU_SECRET_KEY must be set in production")
    SECRET_KEY = "polku-insecure-development-key-change-me"  # noqa: S105 - development default only
ALLOWED_HOSTS = env_list("POLKU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",  # staff two-factor authentication (polku.accounts.twofactor)
    "django_otp.plugins.otp_totp",
    "csp",
    "ninja",  # serves the API docs page (Swagger UI) from its own static files, not from a CDN
    "django_tasks",
    "django_tasks_db",
    "polku.core",
    "polku.organisations",
    "polku.clients",
    "polku.episodes",
    "polku.catalogue",
    "polku.referrals",
    "polku.plans",
    "polku.assessments",
    "polku.coordination",
    "polku.audit",
    "polku.accounts",
    "polku.api",
    "polku.web",
    "polku.portal",
    "polku.demo",
    "polku.synth",
    "polku.impact",
    "polku.indicators",
    "polku.partners",
    "polku.retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "polku.accounts.middleware.SessionLifetimeMiddleware",
    "polku.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "polku.accounts.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "polku.urls"
WSGI_APPLICATION = "polku.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "polku.web.navigation.staff_nav",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'polku.sqlite3'}",
        conn_max_age=int(os.environ.get("POLKU_DB_CONN_MAX_AGE", "60")),
        # A persistent connection is checked before a request reuses it, so that after a database restart the
        # next request reconnects instead of failing (polku.core.unavailable).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and task workers read while one writes; wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# At least 12 characters (OWASP ASVS 2.1.1); common and all-numeric passwords refused (2.1.7).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fi"
LANGUAGES = [("fi", _("Finnish")), ("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Helsinki"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("POLKU_SESSION_SECONDS", str(8 * 3600)))
SESSION_COOKIE_SECURE = env_bool("POLKU_SECURE_COOKIES", not DEBUG and env_bool("POLKU_PRODUCTION", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Accounts and security (docs/security.md): two-factor authentication, session lifetime, re-authentication, headers.
PRODUCTION = env_bool("POLKU_PRODUCTION", False)
# Staff whose role sees client data must enter a TOTP code after their password (on by default in production).
POLKU_REQUIRE_2FA = env_bool("POLKU_REQUIRE_2FA", PRODUCTION)
POLKU_IDLE_MINUTES = int(os.environ.get("POLKU_IDLE_MINUTES", "30"))  # signed out after this long without a request
POLKU_REAUTH_MINUTES = int(os.environ.get("POLKU_REAUTH_MINUTES", "10"))  # exports, consents: password this recent
POLKU_2FA_FAILURES = int(os.environ.get("POLKU_2FA_FAILURES", "5"))  # wrong codes per account within the window
OTP_TOTP_ISSUER = os.environ.get("POLKU_2FA_ISSUER", "Polku")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's secret or QR code
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = int(os.environ.get("POLKU_HSTS_SECONDS", str(31536000 if PRODUCTION else 0)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("POLKU_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("POLKU_HSTS_PRELOAD", False)
# Preloading is a promise for the whole domain that is hard to take back: off unless the deployer asks for it, and
# then `check --deploy` need not remind about it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_SSL_REDIRECT = env_bool("POLKU_SSL_REDIRECT", PRODUCTION and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers' plain-HTTP health checks
if env_bool("POLKU_BEHIND_PROXY", False):  # the proxy sets X-Forwarded-Proto; never trust it without a proxy
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
POLKU_PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                            "microphone=(), payment=(), usb=()")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

TASKS = {"default": {"BACKEND": os.environ.get("POLKU_TASK_BACKEND", "django_tasks_db.DatabaseBackend")}}

# Domain defaults (configurable; see docs/domain.md for their sources).
def _json_setting(name: str) -> object:
    try:
        return json.loads(os.environ.get(name, "{}"))
    except ValueError:
        return f"not JSON: {os.environ[name]!r}"  # reported by the start-up check


POLKU: dict[str, Any] = {
    "MAPPING_PERIOD_MONTHS": int(os.environ.get("POLKU_MAPPING_PERIOD_MONTHS", "3")),
    "PLAN_REVIEW_MONTHS": int(os.environ.get("POLKU_PLAN_REVIEW_MONTHS", "6")),
    "SMALL_CELL_THRESHOLD": int(os.environ.get("POLKU_SMALL_CELL_THRESHOLD", "5")),
    # Key of the analysis table's pseudonyms (HMAC-SHA-256 of the identity code); docs/analysis-table.md. Unset,
    # a key derived from the secret key is used (fine for development; set it in production and keep it secret).
    "PSEUDONYM_KEY": os.environ.get("POLKU_PSEUDONYM_KEY", ""),
    # Coordination rules' thresholds for this region, e.g. {"referral_unanswered": {"days": 21}}; see
    # docs/coordination.md. Checked at start-up (``polku check``); the admin's rule settings override these.
    "RULES": _json_setting("POLKU_RULES"),
    # Memory for the sweep's hash joins on PostgreSQL (per sort or hash, for the sweep's transaction only).
    "SWEEP_WORK_MEM": os.environ.get("POLKU_SWEEP_WORK_MEM", "256MB"),
    # An incremental sweep (PostgreSQL) turns into a full one when no full sweep has finished in this many days:
    # a safety net for changes the triggers cannot see (a restore, triggers disabled by hand). 0: never.
    "SWEEP_FULL_EVERY_DAYS": int(os.environ.get("POLKU_SWEEP_FULL_EVERY_DAYS", "7")),
    # Database connections the sweep runs its rules and wake-up days on at once (PostgreSQL; 1: only its own).
    "SWEEP_CONNECTIONS": int(os.environ.get("POLKU_SWEEP_CONNECTIONS", str(min(4, os.cpu_count() or 1)))),
    # Retention rules' overrides, e.g. {"client_record": {"years": 12, "action": "delete"}}; the rules and their
    # sources are in var/security/retention.md. Checked at start-up (``polku check``).
    "RETENTION": _json_setting("POLKU_RETENTION"),
}

# Staff single sign-on with OpenID Connect: off unless a client id is configured (docs/api.md, "Single sign-on").
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
OIDC_ENABLED = bool(os.environ.get("POLKU_OIDC_CLIENT_ID"))
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(0, "polku.accounts.oidc.StaffOIDCBackend")
    OIDC_RP_CLIENT_ID = os.environ["POLKU_OIDC_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = os.environ.get("POLKU_OIDC_CLIENT_SECRET", "")
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("POLKU_OIDC_AUTHORIZATION_ENDPOINT", "")
    OIDC_OP_TOKEN_ENDPOINT = os.environ.get("POLKU_OIDC_TOKEN_ENDPOINT", "")
    OIDC_OP_USER_ENDPOINT = os.environ.get("POLKU_OIDC_USER_ENDPOINT", "")
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("POLKU_OIDC_JWKS_ENDPOINT", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("POLKU_OIDC_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = os.environ.get("POLKU_OIDC_SCOPES", "openid email")
    OIDC_CREATE_USER = False
    POLKU_OIDC_USERNAME_CLAIM = os.environ.get("POLKU_OIDC_USERNAME_CLAIM", "")
    LOGIN_REDIRECT_URL_FAILURE = "/login/?sso=failed"

# Django's cache (sign-in failure counts live there). The default is per process; with several server processes
# set a shared one, e.g. POLKU_CACHE_BACKEND=django.core.cache.backends.db.DatabaseCache and
# POLKU_CACHE_LOCATION=polku_cache, then run `polku createcachetable`.
CACHES = {
    "default": {
        "BACKEND": os.environ.get("POLKU_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"),
        "LOCATION": os.environ.get("POLKU_CACHE_LOCATION", "polku"),
    }
}

# Sign-in throttling (web form and API tokens): failures per client address within the window.
POLKU_AUTH_FAILURES = int(os.environ.get("POLKU_AUTH_FAILURES", "20"))
POLKU_AUTH_WINDOW = int(os.environ.get("POLKU_AUTH_WINDOW", "300"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("POLKU_LOG_LEVEL", "WARNING")},
}

# Clients' sign-in to the portal with a Suomi.fi-style OpenID Connect provider of its own: off unless a client id
# is configured (docs/portal.md). The client is matched by the identity code in the claim below.
POLKU_CLIENT_OIDC_ENABLED = bool(os.environ.get("POLKU_CLIENT_OIDC_CLIENT_ID"))
POLKU_CLIENT_OIDC_IDENTITY_CLAIM = os.environ.get("POLKU_CLIENT_OIDC_IDENTITY_CLAIM", "nationalIdentificationNumber")
POLKU_CLIENT_OIDC: dict[str, Any] = {
    "OIDC_RP_CLIENT_ID": os.environ.get("POLKU_CLIENT_OIDC_CLIENT_ID", ""),
    "OIDC_RP_CLIENT_SECRET": os.environ.get("POLKU_CLIENT_OIDC_CLIENT_SECRET", ""),
    "OIDC_OP_AUTHORIZATION_ENDPOINT": os.environ.get("POLKU_CLIENT_OIDC_AUTHORIZATION_ENDPOINT", ""),
    "OIDC_OP_TOKEN_ENDPOINT": os.environ.get("POLKU_CLIENT_OIDC_TOKEN_ENDPOINT", ""),
    "OIDC_OP_USER_ENDPOINT": os.environ.get("POLKU_CLIENT_OIDC_USER_ENDPOINT", ""),
    "OIDC_OP_JWKS_ENDPOINT": os.environ.get("POLKU_CLIENT_OIDC_JWKS_ENDPOINT", ""),
    "OIDC_RP_SIGN_ALGO": os.environ.get("POLKU_CLIENT_OIDC_SIGN_ALGO", "RS256"),
    "OIDC_RP_SCOPES": os.environ.get("POLKU_CLIENT_OIDC_SCOPES", "openid profile"),
    "OIDC_CREATE_USER": env_bool("POLKU_CLIENT_OIDC_CREATE_USER", True),
}
if POLKU_CLIENT_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "polku.portal.oidc.ClientOIDCBackend")
