"""Every user-facing string has a Finnish and a Swedish translation, and the compiled catalogues are current."""

from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0])


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_translations__every_message_translated(language: str) -> None:
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in catalogue if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert missing == [], f"{len(missing)} messages lack a {language} translation: {missing[:10]}"


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_translations__compiled_catalogue_matches_source(language: str) -> None:
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    mo = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))

    def entries(catalogue: polib._BaseFile) -> dict[tuple[str, str], str]:
        return {(e.msgctxt or "", e.msgid): e.msgstr or repr(sorted(e.msgstr_plural.items()))
                for e in catalogue if e.msgid and (e.msgstr or any(e.msgstr_plural.values()))
                and "fuzzy" not in getattr(e, "flags", []) and not getattr(e, "obsolete", False)}

    assert entries(mo) == entries(po), "run: polku compile_translations"


def test_translations__every_marked_string_in_source_is_in_the_catalogue() -> None:
    """makemessages must have been run after the last change of a user-facing string."""
    import ast
    import re

    catalogue = {e.msgid for e in polib.pofile(str(LOCALE / "fi" / "LC_MESSAGES" / "django.po"))}
    pattern = re.compile(r'''(?<![\w.`])_\(\s*"((?:[^"\\]|\\.)*)"\s*\)''')
    source = Path(settings.BASE_DIR)
    missing = []
    for path in source.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for match in pattern.finditer(path.read_text()):
            text = ast.literal_eval(f'"{match.group(1)}"') if "\\" in match.group(1) else match.group(1)
            if text not in catalogue:
                missing.append(f"{path.name}: {text}")
    assert missing == [], missing[:10]
