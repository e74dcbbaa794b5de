from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from polku.clients.models import Client
from polku.organisations.models import Organisation, OrganisationKind, StaffRole

from . import factories as f


@dataclass
class JointService:
    """A client in an open episode with the employment services (coordinator) and the wellbeing county's social
    services (social worker), consenting to both, and a rehabilitation provider with a service."""

    client: Client
    employment: Organisation
    social: Organisation
    provider: Organisation
    coordinator: Any
    social_worker: Any
    provider_worker: Any
    outsider: Any
    episode: Any
    service: Any


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Real hashing costs about a third of a second a password; tests need no such protection."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_request_scope_left_over() -> None:
    """A request that raised in the test client never finished, so its per-request access-log scope would
    outlive it into the next test (whose rows reuse the same ids): start every test outside any request."""
    from polku.access import policy

    policy._end_request()


@pytest.fixture
def joint(db: Any) -> JointService:
    employment = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Työllisyyspalvelut")
    social = f.organisation(OrganisationKind.SOCIAL_SERVICES, "Sosiaalipalvelut")
    provider = f.organisation(OrganisationKind.REHABILITATION_PROVIDER, "Kuntoutus Oy")
    other = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Naapurikunta")
    coordinator = f.staff(employment, StaffRole.COORDINATOR)
    social_worker = f.staff(social, StaffRole.SOCIAL_WORKER)
    provider_worker = f.staff(provider, StaffRole.PROVIDER_WORKER)
    outsider = f.staff(other, StaffRole.COORDINATOR)
    client = f.client()
    ep = f.episode(client, (employment, coordinator), (social, social_worker))
    f.consent_all(client, employment)
    f.consent_all(client, social)
    f.consent(client, provider, "rehabilitation")
    svc = f.service(provider, "rehabilitation")
    return JointService(client, employment, social, provider, coordinator, social_worker, provider_worker,
                        outsider, ep, svc)


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--browser", action="store_true",
                     help="run only the browser tests (tests/browser: Playwright and Debian's Chromium over a live "
                          "server with a seeded region); without it they are not collected")


def pytest_ignore_collect(collection_path: Any, config: Any) -> bool | None:
    """The browser tests seed one region for their whole session, so they run in a pytest run of their own
    (``pytest --browser``; ``python3 run.py test`` does both)."""
    in_browser = "browser" in collection_path.parts and "tests" in collection_path.parts
    if config.getoption("--browser"):
        return None if in_browser or collection_path.is_dir() or collection_path.name == "conftest.py" else True
    return True if in_browser else None
