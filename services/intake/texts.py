"""Worker-facing texts in the workers' languages, from gettext catalogues (Babel).

Catalogues live in ``services/intake/locale/<language>/LC_MESSAGES/<domain>.po``: the
``chat`` domain holds what the chat channels say (``services/intake/messages.py`` lists
its message ids, English source text with ``{placeholders}``), the ``pages`` domain the
worker page. The ``.po`` files are read at start-up and compiled in memory, so there is
no build step and no ``.mo`` file to forget. A message missing in a language is a test
failure (tests/unit/test_texts.py), never a silent English fallback in production.
"""
from __future__ import annotations

import functools
from pathlib import Path

from babel.support import Translations

from shared.catalogues import compiled, read_catalogue

LOCALE_DIR = Path(__file__).with_name("locale")
# English, and the languages of the migrant workers the operator serves (DOMAIN.md):
# Burmese, Khmer, Lao, Nepali, Thai.
LANGUAGES = ("en", "my", "km", "lo", "ne", "th")
DEFAULT_LANGUAGE = "en"


def language_of(tag: str | None) -> str:
    """The catalogue language for a language tag ("th-TH" -> "th"); English if we have none."""
    base = (tag or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def catalogue(domain: str, language: str):
    """The Babel catalogue of one domain and language (for tests and tools)."""
    return read_catalogue(LOCALE_DIR, domain, language)


@functools.lru_cache(maxsize=None)
def translations(domain: str, language: str) -> Translations:
    """gettext-compatible translations (also what Jinja2's i18n extension takes)."""
    return compiled(catalogue(domain, language_of(language)), domain)


def say(message: str, language: str | None, domain: str = "chat", **params) -> str:
    """One message in the worker's language, with its placeholders filled."""
    text = translations(domain, language_of(language)).gettext(message)
    return text.format(**params) if params else text
