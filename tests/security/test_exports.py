"""Path traversal and header injection in exports (issue 11, item 2).

The command-line exports (``polku export client … --out FILE``, ``polku indicators … --out FILE``, ``polku impact
score --out``, ``--report FILE`` of the imports) write where their operator says: that is the operator's own choice
on a machine they already control, documented in docs/security.md, not a traversal. What the server itself names
is tested here: every download's ``Content-Disposition`` (the indicator reports in four formats, the client's copy
of their own data in the portal and in the API) is a plain file name — no directory, no ``..``, no quote, no line
break — whatever the query string holds, and hostile parameters never make a server error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client as Browser
from django.utils import timezone

from polku.indicators.facts import refresh
from polku.organisations.models import StaffRole
from polku.synth.generate import Options, generate
from polku.web.indicator_views import DOWNLOADS, filename
from tests import factories as f
from tests.api.conftest import Api

SAFE_DISPOSITION = re.compile(r'attachment; filename="[A-Za-z0-9][A-Za-z0-9._-]*"\Z')
HOSTILE = [
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "2024\r\nSet-Cookie: stolen=1",
    "2024\nX-Injected: 1",
    '2024"; filename="evil.exe',
    "2024%0d%0aSet-Cookie:%20x=1",
    "2024\x00.csv",
    "2024/../../x",
    "😀" * 40,
    "A" * 5000,
]
PARAMETERS = ("period", "report", "format", "region", "by", "by2")


def assert_safe_disposition(value: str) -> None:
    assert SAFE_DISPOSITION.match(value), value
    name = value.split('"')[1]
    assert ".." not in name and "/" not in name and "\\" not in name, value


@pytest.fixture(scope="module")
def facts(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        generate(Options(clients=40, months=24, seed=3))
        refresh(timezone.localdate())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def manager(joint: Any) -> Any:
    return f.staff(joint.employment, StaffRole.MANAGER)


@pytest.mark.parametrize("name", PARAMETERS)
@pytest.mark.parametrize("fmt", sorted(DOWNLOADS))
def test_indicator_download__hostile_parameter__safe_file_name_or_400(facts: None, manager: Any, name: str,
                                                                     fmt: str) -> None:
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(manager)
    downloads = 0
    for value in HOSTILE:
        query = {"period": str(timezone.localdate().year - 1), "report": "esf", "format": fmt, name: value}
        response = browser.get("/indicators/download/", query)
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 200:
            downloads += 1
            assert_safe_disposition(response["Content-Disposition"])
        for header, text in response.items():
            assert "\n" not in text and "\r" not in text and "stolen" not in text, (header, text)
            assert header.lower() not in ("x-injected",)
    # The control: the same download without the hostile value works and is named as documented.
    plain = browser.get("/indicators/download/", {"period": str(timezone.localdate().year - 1), "report": "esf",
                                                  "format": fmt})
    assert plain.status_code == 200
    assert_safe_disposition(plain["Content-Disposition"])
    assert downloads <= len(HOSTILE)


@pytest.mark.parametrize("label", [*HOSTILE, 'x"y', "a b/c", "\u202egnp.exe"])
@pytest.mark.parametrize("fmt", sorted(DOWNLOADS))
def test_indicator_file_name__any_period_label__plain_name(label: str, fmt: str) -> None:
    """The file name is built from the report's period label: whatever the label, a plain name comes out."""
    name = filename(SimpleNamespace(key="esf", period_label=label), fmt)  # type: ignore[arg-type]
    assert_safe_disposition(f'attachment; filename="{name}"')
    assert name.endswith("." + DOWNLOADS[fmt][1])


def test_my_data_export__api_and_portal__plain_file_name(joint: Any, settings: Any) -> None:
    settings.POLKU_REAUTH_MINUTES = 0
    joint.client.user = get_user_model().objects.create_user("asiakas", first_name='x"\r\nX-Evil: 1',
                                                             last_name="../../etc/passwd")
    joint.client.save(update_fields=["user"])
    api = Api(joint.client.user)
    response = api.get("/me/export")
    assert response.status_code == 200
    assert_safe_disposition(response["Content-Disposition"])
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(joint.client.user)
    page = browser.post("/me/export/")
    if page.status_code == 200:
        assert_safe_disposition(page["Content-Disposition"])
    else:  # a password confirmation first: the redirect stays on this site
        assert page.status_code == 302 and page["Location"].startswith("/")


def test_disposition_check_can_fail() -> None:
    for bad in ['attachment; filename="../x.csv"', 'attachment; filename="a\r\nb"', 'attachment; filename="a/b"',
                'attachment; filename="x.csv"; filename*=UTF-8\'\'..%2Fx']:
        with pytest.raises(AssertionError):
            assert_safe_disposition(bad)
