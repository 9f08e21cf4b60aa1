"""Rendering the console: Jinja2 over templates/, texts from the ``console`` gettext
catalogue (locale/<lang>/LC_MESSAGES/console.po; English and Thai), autoescaped.
The language: ?lang= (then kept in a cookie), the cookie, else Accept-Language."""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from pathlib import Path

from shared.catalogues import compiled, read_catalogue
from shared.contracts.common import BUSINESS_TYPES, CASE_STATES, OTHER_CHANNELS, SEVERITIES, VALIDATION_ANSWERS, WORK_AREAS
from shared.page_views import page_environment

HERE = Path(__file__).parent
LOCALE_DIR, TEMPLATES, STATIC = HERE / "locale", HERE / "templates", HERE / "static"
LANGUAGES = ("en", "th")
LANGUAGE_NAMES = {"en": "English", "th": "ภาษาไทย"}
LANG_COOKIE = "ilm_console_lang"


@functools.lru_cache(maxsize=None)
def translations(language: str):
    return compiled(read_catalogue(LOCALE_DIR, "console", language), "console")


@functools.lru_cache(maxsize=None)
def environment(language: str):
    env = page_environment(TEMPLATES, translations(language), languages=LANGUAGES, language_names=LANGUAGE_NAMES,
                           case_states=CASE_STATES, severities=SEVERITIES, work_areas=WORK_AREAS,
                           business_types=BUSINESS_TYPES, other_channels=OTHER_CHANNELS,
                           validation_answers=VALIDATION_ANSWERS)
    env.filters["age"] = age
    return env


def render(template: str, language: str, **context) -> str:
    return environment(language).get_template(template).render(lang=language, **context)


def language_of(request) -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else request.accept_languages.best_match(LANGUAGES, default="en")


def age(iso_time: str | None, now: datetime | None = None) -> str:
    """How long ago, compactly: 3d 4h, 5h 10m, 7m (for the queue's oldest-first reading)."""
    if not iso_time:
        return ""
    then = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    minutes = max(0, int(((now or datetime.now(timezone.utc)) - then).total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    return f"{days}d {hours}h" if days else f"{hours}h {mins}m" if hours else f"{mins}m"
