"""Validation rounds across the service processes (issue 12), through the gateway: a
three-worker case (the reporter plus two workers the case worker adds) where one
"not resolved" reopens remediation with the tally as its reasons, and the second round
passes on answers given in person; nothing but that confirmed round closes the case.

``outreach`` stands in for intake's consumer of ``validation.outreach_requested``
(intake sends the questions; it is built beside this): an event no queue accepts stays
in validation's outbox, so the fixture binds a queue and reads what was asked."""
import json

import pytest
from kombu import Connection, Queue

from scripts.demo import remediate, until
from shared.outbox import event_exchange
from tests.integration.conftest import eventually
from tests.integration.helpers import key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def outreach(stack):
    queue = Queue("test-validation-outreach", event_exchange("validation"),
                  routing_key="validation.outreach_requested.v1", durable=False, auto_delete=False)
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.channel()).declare()
    yield lambda ref: _asked(stack, queue, ref)
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.channel()).delete()


_seen: list = []


def _asked(stack, queue, ref: str) -> list:
    """The outreach requests for case ``ref`` published so far."""
    with Connection(stack.env["AMQP_URI"]) as conn:
        bound = queue(conn.channel())
        while (message := bound.get(no_ack=True)) is not None:
            body = message.payload if isinstance(message.payload, dict) else json.loads(message.body)
            _seen.append(body)
    return [e["data"] for e in _seen if e["case_ref"] == ref]


def test_three_workers_one_not_resolved_reopens_and_the_second_round_passes(stack, staff, outreach):
    supplier = unique("SUP")
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    cw, case = staff["case_worker"], f"/v1/cases/{ref}"
    sup = key_for(staff, stack, supplier, "supplier")
    eventually(lambda: cw.call("GET", case).status_code == 200)
    reporter = cw.ok("GET", case)["worker_key"]
    eventually(lambda: cw.call("GET", f"{case}/validation").status_code == 200)   # grievance.received applied
    others = ["wk_" + unique("W").lower().replace("-", "") for _ in range(2)]
    for key in others:
        added = cw.call("POST", f"{case}/affected-workers", {"worker_key": key})
        assert added.status_code == 201 and added.json()["added"] is True
    assert sup.call("POST", f"{case}/affected-workers", {"worker_key": "wk_x1"}).status_code == 403

    remediate(cw, sup, ref, supplier, say=lambda _: None)
    first = eventually(lambda: cw.ok("GET", f"{case}/validation")["rounds"] or None)[0]
    assert sorted(first["asked"]) == sorted([reporter, *others]) and first["status"] == "open"
    (ask,) = eventually(lambda: outreach(ref))
    assert sorted(ask["worker_keys"]) == sorted(first["asked"]) and ask["remedy_actions"] == ["back_pay"]
    assert sup.call("POST", f"{case}/validation/answers",
                    {"worker_key": reporter, "answer": "confirmed"}).status_code == 403   # never a business

    def visit(key, answer):
        got = cw.call("POST", f"{case}/validation/answers", {"worker_key": key, "answer": answer, "note": "visit"})
        assert got.status_code == 201, got.text
        return got.json()

    visit(reporter, "confirmed")
    assert visit(reporter, "not_resolved")["answer"] == "duplicate"    # a second answer changes nothing
    visit(others[0], "not_resolved")                                   # quorum 2: 1 of 2 not resolved
    until(cw, ref, "remediating")
    reopen = next(a for a in reversed(cw.ok("GET", case)["audit"]) if a["action"] == "reopen")
    assert reopen["detail"]["tally"] == {"confirmed": 1, "partly": 0, "not_resolved": 1, "unsafe": 0}
    assert "detail" not in sup.ok("GET", case)["audit"][-1]            # the reasons stay with staff

    sup.ok("POST", f"{case}/remediation-reports", {"summary": "The rest paid", "evidence": ["slip-2.pdf"]})
    until(cw, ref, "validating")
    eventually(lambda: len(cw.ok("GET", f"{case}/validation")["rounds"]) == 2)
    visit(others[1], "confirmed")
    assert cw.ok("GET", case)["status"] == "validating"                # one answer: below the quorum
    visit(others[0], "confirmed")
    until(cw, ref, "closed")

    rounds = cw.ok("GET", f"{case}/validation")["rounds"]
    assert [r["status"] for r in rounds] == ["not_resolved", "confirmed"]
    assert rounds[1]["decision"]["answered"] == 2 and rounds[1]["decision"]["quorum"] == 2
    assert all(a["channel"] == "in_person" and a["recorded_by"]["role"] == "case_worker"
               for r in rounds for a in r["answers"])
    actions = [a["action"] for a in cw.ok("GET", case)["audit"] if a["action"] != "visit_answer_recorded"]
    assert actions[-4:] == ["reopen", "report_remediation", "start_validation", "close"]
    # Each in-person answer is on the case's trail too, as recorded by the case worker.
    visits = eventually(lambda: len(v := [a for a in cw.ok("GET", case)["audit"]
                                          if a["action"] == "visit_answer_recorded"]) == 4 and v)
    assert sorted((a["detail"]["round_no"], a["detail"]["answer"]) for a in visits) == [
        (1, "confirmed"), (1, "not_resolved"), (2, "confirmed"), (2, "confirmed")]
    assert {a["actor"]["role"] for a in visits} == {"case_worker"}
    assert "visit_answer_recorded" not in {a["action"] for a in sup.ok("GET", case)["audit"]}


def test_a_rerun_is_refused_while_a_round_is_open_and_staff_only(stack, staff, outreach):
    supplier = unique("SUP")
    ref = post_grievance(stack, report(supplier)).json()["case_ref"]
    cw, case = staff["case_worker"], f"/v1/cases/{ref}"
    sup = key_for(staff, stack, supplier, "supplier")
    remediate(cw, sup, ref, supplier, say=lambda _: None)
    assert sup.call("POST", f"{case}/validation/rerun", {"reason": "please"}).status_code == 403
    refused = cw.call("POST", f"{case}/validation/rerun", {"reason": "no answers yet"})
    assert refused.status_code == 409, refused.text
    assert cw.ok("GET", case)["status"] == "validating"
