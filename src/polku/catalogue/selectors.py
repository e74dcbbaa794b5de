"""Reads of the service catalogue: search, and each service's current waiting time as an aggregate.

**Waiting time.** A service's current waiting time is the mean number of days that its recent and current
clients have waited from the referral being sent to the service starting:

- a referral to the service that is still waiting (``sent``, ``received``, ``accepted`` or ``waitlisted``)
  counts with the days it has waited so far (now − sent);
- a referral that started within the last :data:`WAITING_WINDOW_DAYS` days counts with its completed wait
  (started − sent).

Referrals that were never sent, or that ended without starting, do not count. The figure (``waiting_days``) and
the number of referrals it is based on (``waiting_basis``) are computed in the database for all services at
once (two correlated aggregate subqueries in the one query of the list). A figure based on fewer than
``POLKU_SMALL_CELL_THRESHOLD`` (default 5) referrals is suppressed (``null``) and so is that count (a count of
0 is shown); sorting by waiting time uses the suppressed figure, so the order reveals nothing that the figures
do not. No client is ever named.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Func, OuterRef
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone

from polku.referrals.models import Referral, ReferralStatus

from .models import Service

#: A referral in one of these states has been sent and its client is still waiting for the service to start.
WAITING_STATUSES = (ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.WAITLISTED)

#: Completed waits (sent → started) count when the service started within this many days.
WAITING_WINDOW_DAYS = 180

#: Fields searched by the free-text need (``q``).
TEXT_FIELDS = ("name_fi", "name_sv", "name_en", "description_fi", "description_sv", "description_en",
               "eligibility_notes")


def small_cell_threshold() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


class _JsonEachHas(Func):
    """SQLite (JSON1): ``EXISTS (SELECT 1 FROM json_each(column) WHERE value = %s)``: the list has the element."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:  # type: ignore[override]
        column, column_params = compiler.compile(self.source_expressions[0])
        value, value_params = compiler.compile(self.source_expressions[1])
        # column: the compiled column reference; value: a placeholder, its value a parameter
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) AS polku_element WHERE polku_element.value = {value})"  # noqa: S608
        return sql, (*column_params, *value_params)


def json_list_contains(field: str, value: str) -> Q:
    """Services whose JSON list ``field`` has the element ``value``, exactly.

    PostgreSQL: jsonb containment (``@>``, which a GIN index can serve). SQLite has no containment operator;
    there JSON1's ``json_each`` looks for the element."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    return Q(_JsonEachHas(F(field), Value(value)))


def _waiting_basis(now: dt.datetime) -> QuerySet[Referral, Any]:
    since = now - dt.timedelta(days=WAITING_WINDOW_DAYS)
    return Referral.objects.filter(service_id=OuterRef("pk"), sent_at__isnull=False).filter(
        Q(status__in=WAITING_STATUSES) | Q(started_at__gte=since)
    ).order_by().values("service_id")


def with_waiting_times(queryset: QuerySet[Service], *, now: dt.datetime | None = None) -> QuerySet[Service]:
    """Annotate each service with ``waiting_days`` (a duration: the mean wait, see the module's documentation)
    and ``waiting_basis`` (how many referrals it is based on), both suppressed below the small-cell threshold."""
    now = now or timezone.now()
    k = small_cell_threshold()
    basis = _waiting_basis(now)
    wait = Case(
        When(status__in=WAITING_STATUSES,
             then=ExpressionWrapper(Value(now, output_field=DateTimeField()) - F("sent_at"),
                                    output_field=DurationField())),
        default=ExpressionWrapper(F("started_at") - F("sent_at"), output_field=DurationField()),
        output_field=DurationField(),
    )
    mean = basis.annotate(n=Count("pk"), mean=Avg(wait)).annotate(
        shown=Case(When(n__gte=k, then=F("mean")), default=None, output_field=DurationField())
    ).values("shown")
    # -1 marks a suppressed count inside the subquery; no row at all (no referral in the basis) is 0
    count = basis.annotate(n=Count("pk")).annotate(
        shown=Case(When(n__gte=k, then=F("n")), default=Value(-1), output_field=IntegerField())
    ).values("shown")
    return queryset.annotate(
        waiting_days=Subquery(mean, output_field=DurationField()),
        waiting_basis=NullIf(Coalesce(Subquery(count, output_field=IntegerField()), Value(0)), Value(-1)),
    )


def service_search(
    *, q: str | None = None, service_class: str | None = None, target_group: str | None = None,
    language: str | None = None, municipality_code: str | None = None, accessibility: str | None = None,
    has_accessibility: bool | None = None, provider_id: int | None = None, active: bool | None = None,
) -> QuerySet[Service]:
    """Services matching every filter given, with their waiting times (:func:`with_waiting_times`).

    ``q`` is looked for (case-insensitively) in the names, descriptions and eligibility notes in every
    language. ``municipality_code`` matches services that list the municipality or that serve the whole country
    (an empty list)."""
    qs = Service.objects.select_related("provider")
    if q:
        term = q.strip()
        if term:
            match = Q()
            for field in TEXT_FIELDS:
                match |= Q(**{f"{field}__icontains": term})
            qs = qs.filter(match)
    if service_class is not None:
        qs = qs.filter(service_class=service_class)
    if target_group is not None:
        qs = qs.filter(json_list_contains("target_groups", target_group))
    if language is not None:
        qs = qs.filter(json_list_contains("languages", language))
    if municipality_code is not None:
        qs = qs.filter(json_list_contains("municipality_codes", municipality_code) | Q(municipality_codes=[]))
    if accessibility:
        qs = qs.filter(accessibility__icontains=accessibility.strip())
    if has_accessibility is not None:
        qs = qs.exclude(accessibility="") if has_accessibility else qs.filter(accessibility="")
    if provider_id is not None:
        qs = qs.filter(provider_id=provider_id)
    if active is not None:
        qs = qs.filter(active=active)
    return with_waiting_times(qs)


def by_waiting_time(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """Shortest (suppressed) waiting time first; services without a figure last; ties by id."""
    return queryset.order_by(F("waiting_days").asc(nulls_last=True), "pk")


def service_get(*, service_id: int) -> Service:
    service = with_waiting_times(Service.objects.select_related("provider").filter(pk=service_id)).first()
    if service is None:
        raise Http404
    return service


def waiting_days(value: Any) -> float | None:
    """A ``waiting_days`` annotation (a duration) as days, to one decimal."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 86400, 1)
    return round(float(value) / 86_400_000_000, 1)  # microseconds, where a backend returns a number


__all__ = [
    "WAITING_STATUSES",
    "WAITING_WINDOW_DAYS",
    "by_waiting_time",
    "json_list_contains",
    "service_get",
    "service_search",
    "waiting_days",
    "with_waiting_times",
]
