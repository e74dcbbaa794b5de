"""Compile the .po catalogues into .mo files without GNU gettext (uses polib, a development dependency)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile src/polku/locale/*/LC_MESSAGES/django.po into .mo files (pure Python; no gettext needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import polib  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - polib is in the dev extras
            raise CommandError("polib is needed: pip install -e '.[dev]'") from exc
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/django.po")):
                catalogue = polib.pofile(str(po_path))
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                self.stdout.write(f"{po_path.parent.parent.name}: {catalogue.percent_translated()}% translated")
