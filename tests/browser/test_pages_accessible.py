"""Every page, in each of the three languages: it answers, it is in that language, and axe-core finds no
WCAG 2.1 A/AA violation. Screenshots land in var/screenshots/."""

from __future__ import annotations

from typing import Any


def test_login_page(assert_accessible: Any) -> None:
    assert_accessible(None, "/login/", "login")


def test_front_page__coordinator(assert_accessible: Any) -> None:
    assert_accessible("coordinator", "/", "front-coordinator")
