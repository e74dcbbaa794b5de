"""The professional UI's main navigation, by the signed-in staff member's role (a template context processor)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from polku.access.policy import staff_of
from polku.organisations.models import CLIENT_WORK_ROLES, StaffRole

# (url name, label, roles that see it; None = every staff role)
ITEMS: list[tuple[str, Any, frozenset[str] | None]] = [
    ("web:home", _("Front page"), None),
    ("web:client_search", _("Clients"), CLIENT_WORK_ROLES),
    ("web:referrals", _("Referrals"), CLIENT_WORK_ROLES),
    ("web:services", _("Services"), None),
    ("web:partner_openings", _("Job openings"), CLIENT_WORK_ROLES | {StaffRole.PROCUREMENT_OFFICER}),
    ("web:partner_contracts", _("Employment clauses"),
     frozenset({StaffRole.MANAGER, StaffRole.ADMINISTRATOR, StaffRole.PROCUREMENT_OFFICER})),
    ("web:gaps", _("Gap overview"), frozenset({StaffRole.MANAGER, StaffRole.ADMINISTRATOR})),
    ("web:impact", _("Impact model"), frozenset({StaffRole.MANAGER, StaffRole.ADMINISTRATOR})),
    ("web:indicators", _("Indicators"), frozenset({StaffRole.MANAGER, StaffRole.ADMINISTRATOR})),
    ("web:admin_home", _("Administration"), frozenset({StaffRole.ADMINISTRATOR})),
]


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def staff_nav(request: HttpRequest) -> dict[str, Any]:
    staff = staff_of(getattr(request, "user", None)) if getattr(request, "user", None) else None
    if staff is None:
        return {"staff_nav": None}
    items = []
    for name, label, roles in ITEMS:
        if roles is not None and staff.role not in roles:
            continue
        url = reverse(name)
        current = request.path == url if name == "web:home" else request.path.startswith(url)
        items.append(NavItem(url=url, label=str(label), current=current))
    return {"staff_nav": {"organisation": staff.organisation, "items": items}}
