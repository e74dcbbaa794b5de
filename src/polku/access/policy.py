"""The access policy: "may this user do this to this client's data of this category?"

One resolver answers it for the UI, the API, exports and background work alike. A staff member may act on a
client's data only when all of these hold:

1. **Relationship** — their organisation has an active client relationship: it participates in the client's
   open joint-service episode, it receives an open referral of the client, or it is the employment authority
   (employment services whose service area covers the client's municipality) of a client who is an
   unemployed job seeker now — its statutory customer, whom it screens for the joint service.
2. **Consent** — the client's consent in force covers that organisation and that data category. Basic and
   contact details are covered by any consent in force for the organisation. Recording or revoking consent on
   the client's behalf needs the relationship but not a prior consent (it is how consent is given).
3. **Role** — the staff member's role needs that category for its work task (``ROLE_DATA_CATEGORIES``):
   health data only to health professionals, social data only to social workers, and so on. Managers and
   administrators never see a client's own data.

A client may see and act on their own data. Every decision, allowed or refused, is written to the access log
by :func:`authorize`, in the caller's transaction, so a write and its log row stand or fall together.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import Client, Consent, EmploymentStatus, EmploymentStatusPeriod
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.episodes.models import EpisodeParticipant, EpisodeStatus
from polku.organisations.models import ROLE_DATA_CATEGORIES, OrganisationKind, ServiceArea, StaffMember, StaffRole
from polku.referrals.models import OPEN_STATUSES as OPEN_REFERRAL_STATUSES
from polku.referrals.models import Referral

#: Roles that may record or revoke consent on a client's behalf, register clients and open episodes: the
#: professionals of the joint service's statutory parties.
JOINT_SERVICE_ROLES = frozenset(
    {StaffRole.COORDINATOR, StaffRole.SOCIAL_WORKER, StaffRole.HEALTH_PROFESSIONAL, StaffRole.KELA_EXPERT}
)

#: Why data is processed: a marked message (``_("...")``), stored untranslated and shown in the reader's language.
Purpose = str | Promise
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # a stable code, written to the access log

    def __bool__(self) -> bool:
        return self.allowed


def staff_of(user: Any) -> StaffMember | None:
    """The active staff member behind a user, or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        staff = user.staff
    except StaffMember.DoesNotExist:
        return None
    return staff if staff.active else None


def client_of(user: Any) -> Client | None:
    """The client whose portal account this user is, or ``None``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    try:
        return user.client
    except Client.DoesNotExist:
        return None


def relationship_filter(organisation_id: int, client_ref: Any = None, today: dt.date | None = None) -> Q:
    """A ``Q`` over clients (or over ``client_ref`` = ``OuterRef("client_id")``) with an active relationship.

    Set-based, so lists (``visible_clients``) and single checks use the very same rule.
    """
    client: Any = client_ref if client_ref is not None else OuterRef("pk")
    in_episode = EpisodeParticipant.objects.filter(
        organisation_id=organisation_id, left_on__isnull=True, episode__client_id=client,
        episode__status__in=[EpisodeStatus.MAPPING, EpisodeStatus.ACTIVE],
    )
    receives_referral = Referral.objects.filter(
        receiving_organisation_id=organisation_id, client_id=client, status__in=OPEN_REFERRAL_STATUSES,
    )
    area = ServiceArea.objects.filter(
        organisation_id=organisation_id, organisation__kind=OrganisationKind.EMPLOYMENT_SERVICES
    ).values("municipality_code")
    today = today or timezone.localdate()
    job_seeker = Client.objects.filter(
        Exists(
            EmploymentStatusPeriod.objects.filter(
                client_id=OuterRef("pk"), status=EmploymentStatus.UNEMPLOYED, start_date__lte=today
            ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        ),
        pk=client, municipality_code__in=area,
    )
    return Q(Exists(in_episode)) | Q(Exists(receives_referral)) | Q(Exists(job_seeker))


def consent_filter(organisation_id: int, category: str, client_ref: Any = None, moment: Any = None) -> Q:
    client: Any = client_ref if client_ref is not None else OuterRef("pk")
    consents = Consent.objects.active_on(moment).filter(organisation_id=organisation_id, client_id=client)
    if category != DataCategory.BASIC:
        consents = consents.filter(category=category)
    return Q(Exists(consents))


def has_relationship(organisation_id: int, client_id: int) -> bool:
    return Client.objects.filter(relationship_filter(organisation_id), pk=client_id).exists()


def has_consent(organisation_id: int, client_id: int, category: str) -> bool:
    return Client.objects.filter(consent_filter(organisation_id, category), pk=client_id).exists()


#: Stand-ins compiled into the cached decision query, replaced by the real values on each use (absurd values
#: that no real parameter has).
_ANY_CLIENT = -7_319_004_211
_ANY_DAY = dt.date(1901, 2, 3)
_ANY_MOMENT = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


@functools.lru_cache(maxsize=1024)
def _decision_query(organisation_id: int, category: str, vendor: str) -> tuple[str, tuple[Any, ...]]:
    """The relationship-and-consent query for one organisation and category, compiled once: building it with
    the ORM costs several times what the database needs to run it, and every access check runs it. Compiled
    with stand-ins for the client, the day and the moment, so the cached text holds no time and no person."""
    query = (
        Client.objects.filter(pk=_ANY_CLIENT)
        .annotate(policy_related=ExpressionWrapper(relationship_filter(organisation_id, today=_ANY_DAY),
                                                   BooleanField()),
                  policy_consented=ExpressionWrapper(consent_filter(organisation_id, category, moment=_ANY_MOMENT),
                                                     BooleanField()))
        .values_list("policy_related", "policy_consented")
    )
    sql, params = query.query.sql_with_params()
    return sql, tuple(params)


def _with_stand_ins(template: tuple[Any, ...], values: dict[Any, Any]) -> list[Any]:
    """The parameters of a cached query with each stand-in (a key of ``values``, before adaptation by the
    database backend) replaced by its real value. Refuses if a stand-in is missing: never guess."""
    ops = connection.ops
    adapted: dict[str, Any] = {}
    for stand_in, value in values.items():
        if isinstance(stand_in, dt.datetime):
            adapted[repr(ops.adapt_datetimefield_value(stand_in))] = ops.adapt_datetimefield_value(value)
        elif isinstance(stand_in, dt.date):
            adapted[repr(ops.adapt_datefield_value(stand_in))] = ops.adapt_datefield_value(value)
        else:
            adapted[repr(stand_in)] = value
    found = {repr(p) for p in template} & adapted.keys()
    if found != adapted.keys():
        raise RuntimeError("a cached access query lost a parameter")
    return [adapted.get(repr(p), p) for p in template]


def _relationship_and_consent(organisation_id: int, client_id: int, category: str) -> tuple[bool, bool] | None:
    """(has a relationship, has consent) of the organisation to the client now, or ``None`` if no such client;
    one round trip, the same rule as :func:`relationship_filter` and :func:`consent_filter` (it is built from
    them)."""
    sql, template = _decision_query(organisation_id, category, connection.vendor)
    params = _with_stand_ins(template, {_ANY_CLIENT: client_id, _ANY_DAY: timezone.localdate(),
                                        _ANY_MOMENT: timezone.now()})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else (bool(row[0]), bool(row[1]))


_ANY_TEXT = "\x01polku-stand-in\x01"
_ANY_MUNICIPALITY = "\x01m\x01"


@functools.lru_cache(maxsize=512)
def _visible_page_query(organisation_id: int, category: str, limit: int, search: bool, municipality: bool,
                        vendor: str) -> tuple[str, tuple[Any, ...]]:
    """The page query of :func:`visible_clients_page`, compiled once per organisation and shape (as
    :func:`_decision_query`; building it costs ten times what running it does at a million clients)."""
    query = Client.objects.filter(
        relationship_filter(organisation_id, today=_ANY_DAY),
        consent_filter(organisation_id, category, moment=_ANY_MOMENT),
        pk__gt=_ANY_CLIENT,
    )
    if search:
        query = query.filter(Q(first_name__icontains=_ANY_TEXT) | Q(last_name__icontains=_ANY_TEXT))
    if municipality:
        query = query.filter(municipality_code=_ANY_MUNICIPALITY)
    sql, params = query.order_by("pk")[:limit].query.sql_with_params()
    return sql, tuple(params)


def visible_clients_page(
    user: Any, category: str = DataCategory.BASIC, *, after: int = 0, limit: int = 50, search: str = "",
    municipality_code: str = "",
) -> list[Client]:
    """Up to ``limit`` clients of :func:`visible_clients` with an id above ``after``, in id order, optionally
    with ``search`` in a name and living in ``municipality_code``. Not logged (the caller logs what it shows).

    For staff the clients are walked in id order and checked a chunk at a time
    (:class:`polku.core.paging.VisibleRows`), or, when the organisation may see only a small share of them, asked
    of one query with the policy inside (compiled once per organisation and shape)."""
    staff = staff_of(user)
    if staff is None or client_of(user) is not None:
        query = visible_clients(user, category).filter(pk__gt=after)
        if search:
            query = query.filter(Q(first_name__icontains=search) | Q(last_name__icontains=search))
        if municipality_code:
            query = query.filter(municipality_code=municipality_code)
        return list(query.order_by("pk")[:limit])
    if category not in ROLE_DATA_CATEGORIES.get(staff.role, frozenset()):
        return []
    from polku.core.paging import VisibleRows

    walk = Client.objects.filter(pk__gt=after)
    if search:
        walk = walk.filter(Q(first_name__icontains=search) | Q(last_name__icontains=search))
    if municipality_code:
        walk = walk.filter(municipality_code=municipality_code)
    # A page needs ``limit`` rows and no count, so walking stays cheaper than the policy-filtered query until the
    # organisation may see only a sliver of the matches.
    rows = VisibleRows(walk.order_by("pk"), lambda ids: visible_client_ids(user, category, ids),
                       client_field="pk", chunk=limit, min_share=0.02)
    if not rows.in_sql_wanted():
        return rows.first(limit)
    sql, template = _visible_page_query(staff.organisation_id, category, limit, bool(search),
                                        bool(municipality_code), connection.vendor)
    values: dict[Any, Any] = {_ANY_CLIENT: after, _ANY_DAY: timezone.localdate(), _ANY_MOMENT: timezone.now()}
    if search:
        values[f"%{_ANY_TEXT}%"] = f"%{connection.ops.prep_for_like_query(search)}%"
    if municipality_code:
        values[_ANY_MUNICIPALITY] = municipality_code
    return list(Client.objects.raw(sql, _with_stand_ins(template, values)))


def decide(user: Any, client: Client | int, category: str, action: str) -> Decision:
    """Decide without logging. Use :func:`authorize` for real access; this is for showing or hiding buttons."""
    client_id = client if isinstance(client, int) else client.pk
    if category not in DataCategory.values:
        return Decision(False, "unknown_category")
    own = client_of(user)
    if own is not None:
        return Decision(own.pk == client_id, "own_data" if own.pk == client_id else "not_own_data")
    staff = staff_of(user)
    if staff is None:
        return Decision(False, "not_staff")
    if action == AccessAction.MANAGE_CONSENT:
        if staff.role not in JOINT_SERVICE_ROLES:
            return Decision(False, "role")
        if not has_relationship(staff.organisation_id, client_id):
            return Decision(False, "no_relationship")
        return Decision(True, "relationship")
    if category not in ROLE_DATA_CATEGORIES.get(staff.role, frozenset()):
        return Decision(False, "role")
    found = _relationship_and_consent(staff.organisation_id, client_id, category)
    if found is None or not found[0]:
        return Decision(False, "no_relationship")
    if not found[1]:
        return Decision(False, "no_consent")
    return Decision(True, "relationship_consent_role")


def source_text(message: Purpose) -> str:
    """The untranslated (English source) text of a marked message, so the log can show it in any language."""
    with override(None):
        return str(message)


#: The reads already logged during the current request, by (actor, client, category, action, allowed, purpose): the id
#: of the row written (0 for a list's rows). ``None`` outside a request (commands, tasks, direct service calls).
_request_reads = threading.local()


def _begin_request(**_: Any) -> None:
    _request_reads.seen = {}


def _end_request(**_: Any) -> None:
    _request_reads.seen = None


def connect_request_scope() -> None:
    """Log each read once per request: a page that reads the same client's data of the same category for the
    same purpose several times (the client page reads basic details for its header, its episodes and its
    referrals) writes one access-log row for it; a read for another purpose (the employment estimate, the job
    suggestions) keeps its own row, so the client sees why their data was used (called at start-up)."""
    from django.core.signals import request_finished, request_started

    request_started.connect(_begin_request, dispatch_uid="polku.access.request_scope.begin")
    request_finished.connect(_end_request, dispatch_uid="polku.access.request_scope.end")


def _already_logged(key: tuple[Any, ...]) -> bool:
    seen = getattr(_request_reads, "seen", None)
    if seen is None or key not in seen:
        return False
    # The earlier row may have been rolled back with a failed service: then this read is logged after all.
    return seen[key] == 0 or AccessLog.objects.filter(pk=seen[key]).exists()


def _remember(key: tuple[Any, ...], row_id: int) -> None:
    seen = getattr(_request_reads, "seen", None)
    if seen is not None:
        seen[key] = row_id


def log_access(
    *, user: Any, client_id: int, category: str, action: str, purpose: Purpose, allowed: bool, reason: str,
    obj: Any = None,
) -> AccessLog | None:
    """Write one access-log row, unless the same reader's same access to the same client's data of the same
    category for the same purpose was already logged in this request (then ``None``)."""
    why = source_text(purpose)[:300]
    key = (getattr(user, "pk", None), int(client_id), category, action, allowed, why)
    if _already_logged(key):
        return None
    staff = staff_of(user)
    actor = user if getattr(user, "is_authenticated", False) else None
    name = ""
    if actor is not None:
        name = actor.get_full_name() or actor.get_username()
    row = AccessLog.objects.create(
        at=timezone.now(),
        actor=actor,
        actor_name=name,
        actor_organisation_id=staff.organisation_id if staff else None,
        actor_role=staff.role if staff else ("client" if client_of(user) else ""),
        client_id=client_id,
        category=category,
        action=action,
        purpose=why,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or "") if obj is not None else "",
        allowed=allowed,
        reason=reason,
    )
    _remember(key, row.pk)
    return row


_service_depth = threading.local()


def authorize(
    user: Any, client: Client | int, category: str, action: str, *, purpose: Purpose, obj: Any = None
) -> Decision:
    """Decide, write one access-log row, and raise :class:`AccessDenied` if refused.

    Call inside the read or the write it guards, so that an allowed write and its log row stand or fall
    together. A refusal is logged even though the write it refused is rolled back: outside any transaction at
    when called outside a service, or after the outermost :func:`client_data_service` has rolled back.
    """
    client_id = client if isinstance(client, int) else client.pk
    decision = decide(user, client_id, category, action)
    entry = {"user": user, "client_id": client_id, "category": category, "action": action,
             "purpose": purpose, "reason": decision.reason, "obj": obj}
    if not decision.allowed:
        exc = AccessDenied(_("You do not have access to this client's data."), code=decision.reason)
        exc.log_entry = entry
        if getattr(_service_depth, "value", 0) == 0:  # not inside a service that will roll back
            _write_refusal(exc)
        raise exc
    log_access(allowed=True, **entry)
    return decision


def deny(
    user: Any, client: Client | int, category: str, action: str, *, purpose: Purpose, message: Any, code: str,
    obj: Any = None,
) -> AccessDenied:
    """A refusal decided by a service's own rule after :func:`authorize` allowed the access (the wrong side of a
    referral, not the responsible person, ...). Raise what it returns: the refusal is logged exactly like the
    policy's own, and the allowed row that ``authorize`` wrote is rolled back with the rest."""
    client_id = client if isinstance(client, int) else client.pk
    exc = AccessDenied(message, code=code)
    exc.log_entry = {"user": user, "client_id": client_id, "category": category, "action": action,
                     "purpose": purpose, "reason": code, "obj": obj}
    if getattr(_service_depth, "value", 0) == 0:
        _write_refusal(exc)
    return exc


def _write_refusal(exc: AccessDenied) -> None:
    entry = getattr(exc, "log_entry", None)
    if entry is not None and not getattr(exc, "logged", False):
        log_access(allowed=False, **entry)
        exc.logged = True


def client_data_service(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service in one transaction; log a refusal after the outermost service has rolled back."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = getattr(_service_depth, "value", 0)
        _service_depth.value = depth + 1
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except AccessDenied as exc:
            if depth == 0:
                _write_refusal(exc)
            raise
        finally:
            _service_depth.value = depth

    return wrapper


def log_list_access(*, user: Any, client_ids: list[int], category: str, purpose: Purpose) -> None:
    """Log a list view that shows data of many clients at once: one row per client shown, in one insert (a
    client already logged for this category in this request is not logged again)."""
    seen = getattr(_request_reads, "seen", None)
    if seen is not None:
        text = source_text(purpose)[:300]
        keys = {int(c): (user.pk, int(c), category, AccessAction.VIEW, True, text) for c in client_ids}
        client_ids = [c for c, key in keys.items() if key not in seen]
        for c in client_ids:
            seen[keys[c]] = 0
    if not client_ids:
        return
    staff = staff_of(user)
    now = timezone.now()
    name = user.get_full_name() or user.get_username()
    why = source_text(purpose)[:300]  # once, not once per row: switching languages is not free
    organisation_id = staff.organisation_id if staff else None
    role = staff.role if staff else "client"
    if connection.vendor != "postgresql":
        AccessLog.objects.bulk_create(
            AccessLog(at=now, actor_id=user.pk, actor_name=name, actor_organisation_id=organisation_id,
                      actor_role=role, client_id=client_id, category=category, action=AccessAction.VIEW,
                      purpose=why, object_type="list", allowed=True, reason="list")
            for client_id in client_ids
        )
        return
    # On PostgreSQL one statement with the client ids as one array: a page of a list is logged on every request,
    # and sending each row's values separately cost several times what the database spends storing them.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {AccessLog._meta.db_table} (at, actor_id, actor_name, actor_organisation_id, actor_role,
                    client_id, category, action, purpose, object_type, object_id, allowed, reason)
                SELECT %s, %s, %s, %s, %s, c, %s, %s, %s, 'list', '', true, 'list'
                FROM unnest(%s::bigint[]) AS c""",  # noqa: S608 - the table name comes from the model
            [now, user.pk, name, organisation_id, role, category, AccessAction.VIEW, why,
             [int(c) for c in client_ids]],
        )


def visible_clients(user: Any, category: str = DataCategory.BASIC) -> QuerySet[Client]:
    """Every client this user may see data of ``category`` of, as one set-based query (not logged: a list
    of whom one may see is not yet a read of their data; reading a client's details is)."""
    own = client_of(user)
    if own is not None:
        return Client.objects.filter(pk=own.pk)
    staff = staff_of(user)
    if staff is None or category not in ROLE_DATA_CATEGORIES.get(staff.role, frozenset()):
        return Client.objects.none()
    return Client.objects.filter(
        relationship_filter(staff.organisation_id), consent_filter(staff.organisation_id, category)
    )


@functools.lru_cache(maxsize=512)
def _visible_ids_query(organisation_id: int, category: str) -> tuple[str, tuple[Any, ...]]:
    """The query of :func:`visible_client_ids` on PostgreSQL, compiled once per organisation and category (as
    :func:`_decision_query`), the ids passed as one array (``= ANY(%s)``)."""
    query = Client.objects.filter(
        relationship_filter(organisation_id, today=_ANY_DAY),
        consent_filter(organisation_id, category, moment=_ANY_MOMENT),
        pk__in=[_ANY_CLIENT],
    ).values_list("pk")
    sql, params = query.query.sql_with_params()
    marker = '"clients_client"."id" IN (%s)'
    if sql.count(marker) != 1:
        raise RuntimeError("unexpected shape of the visible-ids query")
    return sql.replace(marker, '"clients_client"."id" = ANY(%s)'), tuple(params)


def visible_client_ids(user: Any, category: str, client_ids: Iterable[int]) -> set[int]:
    """Which of ``client_ids`` this user may see data of ``category`` of: :func:`visible_clients` over just these
    ids, one query (lists walk their rows in chunks and check each chunk's clients with this; see
    :class:`polku.core.paging.VisibleRows`). Not logged."""
    ids = list(client_ids)
    if not ids:
        return set()
    staff = staff_of(user)
    if (connection.vendor != "postgresql" or staff is None or client_of(user) is not None
            or category not in ROLE_DATA_CATEGORIES.get(staff.role, frozenset())):
        return set(visible_clients(user, category).filter(pk__in=ids).values_list("pk", flat=True))
    sql, template = _visible_ids_query(staff.organisation_id, category)
    params = _with_stand_ins(template, {_ANY_CLIENT: ids, _ANY_DAY: timezone.localdate(),
                                        _ANY_MOMENT: timezone.now()})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def visibility_filter(user: Any, category: str = DataCategory.BASIC, client_field: str = "client_id") -> Q:
    """A ``Q`` over rows whose ``client_field`` is a client this user may see data of ``category`` of: the same
    rule as :func:`visible_clients`, checked row by row in SQL (``client_field="pk"`` for rows that are clients)."""
    own = client_of(user)
    if own is not None:
        return Q(**{client_field: own.pk})
    staff = staff_of(user)
    if staff is None or category not in ROLE_DATA_CATEGORIES.get(staff.role, frozenset()):
        return Q(pk__in=[])
    ref = OuterRef(client_field)
    return relationship_filter(staff.organisation_id, ref) & consent_filter(staff.organisation_id, category, ref)
