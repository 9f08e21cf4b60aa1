"""Case work as a team through the gateway, across the real processes: a staff member
enrols in two-factor login and logs in with a TOTP code (computed here by pyotp); a
colleague's cases are all handed to another in one call; a business sees only the
notes addressed to it; an admin reads who viewed the case; a note to the worker
arrives at the (fake) chat provider on the worker's own chat."""
import os
import time

import pyotp
import pytest
import requests

from scripts.api_client import Api
from scripts.chat_worker import ChatWorker, case_and_receipt
from tests.integration.conftest import eventually
from tests.integration.helpers import PASSWORD, key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration


def login(stack, username, otp=None):
    body = {"username": username, "password": PASSWORD, **({"otp": otp} if otp else {})}
    return requests.post(f"{stack.gateway_url}/v1/auth/login", json=body, timeout=20)


def test_two_factor_login_hand_over_and_scoped_notes(stack, staff, providers):
    admin, cw = staff["admin"], staff["case_worker"]
    name = unique("tfa").lower()
    admin.ok("POST", "/v1/staff", {"username": name, "role": "case_worker", "password": PASSWORD})
    member = Api(stack.gateway_url, login(stack, name).json()["access_token"])
    secret = member.ok("POST", "/v1/auth/two-factor")["secret"]
    totp = pyotp.TOTP(secret)
    assert member.ok("POST", "/v1/auth/two-factor/confirmation", {"otp": totp.now()})["access_token"]
    assert login(stack, name).status_code == 401                     # the password alone no longer does
    code = totp.at(time.time() + 30)                                  # the next step: the first one is spent
    assert login(stack, name, code).status_code == 200
    assert login(stack, name, code).status_code == 401                # replayed

    leaver, successor, supplier = unique("leaver").lower(), unique("successor").lower(), unique("SUP")
    refs = [post_grievance(stack, report(supplier)).json()["case_ref"] for _ in range(3)]
    for ref in refs:
        eventually(lambda: cw.call("GET", f"/v1/cases/{ref}").status_code == 200)
        cw.ok("POST", f"/v1/cases/{ref}/assignment", {"assignee": leaver})
    moved = cw.ok("POST", "/v1/case-hand-overs", {"from_assignee": leaver, "to_assignee": successor})
    assert moved["moved"] == 3 and sorted(moved["case_refs"]) == sorted(refs)
    listed = cw.ok("GET", "/v1/cases", params={"assignee": successor, "limit": 10})["items"]
    assert sorted(c["case_ref"] for c in listed) == sorted(refs)

    ref = refs[0]
    cw.ok("POST", f"/v1/cases/{ref}/triage", {"severity": "high"})
    cw.ok("POST", f"/v1/cases/{ref}/referral", {"business_ref": supplier, "business_type": "supplier"})
    for scope in ("internal", "private", "business", "partner"):
        assert cw.call("POST", f"/v1/cases/{ref}/notes", {"scope": scope, "text": f"{scope} note"}).status_code == 201
    sup = key_for(staff, stack, supplier, "supplier")
    assert [n["text"] for n in sup.ok("GET", f"/v1/cases/{ref}")["notes"]] == ["business note"]
    assert len(cw.ok("GET", f"/v1/cases/{ref}")["notes"]) == 4
    logged = admin.ok("GET", f"/v1/cases/{ref}/access-log", params={"limit": 200})["items"]
    assert {(e["actor"]["id"], e["action"]) for e in logged} >= {(supplier, "view")}
    assert [e["actor"]["role"] for e in logged].count("case_worker") >= 2

    worker = ChatWorker("line", stack.intake_url, providers, os.environ)
    worker.send("ค่าจ้างของฉันถูกหักโดยไม่มีเหตุผล")
    chat_ref, _ = case_and_receipt(worker.next_reply())
    eventually(lambda: cw.call("GET", f"/v1/cases/{chat_ref}").status_code == 200)
    sent = cw.call("POST", f"/v1/cases/{chat_ref}/worker-messages", {"text": "เราได้รับเรื่องของคุณแล้ว"})
    assert sent.status_code == 202 and sent.json()["channel"] == "line"
    assert worker.next_reply(containing="เราได้รับเรื่องของคุณแล้ว")
