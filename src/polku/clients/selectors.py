"""Reads of client data. Each read is checked by the access policy and written to the access log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from polku.access.policy import Purpose, authorize, client_of, log_list_access, visible_clients
from polku.audit.models import AccessAction, AccessLog
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied

from .models import Client, Consent, EmploymentStatusPeriod


def client_get(*, actor: Any, client_id: int, purpose: Purpose | None = None) -> Client:
    """Fetch a client's basic details, checked and logged. Raises :class:`AccessDenied` (shown as "not
    found") whether the client does not exist or the actor may not see them."""
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, client, DataCategory.BASIC, AccessAction.VIEW,
              purpose=purpose or _("View client details"), obj=client)
    return client


@dataclass
class ClientOverview:
    """What the client page shows of the basic data: the client, their consents and joint-service episodes."""

    client: Client
    consents: list[Consent]
    episodes: list[Any]


def client_overview(*, actor: Any, client_id: int) -> ClientOverview:
    """The client page's basic data, checked and logged once as one read."""
    from polku.episodes.models import JointServiceEpisode

    client = client_get(actor=actor, client_id=client_id, purpose=_("View client details"))
    consents = list(Consent.objects.filter(client=client).select_related("organisation").order_by("-recorded_at"))
    episodes = list(
        JointServiceEpisode.objects.filter(client=client).prefetch_related(
            "participants__organisation", "participants__responsible_person__user"
        )
    )
    return ClientOverview(client=client, consents=consents, episodes=episodes)


def caseload(*, actor: Any) -> QuerySet[Client]:
    """The clients whose basic details the actor may see (their organisation's current clients who consent)."""
    return visible_clients(actor, DataCategory.BASIC).order_by("last_name", "first_name", "pk")


def caseload_page(*, actor: Any, limit: int = 200) -> list[Client]:
    """The first ``limit`` clients of the caseload, with the read of each name written to the access log."""
    clients = list(caseload(actor=actor)[:limit])
    log_list_access(user=actor, client_ids=[c.pk for c in clients], category=DataCategory.BASIC,
                    purpose=_("Caseload list"))
    return clients


def consents_for_client(*, actor: Any, client_id: int) -> QuerySet[Consent]:
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=_("View consents"))
    return Consent.objects.filter(client_id=client_id).select_related("organisation").order_by("-recorded_at")


def employment_history(*, actor: Any, client_id: int) -> QuerySet[EmploymentStatusPeriod]:
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=_("View employment history"))
    return EmploymentStatusPeriod.objects.filter(client_id=client_id).order_by("start_date")


def access_log_for_client(*, actor: Any, client_id: int) -> QuerySet[AccessLog]:
    """Who has processed the client's data and why: for the client themself only (Client Data Act 703/2023).

    Viewing one's own log is not itself logged (it would only grow the log being read)."""
    own = client_of(actor)
    if own is None or own.pk != client_id:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_own_data")
    return AccessLog.objects.filter(client_id=client_id).select_related("actor_organisation").order_by("-at", "-id")


def access_log_by_actor(*, actor: Any) -> QuerySet[AccessLog]:
    """A staff member's own actions on client data."""
    if not getattr(actor, "is_authenticated", False):
        return AccessLog.objects.none()
    return AccessLog.objects.filter(actor=actor).order_by("-at", "-id")


__all__ = [
    "ClientOverview",
    "access_log_by_actor",
    "access_log_for_client",
    "caseload",
    "caseload_page",
    "client_get",
    "client_overview",
    "consents_for_client",
    "employment_history",
]
