"""The service catalogue: search by need, target group, language, municipality, accessibility and provider, with
each service's current waiting time as an aggregate (never a client's data)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from polku.catalogue import selectors
from polku.catalogue.models import Service, ServiceClass
from polku.core.translation import localized, translations

from ..pagination import DEFAULT_LIMIT, Page, decode_cursor, encode_cursor, paginate
from ..problems import error_responses
from ..schemas import Cursor, Id, Limit, PathId
from .organisations import OrganisationRef

router = Router()

if TYPE_CHECKING:
    ServiceClassValue = str
else:
    ServiceClassValue = Literal[tuple(ServiceClass.values)]
NO_NUL = r"^[^\x00]*$"

WAITING_DESCRIPTION = (
    "The service's current waiting time in days: the mean of (a) the days waited so far by referrals to it "
    "that are still waiting (sent, received, accepted or waitlisted; now − sent) and (b) the completed waits "
    f"(started − sent) of referrals that started within the last {selectors.WAITING_WINDOW_DAYS} days. "
    "Null when based on fewer than POLKU_SMALL_CELL_THRESHOLD (default 5) referrals."
)


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


class ServiceOut(Schema):
    id: int
    provider: OrganisationRef
    name: str = Field(description="In the language of Accept-Language (fi → sv → en fallback).")
    names: dict[str, str]
    description: str
    descriptions: dict[str, str]
    service_class: str
    service_class_label: str
    data_category: str = Field(description="The category of client data that a referral to this service carries")
    target_groups: list[str]
    languages: list[str]
    accessibility: str
    eligibility_notes: str
    municipality_codes: list[str] = Field(description="Municipalities served; empty: the whole country")
    unit_cost: Decimal
    cost_unit: str
    capacity: int | None
    national_catalogue_id: str
    active: bool
    waiting_days: float | None = Field(description=WAITING_DESCRIPTION)
    waiting_basis: int | None = Field(
        description="How many referrals waiting_days is based on; null when 1 to POLKU_SMALL_CELL_THRESHOLD − 1")

    @staticmethod
    def resolve_name(obj: Service) -> str:
        return localized(obj, "name")

    @staticmethod
    def resolve_names(obj: Service) -> dict[str, str]:
        return translations(obj, "name")

    @staticmethod
    def resolve_description(obj: Service) -> str:
        return localized(obj, "description")

    @staticmethod
    def resolve_descriptions(obj: Service) -> dict[str, str]:
        return translations(obj, "description")

    @staticmethod
    def resolve_service_class_label(obj: Service) -> str:
        return str(obj.get_service_class_display())

    @staticmethod
    def resolve_target_groups(obj: Service) -> list[str]:
        return _texts(obj.target_groups)

    @staticmethod
    def resolve_languages(obj: Service) -> list[str]:
        return _texts(obj.languages)

    @staticmethod
    def resolve_municipality_codes(obj: Service) -> list[str]:
        return _texts(obj.municipality_codes)

    @staticmethod
    def resolve_waiting_days(obj: Any) -> float | None:
        return selectors.waiting_days(getattr(obj, "waiting_days", None))


class ServiceFilters(Schema):
    q: Annotated[str | None, Field(
        None, min_length=1, max_length=100, pattern=NO_NUL,
        description="The need, as free text: looked for in the names, descriptions and eligibility notes in "
                    "every language")] = None
    service_class: ServiceClassValue | None = None
    target_group: Annotated[str | None, Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                              description="e.g. long_term_unemployed or KR1.3")] = None
    language: Annotated[str | None, Field(None, pattern=r"^[a-z]{2,3}$",
                                          description="A language the service is given in, e.g. fi")] = None
    municipality_code: Annotated[str | None, Field(
        None, pattern=r"^[0-9]{3}$", description="Serves this municipality (or the whole country)")] = None
    accessibility: Annotated[str | None, Field(
        None, min_length=1, max_length=100, pattern=NO_NUL, description="Text that the accessibility notes contain"
    )] = None
    has_accessibility: bool | None = Field(None, description="true: only services with accessibility notes")
    provider_id: Id | None = None
    active: bool | None = None
    sort: Literal["id", "waiting_time"] = Field(
        "id", description="id (cursor pages) or waiting_time: shortest current waiting time first, services "
                          "without a figure last, then by id; the cursor of such a list is a position in it")


def _positional_page(queryset: QuerySet[Any], *, cursor: str | None, limit: int | None) -> dict[str, Any]:
    """A page of a list in the queryset's own order; the cursor encodes the position of the next page."""
    size = DEFAULT_LIMIT if limit is None else limit
    start = decode_cursor(cursor) if cursor else 0
    rows = list(queryset[start:start + size + 1])
    more = len(rows) > size
    return {"items": rows[:size], "next_cursor": encode_cursor(start + size) if more else None, "limit": size}


@router.get("", response={200: Page[ServiceOut], **error_responses(401, 422)}, summary="Search the service catalogue")
def list_services(request: HttpRequest, filters: Query[ServiceFilters], limit: Limit = None,
                  cursor: Cursor = None) -> Any:
    """Services matching every filter given. With ``sort=waiting_time``, the shortest current waiting time
    first (see ``waiting_days``); the cursor then is a position in the sorted list, so a service whose waiting
    time changes between two pages may be shown twice or not at all."""
    qs = selectors.service_search(**filters.dict(exclude={"sort"}))
    if filters.sort == "waiting_time":
        return _positional_page(selectors.by_waiting_time(qs), cursor=cursor, limit=limit)
    return paginate(qs, cursor=cursor, limit=limit)


@router.get("/{service_id}", response={200: ServiceOut, **error_responses(401, 404)}, summary="A service")
def get_service(request: HttpRequest, service_id: PathId) -> Any:
    return selectors.service_get(service_id=service_id)

