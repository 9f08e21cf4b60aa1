"""Intake's HTTP door in-process: real HTTP requests to a real nameko container
whose grievance store is an in-memory fake (the vault is real: keys from the env)."""
import requests

from shared.repository import DuplicateKeyError
from tests.fakes import FakeRepository

REPORT = {"channel": "line", "language": "my", "work_area": "working_conditions",
          "text": "No overtime pay for three months.", "contact": {"phone": "+66 81 555 0199"},
          "supplier_ref": "SUP-1"}


def test_a_report_is_stored_and_answered_with_its_reference(intake):
    url, grievances = intake()
    response = requests.post(f"{url}/grievances", json=REPORT, timeout=5)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "received" and body["retaliation_alert"] is False
    assert set(grievances.repo.docs) == {body["case_ref"]}
    assert grievances.relay.types() == ["grievance.received"]


def test_bad_input_names_the_field_and_stores_nothing(intake):
    url, grievances = intake()
    response = requests.post(f"{url}/grievances", json={**REPORT, "work_area": "gardening"}, timeout=5)
    assert response.status_code == 400 and set(response.json()["errors"]) == {"work_area"}
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://ilm.example/problems/invalid-input"
    assert grievances.repo.docs == {}


def test_a_follow_up_with_the_receipt_reporting_reprisal_raises_an_alert(intake):
    url, grievances = intake()
    created = requests.post(f"{url}/grievances", json=REPORT, timeout=5).json()
    response = requests.post(f"{url}/grievances/{created['case_ref']}/follow-ups", timeout=5,
                             json={"receipt": created["receipt"], "text": "The agent said we will be blacklisted."})
    assert response.status_code == 202 and response.json()["retaliation_alert"] is True
    assert grievances.relay.types() == ["grievance.received", "retaliation.reported", "worker.message_received"]


def test_a_wrong_receipt_and_an_unknown_reference_get_the_same_401_then_a_429(intake):
    """A supplier who read the reference in its own view cannot answer for the worker."""
    url, grievances = intake()
    ref = requests.post(f"{url}/grievances", json=REPORT, timeout=5).json()["case_ref"]
    guess = {"receipt": "0000-0000-0000-0000-0001", "answer": "confirmed"}
    wrong = requests.post(f"{url}/grievances/{ref}/validation-answers", json=guess, timeout=5)
    unknown = requests.post(f"{url}/grievances/ILM-NOPE0000/validation-answers", json=guess, timeout=5)
    assert wrong.status_code == unknown.status_code == 401
    assert {**wrong.json(), "instance": None} == {**unknown.json(), "instance": None}
    assert grievances.relay.types() == ["grievance.received"]
    statuses = [requests.post(f"{url}/grievances/{ref}/validation-answers", json=guess, timeout=5)
                for _ in range(6)]
    locked = statuses[-1]
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1


class EveryReferenceTaken(FakeRepository):
    def insert(self, doc, events=()):
        raise DuplicateKeyError("taken")


def test_no_free_reference_is_a_500_never_a_201(intake):
    url, grievances = intake(EveryReferenceTaken())
    response = requests.post(f"{url}/grievances", json=REPORT, timeout=5)
    assert response.status_code == 500 and "case_ref" not in response.text
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                               "instance": "/grievances"}
    assert grievances.relay.published == []


def test_the_door_takes_the_four_answers_and_unsafe_raises_the_alert(intake):
    url, grievances = intake()
    created = requests.post(f"{url}/grievances", json=REPORT, timeout=5).json()
    answers = {a: requests.post(f"{url}/grievances/{created['case_ref']}/validation-answers", timeout=5,
                                json={"receipt": created["receipt"], "answer": a})
               for a in ("confirmed", "partly", "not_resolved", "unsafe")}
    assert {a: (r.status_code, r.json()["retaliation_alert"]) for a, r in answers.items()} == {
        "confirmed": (202, False), "partly": (202, False), "not_resolved": (202, False), "unsafe": (202, True)}
    assert grievances.relay.types()[-3:] == ["validation.answer_submitted", "retaliation.reported",
                                             "worker.message_received"]
    (alert,) = [e for e in grievances.relay.published if e["event_type"] == "retaliation.reported"]
    assert alert["data"]["raised_from"] == "validation_answer"
    unknown = requests.post(f"{url}/grievances/{created['case_ref']}/validation-answers", timeout=5,
                            json={"receipt": created["receipt"], "answer": "maybe"})
    assert unknown.status_code == 400 and set(unknown.json()["errors"]) == {"answer"}
