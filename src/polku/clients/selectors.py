"""Reads of client data. Each read is checked by the access policy and written to the access log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import (
    Purpose,
    authorize,
    client_of,
    log_list_access,
    staff_of,
    visibility_filter,
    visible_client_ids,
    visible_clients,
)
from polku.audit.models import AccessAction, AccessLog
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.core.paging import CappedPaginator, VisibleRows

from .models import Client, ClientContact, Consent, EmploymentStatusPeriod


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


def responsible_caseload(*, actor: Any) -> QuerySet[Client]:
    """The actor's own clients: those whose open joint-service episode (mapping or active) names the actor as
    their organisation's responsible person (*vastuuhenkilö*), and whose basic details the actor may see, in name
    order."""
    from polku.episodes.models import EpisodeParticipant, EpisodeStatus

    staff = staff_of(actor)
    if staff is None:
        return Client.objects.none()
    responsible = EpisodeParticipant.objects.filter(
        responsible_person=staff, left_on__isnull=True, episode__client_id=OuterRef("pk"),
        episode__status__in=[EpisodeStatus.MAPPING, EpisodeStatus.ACTIVE])
    return Client.objects.filter(Exists(responsible), visibility_filter(actor, DataCategory.BASIC, "pk")).order_by(
        "last_name", "first_name", "pk")


def caseload_page(*, actor: Any, limit: int = 200, page: Any = 1) -> Page:
    """Page ``page`` of the actor's caseload, ``limit`` clients a page (a page number out of range gives the
    nearest page), with the read of each name shown written to the access log.

    The caseload is the actor's own clients (:func:`responsible_caseload`) when they have any
    (``page.responsible`` is true); otherwise, e.g. for a provider's worker who is nobody's responsible person,
    every client whose basic details they may see (:func:`caseload`), in pages that are not counted
    (``page.has_next`` says whether there are more)."""
    own = responsible_caseload(actor=actor)
    responsible = own.exists()
    if responsible:
        shown = Paginator(own, limit).get_page(page)  # one person's clients: counted exactly
    else:
        # Not counted: finding how many of a million clients one may see costs more than the page. The clients are
        # walked in name order up to the end of the page asked for (and one more, for "Next page").
        number = int(page) if str(page).isdigit() and int(page) > 0 else 1
        in_name_order = Client.objects.order_by("last_name", "first_name", "pk")
        rows = VisibleRows(in_name_order, lambda ids: visible_client_ids(actor, DataCategory.BASIC, ids),
                           client_field="pk", chunk=limit)
        shown = CappedPaginator(rows, limit, cap=number * limit).get_page(number)
    shown.object_list = list(shown.object_list)
    shown.responsible = responsible  # type: ignore[attr-defined]
    log_list_access(user=actor, client_ids=[c.pk for c in shown.object_list], category=DataCategory.BASIC,
                    purpose=_("Caseload list"))
    return shown


def consents_for_client(*, actor: Any, client_id: int) -> QuerySet[Consent]:
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=_("View consents"))
    return Consent.objects.filter(client_id=client_id).select_related("organisation").order_by("-recorded_at")


def employment_history(*, actor: Any, client_id: int) -> QuerySet[EmploymentStatusPeriod]:
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=_("View employment history"))
    return EmploymentStatusPeriod.objects.filter(client_id=client_id).order_by("start_date")


def _log_filtered(
    qs: QuerySet[AccessLog], *, client_id: int | None = None, since: dt.date | None = None,
    until: dt.date | None = None, action: str | None = None,
) -> QuerySet[AccessLog]:
    """Rows of ``qs`` about one client, of one action, or from ``since`` to ``until`` (whole days in Finnish time,
    both included)."""
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if action is not None:
        qs = qs.filter(action=action)
    if since is not None:
        qs = qs.filter(at__gte=timezone.make_aware(dt.datetime.combine(since, dt.time.min)))
    if until is not None and until < dt.date.max:
        qs = qs.filter(at__lt=timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min)))
    return qs


def access_log_for_client(
    *, actor: Any, client_id: int, since: dt.date | None = None, until: dt.date | None = None,
    action: str | None = None,
) -> QuerySet[AccessLog]:
    """Who has processed the client's data and why: for the client themself only (Client Data Act 703/2023).

    Viewing one's own log is not itself logged (it would only grow the log being read)."""
    own = client_of(actor)
    if own is None or own.pk != client_id:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_own_data")
    qs = AccessLog.objects.filter(client_id=client_id).select_related("actor_organisation").order_by("-at", "-id")
    return _log_filtered(qs, since=since, until=until, action=action)


def access_log_by_actor(
    *, actor: Any, client_id: int | None = None, since: dt.date | None = None, until: dt.date | None = None,
    action: str | None = None,
) -> QuerySet[AccessLog]:
    """A staff member's own actions on client data (optionally about one client, of one action, in a period)."""
    if not getattr(actor, "is_authenticated", False):
        return AccessLog.objects.none()
    qs = AccessLog.objects.filter(actor=actor).select_related("actor_organisation").order_by("-at", "-id")
    return _log_filtered(qs, client_id=client_id, since=since, until=until, action=action)


def contacts_for_client(*, actor: Any, client_id: int, purpose: Purpose | None = None) -> QuerySet[ClientContact]:
    """The client's recorded contacts (meetings, calls, messages), latest first, with who recorded them and for
    which organisation: basic data, checked and logged as one read."""
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=purpose or _("View contacts"))
    return (ClientContact.objects.filter(client_id=client_id)
            .select_related("organisation", "recorded_by").order_by("-at", "-pk"))


@dataclass
class ClientSearchPage:
    """One page of a client search: the clients shown and whether there are more after them."""

    clients: list[Client]
    has_next: bool


def client_search(
    *, actor: Any, query: str = "", municipality_code: str = "", offset: int = 0, limit: int = 25,
) -> ClientSearchPage:
    """Search the clients whose basic details the actor may see (:func:`caseload`): ``query`` is a personal
    identity code (matched exactly) or words each found in the first or last name; ``municipality_code`` keeps
    those living there. One page of ``limit`` from ``offset``, in name order; each name shown is written to the
    access log as a list read (one insert)."""
    from django.core.exceptions import ValidationError
    from django.db.models import Q

    from polku.core.identity import parse_hetu

    qs = Client.objects.order_by("last_name", "first_name", "pk")
    query = query.strip()
    if query:
        try:
            code = parse_hetu(query.upper()).code
        except ValidationError:
            for word in query.split()[:5]:
                qs = qs.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
        else:
            qs = qs.filter(personal_identity_code=code)
    if municipality_code:
        qs = qs.filter(municipality_code=municipality_code)
    offset = max(offset, 0)
    # The matches walked in name order with their clients checked a chunk at a time, or (when the actor may see
    # only a sliver of them) one query with the policy inside: the same clients either way.
    found = VisibleRows(qs, lambda ids: visible_client_ids(actor, DataCategory.BASIC, ids),
                        filtered=qs.filter(visibility_filter(actor, DataCategory.BASIC, "pk")), client_field="pk",
                        chunk=limit + 1, min_share=0.02)
    rows = found[offset:offset + limit + 1]
    clients = rows[:limit]
    if clients:
        log_list_access(user=actor, client_ids=[c.pk for c in clients], category=DataCategory.BASIC,
                        purpose=_("Client search"))
    return ClientSearchPage(clients=clients, has_next=len(rows) > limit)


#: The access log's purpose of a right-of-access copy (the same text as ``polku export client`` writes).
EXPORT_PURPOSE = _("Right of access: a copy of all the client's data (GDPR Article 15)")


def own_data_export(*, actor: Any) -> tuple[Client, dict[str, Any]]:
    """A client's copy of everything Polku holds about them (GDPR Article 15), for the client themself only.

    The export is written to the client's access log first, in the same transaction, so that the copy shows
    its own export. Anyone but a client is refused (``not_own_data``)."""
    from .export import client_data_export

    own = client_of(actor)
    if own is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_own_data")
    with transaction.atomic():
        authorize(actor, own, DataCategory.BASIC, AccessAction.EXPORT, purpose=EXPORT_PURPOSE, obj=own)
        data = client_data_export(own)
    return own, data


__all__ = [
    "ClientOverview",
    "ClientSearchPage",
    "access_log_by_actor",
    "access_log_for_client",
    "caseload",
    "caseload_page",
    "client_get",
    "client_overview",
    "client_search",
    "consents_for_client",
    "contacts_for_client",
    "employment_history",
    "own_data_export",
]
