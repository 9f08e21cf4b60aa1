"""gettext catalogues (Babel) read from ``.po`` files and compiled in memory at
start-up: no build step and no ``.mo`` file to forget. Used by the worker texts
(services/intake/texts.py) and the staff console (services/gateway/console/)."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations


def read_catalogue(locale_dir: Path, domain: str, language: str):
    """The Babel catalogue of ``<locale_dir>/<language>/LC_MESSAGES/<domain>.po``."""
    with open(Path(locale_dir) / language / "LC_MESSAGES" / f"{domain}.po", "rb") as f:
        return read_po(f, locale=language, domain=domain)


def compiled(catalogue, domain: str) -> Translations:
    """gettext-compatible translations of a catalogue (also what Jinja2's i18n extension takes)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer, domain=domain)
