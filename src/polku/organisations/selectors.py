"""Reads of organisations, their service areas and units. Public to every signed-in user: no client data."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from .models import Organisation, ServiceArea, StaffMember, Unit


def organisation_list(
    *, kind: str | None = None, municipality_code: str | None = None, active: bool | None = None,
) -> QuerySet[Organisation]:
    """Organisations, optionally of one ``kind``, ``active`` or not, and located in or serving a municipality
    (``municipality_code``: the head office's municipality, or one of the organisation's service area)."""
    qs = Organisation.objects.all()
    if kind is not None:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    if municipality_code is not None:
        serves = ServiceArea.objects.filter(organisation_id=OuterRef("pk"), municipality_code=municipality_code)
        qs = qs.filter(Q(municipality_code=municipality_code) | Q(Exists(serves)))
    return qs


def organisation_get(*, organisation_id: int) -> Organisation:
    """One organisation with its service area and units prefetched (two more queries). 404 if none."""
    organisation = (
        Organisation.objects.filter(pk=organisation_id)
        .prefetch_related(
            Prefetch("service_area", queryset=ServiceArea.objects.order_by("municipality_code")),
            Prefetch("units", queryset=Unit.objects.order_by("name_fi", "pk")),
        )
        .first()
    )
    if organisation is None:
        raise Http404
    return organisation


def organisations_with_staff_counts() -> QuerySet[Organisation]:
    """Every organisation with ``active_staff``: how many active staff members it has (one query). For the
    administration pages."""
    return Organisation.objects.annotate(
        active_staff=Count("staff", filter=Q(staff__active=True, staff__user__is_active=True))
    ).order_by("name_fi", "pk")


def staff_of_organisation(*, organisation_id: int) -> QuerySet[StaffMember]:
    """An organisation's staff members, active or not, with their user accounts and units (one query)."""
    return (StaffMember.objects.filter(organisation_id=organisation_id).select_related("user", "unit")
            .order_by("user__last_name", "user__first_name", "pk"))


__all__ = ["organisation_get", "organisation_list", "organisations_with_staff_counts", "staff_of_organisation"]
