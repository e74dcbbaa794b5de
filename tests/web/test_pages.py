"""The web pages as a user meets them: login, caseload, client page, the client's own data, languages."""

from __future__ import annotations

from typing import Any

from django.test import Client as Browser

from polku.audit.models import AccessLog
from tests import factories as f


def login(browser: Browser, user: Any) -> Browser:
    browser.force_login(user)
    return browser


def test_login_page__finnish_by_default_and_switchable(db: Any) -> None:
    browser = Browser()
    page = browser.get("/login/")
    assert page.status_code == 200
    assert 'lang="fi"' in page.content.decode()
    assert "Kirjaudu" in page.content.decode()
    browser.post("/i18n/setlang/", {"language": "sv", "next": "/login/"})
    page = browser.get("/login/")
    assert 'lang="sv"' in page.content.decode() and "Logga in" in page.content.decode()
    browser.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in to Polku" in browser.get("/login/").content.decode()


def test_login__wrong_password__translated_error_and_no_session(db: Any) -> None:
    account = f.user()
    account.set_password("correct horse battery")
    account.save()
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    page = browser.post("/login/", {"username": account.username, "password": "wrong"})
    assert page.status_code == 200 and "The username or password is wrong." in page.content.decode()
    page = browser.post("/login/", {"username": account.username, "password": "correct horse battery"})
    assert page.status_code == 302


def test_home__requires_login(db: Any) -> None:
    assert Browser().get("/").status_code == 302


def test_home__coordinator_sees_caseload_and_each_name_is_logged(joint: Any) -> None:
    browser = login(Browser(), joint.coordinator)
    before = AccessLog.objects.count()
    page = browser.get("/")
    assert page.status_code == 200
    assert joint.client.last_name in page.content.decode()
    assert AccessLog.objects.count() == before + 1


def test_home__outsider_sees_nobody(joint: Any) -> None:
    page = login(Browser(), joint.outsider).get("/")
    assert joint.client.last_name not in page.content.decode()


def test_logout__ends_session(joint: Any) -> None:
    browser = login(Browser(), joint.coordinator)
    assert browser.post("/logout/").status_code == 302
    assert browser.get("/").status_code == 302


def test_bar_chart_axis_ticks_have_the_precision_of_their_scale() -> None:
    from polku.web.charts import BarSeries, bar_chart

    big = bar_chart(["a", "b"], [BarSeries("n", [1200.0, 800.0])], key="big", title="Big", y_label="people",
                    y_min=0, y_max=2000, decimals=0)
    small = bar_chart(["a", "b"], [BarSeries("share", [0.2, 0.6])], key="small", title="Small", y_label="share",
                      y_min=0, y_max=1, decimals=2)
    assert ">1000.00<" not in big.svg and ">500<" in big.svg.replace("\u00a0", "")
    assert ">0.25<" in small.svg or ">0,25<" in small.svg
