"""Who is calling, and for a client the copy of all their data (GDPR Article 15)."""

from __future__ import annotations

import json
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from polku.access.policy import client_of, staff_of
from polku.accounts.reauth import require_recent_auth_api
from polku.clients import selectors
from polku.core.choices import DataCategory

from ..deps import actor
from ..problems import error_responses
from .organisations import OrganisationRef

router = Router()


class UnitRef(OrganisationRef):
    """A unit of the caller's organisation."""


class StaffInfo(Schema):
    organisation: OrganisationRef
    unit: UnitRef | None
    role: str
    role_label: str
    title: str
    data_categories: list[str] = Field(
        description="The data categories the role's work task needs (need-to-know). Seeing a client's data also "
                    "needs the organisation's relationship to the client and the client's consent.")


class ClientInfo(Schema):
    id: int
    first_name: str
    last_name: str


class MeOut(Schema):
    username: str
    name: str
    kind: Literal["staff", "client", "user"] = Field(
        description="staff: a staff member of an organisation; client: a client's own account; user: neither")
    staff: StaffInfo | None
    client: ClientInfo | None


@router.get("", response={200: MeOut, **error_responses(401)}, summary="Who is calling")
def get_me(request: HttpRequest) -> Any:
    """The caller: name and, for staff, their organisation, unit, role and the data categories their role may
    see; for a client, their client id and name. Not written to the access log (the caller's own identity)."""
    user = actor(request)
    staff = staff_of(user)
    own = client_of(user)
    return {
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
        "kind": "staff" if staff else "client" if own else "user",
        "staff": None if staff is None else {
            "organisation": staff.organisation,
            "unit": staff.unit,
            "role": staff.role,
            "role_label": str(staff.get_role_display()),
            "title": staff.title,
            "data_categories": [c for c in DataCategory.values if c in staff.data_categories],
        },
        "client": own,
    }


@router.get("/export", response={200: dict[str, Any], **error_responses(401, 403, 404)},
            summary="A copy of all my data (for a client)")
def export_my_data(request: HttpRequest) -> Any:
    """Everything Polku holds about the calling client, as a JSON attachment (the right of access, GDPR
    Article 15; the format is that of ``polku export client``, docs/imports.md). The export is written to the
    client's access log first, so the copy includes its own row. Only for a client: anyone else gets 404.
    With the web session, the sign-in or a password confirmation must be recent (403 otherwise); a bearer token
    is exempt (polku.accounts.reauth)."""
    require_recent_auth_api(request)
    _client, data = selectors.own_data_export(actor=actor(request))
    name = f"polku-my-data-{timezone.localdate().isoformat()}.json"
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
