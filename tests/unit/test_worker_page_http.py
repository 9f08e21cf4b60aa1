"""The worker page's form bodies and CSRF check (shared/page_http.py) on
werkzeug requests built in memory."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.page_http import CSRF_COOKIE, CsrfRefused, check_csrf, csrf_token, read_form
from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"


def request(body: bytes = b"", content_type: str = FORM, cookie: str | None = None) -> Request:
    headers = {"Cookie": f"{CSRF_COOKIE}={cookie}"} if cookie else {}
    return Request(EnvironBuilder(method="POST", data=body, content_type=content_type, headers=headers).get_environ())


def test_a_form_is_read_as_utf8_first_value_wins():
    form = read_form(request("text=%E0%B8%99%E0%B8%B2%E0%B8%A2+a%0D%0Ab&text=second&empty=".encode()))
    assert form == {"text": "นาย a\nb", "empty": ""}


@pytest.mark.parametrize("body,content_type,error", [
    (b"text=x", "application/json", UnsupportedMediaType),
    (b"text=x", f"{FORM}; charset=latin-1", UnsupportedMediaType),
    (b"text=" + b"x" * 100, FORM, PayloadTooLarge),
    (b"text=%FF%FE", FORM, InvalidInput),                       # not UTF-8
    ("text=นาย".encode(), FORM, InvalidInput),                  # raw bytes, not form-encoded
    (b"&".join(b"f%d=1" % i for i in range(50)), FORM, InvalidInput),   # too many fields
])
def test_bodies_that_are_not_small_utf8_forms_are_refused(body, content_type, error):
    with pytest.raises(error):
        read_form(request(body, content_type), max_bytes=50 if error is PayloadTooLarge else 64 * 1024)


def test_the_csrf_token_must_match_the_cookie():
    token = csrf_token(request())
    assert len(token) == 43 and csrf_token(request(cookie=token)) == token     # a browser keeps its token
    assert csrf_token(request(cookie="short")) != "short"
    check_csrf(request(cookie=token), {"csrf_token": token})
    for cookie, field in ((token, ""), (None, token), (token, token[:-1] + "x"), ("", "")):
        with pytest.raises(CsrfRefused):
            check_csrf(request(cookie=cookie), {"csrf_token": field})
