"""The gateway across real processes: the first admin made with the ``ilm`` command
line, staff logging in, API keys issued, used, revoked; every call forwarded to the
owner of the data as the authenticated principal."""
import subprocess
import sys

import pytest

from scripts.api_client import Api
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, key_for, make_admin, post_grievance, report, unique

pytestmark = pytest.mark.integration


def test_the_cli_refuses_a_taken_name_and_a_short_password(stack, staff):
    name = unique("admin").lower()
    assert make_admin(name).returncode == 0
    assert make_admin(name).returncode == 1                       # taken
    short = subprocess.run([sys.executable, "-m", "services.gateway.cli", "admin", "create", unique("x").lower(),
                            "--password-stdin"], input="short\n", capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "password" in short.stderr


def test_login_is_refused_alike_for_a_wrong_password_and_an_unknown_account(stack, staff):
    for username in (unique("nobody").lower(), "no-such-user"):
        answer = Api(stack.gateway_url).call("POST", "/v1/auth/login", {"username": username, "password": "x" * 12})
        assert answer.status_code == 401
    assert Api(stack.gateway_url, "not-a-token").call("GET", "/v1/reports/public").status_code == 401
    assert Api(stack.gateway_url).call("GET", "/v1/reports/public").status_code == 401


def test_a_supplier_key_acts_on_its_referred_case_and_stops_working_once_revoked(stack, staff):
    supplier = unique("SUP")
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    cw = staff["case_worker"]
    eventually(lambda: cw.call("GET", f"/v1/cases/{ref}").status_code == 200)
    cw.ok("POST", f"/v1/cases/{ref}/triage", {"severity": "high"})
    sup = key_for(staff, stack, supplier, "supplier")
    assert sup.call("GET", f"/v1/cases/{ref}").status_code == 403          # not referred to it yet
    cw.ok("POST", f"/v1/cases/{ref}/referral", {"business_ref": supplier, "business_type": "supplier"})
    view = sup.ok("GET", f"/v1/cases/{ref}")
    assert view["status"] == "referred" and "worker_key" not in view
    assert sup.ok("POST", f"/v1/cases/{ref}/acknowledgement", {"note": "on it"})["status"] == "acknowledged"
    assert cw.ok("GET", f"/v1/cases/{ref}")["audit"][-1]["actor"] == {"id": supplier, "role": "supplier"}

    keys = cw.ok("GET", "/v1/api-keys", params={"party_ref": supplier})["items"]
    (key,) = keys
    assert key["last_used_at"] and "api_key" not in key and "key_digest" not in key
    cw.ok("DELETE", f"/v1/api-keys/{key['key_id']}")
    assert sup.call("GET", f"/v1/cases/{ref}").status_code == 401


def test_a_deactivated_account_s_token_stops_working_at_once(stack, staff):
    name = unique("leaver").lower()
    staff["admin"].ok("POST", "/v1/staff", {"username": name, "role": "case_worker", "password": PASSWORD})
    leaver = Api.login(stack.gateway_url, name, PASSWORD)
    assert leaver.call("GET", "/v1/cases", params={"limit": 1}).status_code == 200   # any call it may make
    assert staff["case_worker"].call("DELETE", f"/v1/staff/{name}").status_code == 403
    assert staff["admin"].ok("DELETE", f"/v1/staff/{name}")["active"] is False
    assert leaver.call("GET", "/v1/cases", params={"limit": 1}).status_code == 401       # the same, unexpired token
    assert Api(stack.gateway_url).call("POST", "/v1/auth/login", {"username": name, "password": PASSWORD}
                                       ).status_code == 401


def test_only_an_admin_makes_staff_accounts_and_only_staff_issue_keys(stack, staff):
    new = {"username": unique("x").lower(), "role": "admin", "password": PASSWORD}
    assert staff["case_worker"].call("POST", "/v1/staff", new).status_code == 403
    sup = key_for(staff, stack, unique("SUP"), "supplier")
    assert sup.call("POST", "/v1/staff", new).status_code == 403
    assert sup.call("POST", "/v1/api-keys", {"party_ref": "SUP-X", "role": "partner", "label": "me"}).status_code == 403
    assert sup.call("GET", "/v1/api-keys").status_code == 403


def test_staff_reissue_a_lost_receipt_and_the_old_one_stops_working(stack, staff):
    created = post_grievance(stack, report(unique("SUP"))).json()
    ref, old = created["case_ref"], created["receipt"]
    new = staff["case_worker"].ok("POST", f"/v1/cases/{ref}/receipt", {"reason": "worker lost the phone"})["receipt"]
    assert new != old
    door = f"{stack.intake_url}/grievances/{ref}/status"
    import requests
    assert requests.post(door, json={"receipt": old}, timeout=10).status_code == 401
    assert requests.post(door, json={"receipt": new}, timeout=10).status_code == 200
    sup = key_for(staff, stack, unique("SUP"), "supplier")
    assert sup.call("POST", f"/v1/cases/{ref}/receipt", {"reason": "let me in"}).status_code == 403


def test_staff_who_work_in_the_workers_language_are_listed_for_an_assignment(stack, staff):
    speaker, other = unique("my-speaker").lower(), unique("th-speaker").lower()
    admin = staff["admin"]
    made = admin.ok("POST", "/v1/staff", {"username": speaker, "role": "case_worker", "password": PASSWORD,
                                          "languages": ["my", "th"]})
    assert made["languages"] == ["my", "th"]
    admin.ok("POST", "/v1/staff", {"username": other, "role": "case_worker", "password": PASSWORD})
    bad = admin.call("POST", "/v1/staff", {"username": unique("x").lower(), "role": "case_worker",
                                           "password": PASSWORD, "languages": ["Burmese"]})
    assert bad.status_code == 400 and "languages.0" in bad.json()["errors"]         # the field named

    def speakers(language):
        return {s["username"] for s in staff["case_worker"].ok("GET", "/v1/staff", params={"language": language})["items"]}
    assert speaker in speakers("my") and other not in speakers("my")
    # The person sets their own languages; another case worker may not.
    them = Api.login(stack.gateway_url, other, PASSWORD)
    assert them.ok("POST", f"/v1/staff/{other}/languages", {"languages": ["my"]})["languages"] == ["my"]
    assert other in speakers("my")
    assert them.call("POST", f"/v1/staff/{speaker}/languages", {"languages": []}).status_code == 403
    supplier = key_for(staff, stack, unique("SUP"), "supplier")
    assert supplier.call("GET", "/v1/staff").status_code == 403            # colleagues' names are staff's
