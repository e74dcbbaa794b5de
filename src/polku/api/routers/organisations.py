"""Organisations taking part in the joint service, and providers: public to every signed-in user, no client data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from polku.core.translation import localized, translations
from polku.organisations import selectors
from polku.organisations.models import Organisation, OrganisationKind

from ..pagination import Page, paginate
from ..problems import error_responses
from ..schemas import Cursor, Limit, PathId

router = Router()

if TYPE_CHECKING:
    KindValue = str
else:
    KindValue = Literal[tuple(OrganisationKind.values)]


class OrganisationRef(Schema):
    """An organisation named in another resource: its id and its name in the caller's language."""

    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return localized(obj, "name")


class OrganisationOut(Schema):
    id: int
    name: str = Field(description="In the language of Accept-Language (fi → sv → en fallback).")
    names: dict[str, str] = Field(description="fi, sv, en")
    kind: str
    kind_label: str
    business_id: str = Field(description="Finnish Business ID (Y-tunnus)")
    municipality_code: str = Field(description="Statistics Finland code of the head office's municipality")
    national_catalogue_id: str
    active: bool

    @staticmethod
    def resolve_name(obj: Organisation) -> str:
        return localized(obj, "name")

    @staticmethod
    def resolve_names(obj: Organisation) -> dict[str, str]:
        return translations(obj, "name")

    @staticmethod
    def resolve_kind_label(obj: Organisation) -> str:
        return str(obj.get_kind_display())


class UnitOut(Schema):
    id: int
    name: str
    names: dict[str, str]
    municipality_code: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return localized(obj, "name")

    @staticmethod
    def resolve_names(obj: Any) -> dict[str, str]:
        return translations(obj, "name")


class OrganisationDetail(OrganisationOut):
    service_area: list[str] = Field(description="Municipality codes of the organisation's service area")
    units: list[UnitOut]

    @staticmethod
    def resolve_service_area(obj: Organisation) -> list[str]:
        return [area.municipality_code for area in obj.service_area.all()]

    @staticmethod
    def resolve_units(obj: Organisation) -> list[Any]:
        return list(obj.units.all())


class OrganisationFilters(Schema):
    kind: KindValue | None = None
    municipality_code: Annotated[str | None, Field(
        None, pattern=r"^[0-9]{3}$",
        description="Head office in this municipality, or the municipality is in the service area")] = None
    active: bool | None = None


@router.get("", response={200: Page[OrganisationOut], **error_responses(401, 422)}, summary="Organisations")
def list_organisations(request: HttpRequest, filters: Query[OrganisationFilters], limit: Limit = None,
                       cursor: Cursor = None) -> Any:
    """Every organisation matching the filters, by id."""
    qs = selectors.organisation_list(kind=filters.kind, municipality_code=filters.municipality_code,
                                     active=filters.active)
    return paginate(qs, cursor=cursor, limit=limit)


@router.get("/{organisation_id}", response={200: OrganisationDetail, **error_responses(401, 404)},
            summary="An organisation, with its service area and units")
def get_organisation(request: HttpRequest, organisation_id: PathId) -> Any:
    return selectors.organisation_get(organisation_id=organisation_id)
