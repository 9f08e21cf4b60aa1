"""Rendering server-side pages: a Jinja2 environment over a templates folder with one
gettext catalogue (autoescaped, i18n), and the files of a static folder by bare name."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape


def page_environment(templates: Path, translations, **globals_) -> Environment:
    env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations, newstyle=True)
    env.globals.update(globals_)
    return env


def static_file(folder: Path, name: str) -> bytes | None:
    """A file of ``folder`` by its bare name (no path: nothing else is reachable)."""
    path = folder / name
    return path.read_bytes() if "/" not in name and not name.startswith(".") and path.is_file() else None
