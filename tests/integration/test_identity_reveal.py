"""Identity reveal, consent and the hash-chained trail across the real processes: a
case worker reads the worker's words and contact with a reason; the reveal is on
intake's trail and, through ``identity.revealed``, on the case's staff-only
timeline; the business reads the contact only once the worker's consent is
recorded; nothing opened is stored or logged; after erasure nothing is revealed;
the verify command names a tampered entry of the stored case."""
import json
import os
import subprocess
import sys

import pytest
import requests

from tests.integration.conftest import eventually
from tests.integration.helpers import key_for, post_grievance, report, unique
from shared.repository import database

pytestmark = pytest.mark.integration
WORDS = "Forty of us have not been paid since the rains came"
SECRETS = (WORDS, "Aung Aung", "81 555 0199", "66815550199", "aungaung99")
REASON = "call the worker back to plan the site visit"


def verify_command(ref: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.remediation.audit_check", "verify", ref],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


def test_reveal_is_audited_consent_scoped_erasable_and_the_chain_names_tampering(stack, staff):
    supplier = unique("SUP")
    answer = post_grievance(stack, report(supplier, text=WORDS))
    assert answer.status_code == 201, answer.text
    ref, receipt = answer.json()["case_ref"], answer.json()["receipt"]
    cw, lead = staff["case_worker"], staff["safeguarding_lead"]
    case = f"/v1/cases/{ref}"
    eventually(lambda: cw.call("GET", case).status_code == 200)
    cw.ok("POST", f"{case}/triage", {"severity": "high"})
    cw.ok("POST", f"{case}/referral", {"business_ref": supplier, "business_type": "supplier"})
    business, partner = key_for(staff, stack, supplier, "supplier"), key_for(staff, stack, unique("BRAND"), "partner")

    # A reason is required; partners never; the business not without the worker's consent.
    no_reason = cw.call("POST", f"{case}/identity-reveals", {"reason": "  "})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    assert partner.call("POST", f"{case}/identity-reveals", {"reason": REASON}).status_code == 403
    seen = []       # (a Response is falsy when it is an error)
    eventually(lambda: seen.append(business.call("POST", f"{case}/identity-reveals", {"reason": REASON}))
               or (seen[-1].status_code == 403 and "consent" in seen[-1].text))
    assert "Aung" not in seen[-1].text

    # Staff read the words and the contact; the reveal lands on both trails.
    for who in (cw, lead):
        shown = who.ok("POST", f"{case}/identity-reveals", {"reason": REASON})
        assert shown["text"] == WORDS and shown["contact"]["phone"] == "+66 81 555 0199"
    timeline = eventually(lambda: [a for a in cw.ok("GET", case)["audit"] if a["action"] == "identity_revealed"]
                          if len([a for a in cw.ok("GET", case)["audit"]
                                  if a["action"] == "identity_revealed"]) == 2 else None)
    assert [a["actor"]["role"] for a in timeline] == ["case_worker", "safeguarding_lead"]
    assert all(a["detail"] == {"basis": "staff_role"} for a in timeline)
    assert "identity_revealed" not in json.dumps(business.ok("GET", case))
    trail = database("intake")["grievances"].find_one({"_id": ref})["audit"]
    assert [(a["action"], a["reason"]) for a in trail] == [("reveal_identity", REASON)] * 2

    # With the worker's consent recorded, the business reads the contact (not the words), audited.
    cw.ok("POST", f"{case}/consent", {"how": "hotline"})
    shown = business.ok("POST", f"{case}/identity-reveals", {"reason": "repay the recruitment fee"})
    assert shown["contact"]["name"] == "Aung Aung" and "text" not in shown
    eventually(lambda: any(a["actor"]["role"] == "supplier" and a["detail"]["basis"] == "worker_consent"
                           for a in cw.ok("GET", case)["audit"] if a["action"] == "identity_revealed"))
    # The worker withdraws that consent at the receipt door: the business is refused again.
    door = f"{stack.intake_url}/grievances/{ref}/consent"
    assert requests.post(door, json={"receipt": "1111-2222", "given": False}, timeout=10).status_code == 401
    withdrawn = requests.post(door, json={"receipt": receipt, "given": False}, timeout=10)
    assert withdrawn.status_code == 200 and withdrawn.json()["consent_to_share_identity"] is False
    assert business.call("POST", f"{case}/identity-reveals", {"reason": REASON}).status_code == 403

    # The chain holds, by the staff route and the command.
    verified = cw.ok("GET", f"{case}/audit-verification")
    assert verified["intact"] and verified["entries"] >= 5 and verified["chained_from"] == 0
    assert business.call("GET", f"{case}/audit-verification").status_code == 403
    intact = verify_command(ref)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert json.loads(intact.stdout)["head"] == verified["head"]
    assert verify_command("ILM-NOSUCHONE").returncode == 2

    # Nothing opened is stored or logged anywhere.
    for service in ("intake", "gateway", "remediation", "validation", "notifications"):
        db = database(service)
        for name in db.list_collection_names():
            dump = json.dumps(list(db[name].find()), default=str)
            assert not [s for s in SECRETS if s in dump], f"identity stored in clear in {service}.{name}"
    for name, proc in stack.procs.items():
        text = proc.log_path.read_text()
        assert not [s for s in SECRETS if s in text] and REASON not in text, f"identity or reason logged by {name}"

    # The worker withdraws and asks to be erased: nothing can be revealed any more.
    gone = requests.post(f"{stack.intake_url}/grievances/{ref}/withdrawal", timeout=10,
                         json={"receipt": receipt, "reason": "I found another job", "delete_my_data": True})
    assert gone.status_code == 200, gone.text
    erased = cw.call("POST", f"{case}/identity-reveals", {"reason": REASON})
    assert erased.status_code == 404 and "erased" in erased.text

    # Someone edits a stored entry behind the services' back: the command names it.
    cases = database("remediation")["cases"]
    doc = cases.find_one({"_id": ref})
    doc["audit"][2]["detail"]["business_ref"] = "SUP-SOMEONE-ELSE"
    cases.replace_one({"_id": ref}, doc)
    tampered = verify_command(ref)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    found = json.loads(tampered.stdout)["first_bad"]
    assert found["index"] == 2 and found["action"] == "refer" and "edited" in found["problem"]
    doc = cases.find_one({"_id": ref})
    del doc["audit"][1]
    cases.replace_one({"_id": ref}, doc)
    removed = cw.ok("GET", f"{case}/audit-verification")
    assert not removed["intact"] and removed["first_bad"]["index"] == 1

