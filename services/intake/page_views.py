"""Rendering the worker page: one Jinja2 environment per language (cached), its texts
from the ``pages`` gettext catalogue (services/intake/texts.py), autoescaped."""
from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment

from services.intake.texts import LANGUAGES, translations
from shared.contracts.common import WORK_AREAS
from shared import page_views

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
# Each language named in itself, for the start page.
LANGUAGE_NAMES = {"en": "English", "my": "မြန်မာဘာသာ", "km": "ភាសាខ្មែរ", "lo": "ພາສາລາວ",
                  "ne": "नेपाली", "th": "ภาษาไทย"}
assert set(LANGUAGE_NAMES) == set(LANGUAGES)


@functools.lru_cache(maxsize=None)
def environment(language: str) -> Environment:
    return page_views.page_environment(TEMPLATES, translations("pages", language), languages=LANGUAGES,
                                       language_names=LANGUAGE_NAMES, work_areas=WORK_AREAS)


def render(template: str, language: str, **context) -> str:
    return environment(language).get_template(template).render(lang=language, **context)


def preferred_language(request) -> str:
    """The best of our languages for the browser's Accept-Language (English if none)."""
    return request.accept_languages.best_match(LANGUAGES, default="en")


def static_file(name: str) -> bytes | None:
    """A file of the static folder by its bare name (no path: nothing else is reachable)."""
    return page_views.static_file(STATIC, name)
