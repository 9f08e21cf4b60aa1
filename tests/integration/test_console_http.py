"""The console's doors over HTTP against the running gateway (services/gateway/console):
headers on every page, the session cookie's flags, CSRF on every form (login too),
idle expiry, a case worker's read-only queue, and no console for a business key."""
import re

import pytest
import requests

from services.gateway.console.session import SESSION_COOKIE
from services.gateway.sessions import StaffTokens
from scripts.stack import signing_keys
from shared.auth import parse_signing_key
from shared.page_http import CSRF_COOKIE, SECURITY_HEADERS
from tests.integration.helpers import PASSWORD, key_for, unique

pytestmark = pytest.mark.integration


def form_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10, allow_redirects=False)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login(stack, username: str, start: str = "/console/alerts") -> requests.Session:
    s = requests.Session()
    url = f"{stack.gateway_url}/console/login"
    answer = s.post(url, data={"username": username, "password": PASSWORD, "csrf_token": form_token(s, url)},
                    timeout=20, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(start), answer.text
    return s


@pytest.fixture(scope="module")
def worker_account(staff):
    name = unique("console-cw").lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": "case_worker", "password": PASSWORD})
    return name


def test_pages_carry_the_strict_headers_and_no_store(stack):
    page = requests.get(f"{stack.gateway_url}/console/login", timeout=10)
    assert page.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    assert "script-src" not in page.headers["Content-Security-Policy"]     # default-src 'none': no script
    assert "<script" not in page.text


def test_login_needs_the_forms_csrf_token_and_sets_a_strict_httponly_cookie(stack, worker_account):
    s = requests.Session()
    url = f"{stack.gateway_url}/console/login"
    form_token(s, url)
    refused = s.post(url, data={"username": worker_account, "password": PASSWORD}, timeout=20,
                     allow_redirects=False)
    assert refused.status_code == 403 and SESSION_COOKIE not in refused.headers.get("Set-Cookie", "")

    wrong = s.post(url, data={"username": worker_account, "password": "not the password at all",
                              "csrf_token": form_token(s, url)}, timeout=20, allow_redirects=False)
    assert wrong.status_code == 401 and SESSION_COOKIE not in wrong.headers.get("Set-Cookie", "")

    ok = s.post(url, data={"username": worker_account, "password": PASSWORD, "csrf_token": form_token(s, url)},
                timeout=20, allow_redirects=False)
    cookie = next(c for c in ok.raw.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= flags and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "secure" not in flags          # plain http, and X-Forwarded-Proto is not trusted without the flag


def test_forms_without_the_csrf_token_are_refused(stack, worker_account):
    s = login(stack, worker_account)
    for path, data in (("/console/logout", {"x": "1"}), ("/console/alerts/A-1/acknowledgement", {"note": "x"}),
                       ("/console/cases/ILM-00000000/triage", {"severity": "high"})):
        answer = s.post(f"{stack.gateway_url}{path}", data=data, timeout=10, allow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code)


def test_an_expired_or_foreign_session_goes_to_the_login_page(stack, staff, worker_account):
    expired = StaffTokens(parse_signing_key(signing_keys(stack.env)["gateway"]), ttl=-5).issue(
        worker_account, "case_worker")["access_token"]
    business = key_for(staff, stack, unique("SUP"), "supplier").session.headers["Authorization"].split()[1]
    for credential in (expired, business, "nonsense"):
        answer = requests.get(f"{stack.gateway_url}/console/alerts", cookies={SESSION_COOKIE: credential},
                              timeout=10, allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/console/login")


def test_a_case_worker_reads_the_queue_without_acknowledging(stack, worker_account):
    s = login(stack, worker_account)
    queue = s.get(f"{stack.gateway_url}/console/alerts", timeout=10)
    assert queue.status_code == 200 and 'action="/console/alerts/' not in queue.text
    renewed = queue.headers.get("Set-Cookie", "")
    assert SESSION_COOKIE in renewed and CSRF_COOKIE in renewed          # the session slides: idle expiry
    token = re.search(r'name="csrf_token" value="([^"]+)"', queue.text).group(1)
    refused = s.post(f"{stack.gateway_url}/console/alerts/A-1/acknowledgement", data={"csrf_token": token},
                     timeout=10)
    assert refused.status_code in (403, 404)       # the owner refuses a case worker (before looking the alert up)
    logged_out = s.post(f"{stack.gateway_url}/console/logout", data={"csrf_token": token}, timeout=10,
                        allow_redirects=False)
    assert logged_out.status_code == 303 and f"{SESSION_COOKIE}=;" in logged_out.headers["Set-Cookie"]


def test_a_key_issued_on_the_page_is_shown_once_works_and_is_revoked_from_the_page(stack, worker_account):
    s = login(stack, worker_account)
    party = unique("SUP")
    keys_url = f"{stack.gateway_url}/console/keys"
    issued = s.post(keys_url, data={"party_ref": party, "role": "supplier", "label": "ERP <script>",
                                    "csrf_token": form_token(s, keys_url)}, timeout=20)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    key = re.search(r'id="issued-key">(ilmk_[^<]+)<', issued.text).group(1)
    assert "ERP &lt;script&gt;" in issued.text and "<script" not in issued.text
    api = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{stack.gateway_url}/v1/cases", headers=api, timeout=10).status_code == 200
    listed = s.get(f"{keys_url}?party_ref={party}", timeout=10).text
    assert key not in listed                                     # never shown again
    key_id = re.search(r'data-key="(key_[0-9a-f]+)"', listed).group(1)
    revoked = s.post(f"{keys_url}/{key_id}/revocation", data={"csrf_token": form_token(s, keys_url)}, timeout=10)
    assert revoked.status_code == 200 and "revoked" in revoked.url
    after = s.get(f"{keys_url}?party_ref={party}", timeout=10).text
    assert f'data-key="{key_id}"' in after and f"/console/keys/{key_id}/revocation" not in after
    assert requests.get(f"{stack.gateway_url}/v1/cases", headers=api, timeout=10).status_code == 401


def test_the_webhook_log_page_asks_the_owner(stack, worker_account):
    s = login(stack, worker_account)
    blank = s.get(f"{stack.gateway_url}/console/webhooks", timeout=10)
    assert blank.status_code == 200 and 'id="subscription_id"' in blank.text
    missing = s.get(f"{stack.gateway_url}/console/webhooks?subscription_id=sub_<b>nope", timeout=10)
    assert missing.status_code in (400, 403, 404) and "<b>nope" not in missing.text and "&lt;b&gt;nope" in missing.text


def test_an_admin_starts_at_the_keys_and_the_case_owner_refuses_them_the_queue(stack, staff):
    name = unique("console-admin").lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": "admin", "password": PASSWORD})
    s = login(stack, name, start="/console/keys")
    keys = s.get(f"{stack.gateway_url}/console/keys", timeout=10)
    assert keys.status_code == 200 and 'href="/console/alerts"' not in keys.text
    assert s.get(f"{stack.gateway_url}/console/alerts", timeout=10).status_code == 403
