"""The worker page's texts: pages.pot is what pybabel extracts from the templates
(services/intake/babel-pages.cfg), and every language's pages.po translates exactly
those ids, with the same placeholders, nothing fuzzy or empty."""
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from services.intake.page_views import render
from services.intake.texts import LANGUAGES, LOCALE_DIR, catalogue

INTAKE = Path(__file__).resolve().parents[2] / "services" / "intake"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def extracted() -> set[str]:
    with open(INTAKE / "babel-pages.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    return {msg[2] for msg in extract_from_dir(str(INTAKE), method_map, options_map)}


def ids(cat) -> set[str]:
    return {m.id for m in cat if m.id}


def test_the_template_pot_is_what_the_templates_say():
    with open(LOCALE_DIR / "pages.pot", "rb") as f:
        pot = read_po(f)
    assert ids(pot) == extracted(), ("regenerate: pybabel extract -F services/intake/babel-pages.cfg --no-location "
                                     "--sort-output -o services/intake/locale/pages.pot services/intake")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_translates_every_page_text(lang):
    cat = catalogue("pages", lang)
    assert ids(cat) == extracted()
    for m in cat:
        if m.id:
            assert m.string and not m.fuzzy, m.id
            assert PLACEHOLDER.findall(m.id) == PLACEHOLDER.findall(m.string), m.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_render_without_script_and_escape_what_the_worker_typed(lang):
    typed = {"text": "<script>alert(1)</script>", "case_ref": '"><b>'}
    for template in ("start.html", "home.html", "report.html", "case.html"):
        page = render(template, lang, values=typed, csrf="t", fields=["text"], error="fields")
        assert f'<html lang="{lang}">' in page and "<script" not in page and '"><b>' not in page
