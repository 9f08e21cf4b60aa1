"""The worker's door beyond the report: status and withdrawal, proved by the receipt.
Intake and remediation are two real containers; intake calls remediation over RPC
(RabbitMQ, the interface vhost) as the worker, with a token it signed itself."""
import pytest
import requests
from nameko.testing.services import entrypoint_hook

from services.intake.domain import Grievance
from shared.contracts.events import GRIEVANCE_RECEIVED, make_event
from tests.fakes import unit_of_work

REPORT = {"channel": "line", "language": "my", "work_area": "working_conditions",
          "text": "No overtime pay for three months.", "supplier_ref": "SUP-1"}


def report_and_open(doors):
    url, _, remediation, _, grievances = doors
    body = requests.post(f"{url}/grievances", json=REPORT, timeout=5).json()
    (event,) = grievances.relay.published
    with entrypoint_hook(remediation, "on_grievance_received") as opened:
        opened(make_event(GRIEVANCE_RECEIVED, body["case_ref"], event["data"], "c"))
    return body["case_ref"], body["receipt"]


def test_the_worker_reads_their_status_and_withdraws_with_the_receipt(doors):
    opened = doors(unit_of_work(Grievance))
    url, cases = opened.url, opened.cases
    ref, receipt = report_and_open(opened)
    status = requests.post(f"{url}/grievances/{ref}/status", json={"receipt": receipt}, timeout=10)
    assert status.status_code == 200, status.text
    assert status.json() == {"case_ref": ref, "status": "received", "opened_at": status.json()["opened_at"],
                             "updated_at": status.json()["updated_at"], "validation_open": False}
    done = requests.post(f"{url}/grievances/{ref}/withdrawal", json={"receipt": receipt, "reason": "settled"},
                         timeout=10)
    assert done.status_code == 200 and done.json()["status"] == "withdrawn", done.text
    last = cases.repo.load(ref)["audit"][-1]
    assert last["action"] == "withdraw" and last["actor"]["role"] == "worker"


@pytest.mark.parametrize("path,extra", [("status", {}), ("withdrawal", {"reason": "not mine"})])
def test_a_wrong_receipt_reads_and_changes_nothing(doors, path, extra):
    opened = doors(unit_of_work(Grievance))
    url, cases = opened.url, opened.cases
    ref, receipt = report_and_open(opened)
    wrong = "0" * 20 if receipt != "0" * 20 else "1" * 20
    for case_ref in (ref, "ILM-NOSUCHCASE"):    # the same answer whether or not the case exists
        answer = requests.post(f"{url}/grievances/{case_ref}/{path}", json={"receipt": wrong, **extra}, timeout=10)
        assert answer.status_code == 401 and answer.json()["type"].endswith("/not-recognised")
    assert cases.repo.load(ref)["status"] == "received"
