"""Import and export of the service catalogue (issue 5).

* :func:`import_services` reads a JSON file in the data model of the national service catalogue (PTV,
  Palvelutietovaranto), or a file written by ``export_services("ptv")``, into Polku's catalogue: everything is
  validated first, nothing is written if anything is wrong, and importing the same file again changes nothing.
* :func:`export_services` writes the catalogue as PTV-shaped JSON or as Open Referral HSDS 3.0.

The field-by-field mapping (Polku ↔ PTV ↔ HSDS) and the code lists are in ``docs/service-catalogue.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from polku.core.errors import InvalidInput

from . import hsds, ptv

FORMATS = ("ptv", "hsds")


@dataclass
class ImportReport:
    """What an import wrote (or, in a dry run or when anything was wrong, would have written)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (where in the file, field, message)
    warnings: list[tuple[str, str, str]] = field(default_factory=list)
    organisations_created: int = 0
    organisations_linked: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def __str__(self) -> str:
        lines = [
            _("Services: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged},
            _("Organisations: %(created)d created, %(linked)d linked to their PTV id.")
            % {"created": self.organisations_created, "linked": self.organisations_linked},
        ]
        if self.errors:
            lines.append(ngettext("%(count)d error; nothing was written:", "%(count)d errors; nothing was written:",
                                  len(self.errors)) % {"count": len(self.errors)})
            lines += [f"  {_line(where, name, message)}" for where, name, message in self.errors]
        elif self.dry_run:
            lines.append(_("Dry run: nothing was written."))
        if self.warnings:
            lines.append(ngettext("%(count)d warning:", "%(count)d warnings:", len(self.warnings))
                         % {"count": len(self.warnings)})
            lines += [f"  {_line(where, name, message)}" for where, name, message in self.warnings]
        return "\n".join(lines)


def _line(where: str, name: str, message: str) -> str:
    place = f"{where}.{name}" if name else where
    return f"{place}: {message}"


def import_services(path: Path, *, dry_run: bool = False) -> ImportReport:
    """Import the services (and the organisations they need) of a PTV-shaped JSON file, in one transaction.

    Services are matched by their PTV id (``Service.national_catalogue_id``), services without one by provider
    and Finnish name; organisations by PTV id or Business ID. Problems in the file never raise: they are in the
    report's ``errors``, and then nothing is written.
    """
    report = ImportReport(dry_run=dry_run)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
        data = json.loads(text)
    except OSError as exc:
        report.errors.append((str(path), "", _("The file cannot be read: %(error)s") % {"error": exc.strerror}))
        return report
    except UnicodeDecodeError:
        report.errors.append((str(path), "", _("The file is not UTF-8 text.")))
        return report
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        report.errors.append((str(path), "", _("The file is not valid JSON: %(error)s") % {"error": exc}))
        return report
    outcome = ptv.import_document(data, dry_run=dry_run)
    report.created, report.updated, report.unchanged = outcome.created, outcome.updated, outcome.unchanged
    report.organisations_created = outcome.organisations_created
    report.organisations_linked = outcome.organisations_linked
    report.errors, report.warnings = outcome.errors, outcome.warnings
    return report


def export_services(fmt: str) -> dict[str, Any] | list[Any]:
    """The whole catalogue: ``"ptv"`` as PTV-shaped JSON (which :func:`import_services` reads back without loss),
    ``"hsds"`` as Open Referral HSDS 3.0 tables."""
    if fmt == "ptv":
        return ptv.export_document()
    if fmt == "hsds":
        return hsds.export_document()
    raise InvalidInput(
        _("Unknown export format %(format)s; choose one of: %(formats)s.")
        % {"format": fmt, "formats": ", ".join(FORMATS)},
        errors={"format": [_("Choose one of: %(formats)s.") % {"formats": ", ".join(FORMATS)}]},
    )
