"""The national service catalogue's (PTV, Palvelutietovaranto) JSON: read into Polku's catalogue, and written from it.

The shape follows PTV's open API v11 (``ServiceVersion``, ``OrganizationVersion``): multilingual fields are lists of
``{"type", "language", "value"}``, classifications are lists of ``{"code", "uri"}``. What PTV has no field for
travels in ``polku:`` fields, so that export → import → export loses nothing Polku stores. The field-by-field
mapping is in ``docs/service-catalogue.md``.
"""

from .exporter import export_document
from .importer import SERVICE_FIELDS, import_document
from .reader import Outcome

__all__ = ["SERVICE_FIELDS", "Outcome", "export_document", "import_document"]
