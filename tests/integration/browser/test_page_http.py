"""The worker page over plain HTTP (no browser) at the running intake process: the
security headers, no script anywhere, the CSRF check, every language's start page."""
import requests

from shared.page_http import SECURITY_HEADERS
from services.intake.page_views import LANGUAGE_NAMES
from services.intake.texts import LANGUAGES, translations


def test_pages_carry_the_security_headers_and_no_script(stack):
    s = requests.Session()
    for path in ("/app", "/app/th", "/app/th/report", "/app/th/case"):
        answer = s.get(f"{stack.intake_url}{path}", timeout=10)
        assert answer.status_code == 200
        assert {k: answer.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
        assert "<script" not in answer.text.lower() and "javascript:" not in answer.text.lower()
    css = s.get(f"{stack.intake_url}/app/static/app.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_a_post_without_the_csrf_token_is_403_and_stores_nothing(stack, rpc):
    form = {"text": "no token", "work_area": "working_conditions"}
    answer = requests.post(f"{stack.intake_url}/app/th/report", data=form, timeout=10)
    assert answer.status_code == 403
    assert translations("pages", "th").gettext("The form was too old or incomplete. Please send it again.") \
        in answer.text
    assert 'id="case-ref"' not in answer.text


def test_every_languages_start_page_renders(stack):
    for lang in LANGUAGES:
        answer = requests.get(f"{stack.intake_url}/app", headers={"Accept-Language": lang}, timeout=10)
        assert answer.status_code == 200 and f'<html lang="{lang}">' in answer.text
        assert translations("pages", lang).gettext("Choose your language") in answer.text
        assert all(name in answer.text for name in LANGUAGE_NAMES.values())
