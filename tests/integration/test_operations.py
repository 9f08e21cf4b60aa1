"""Operations: health and metrics endpoints of every process, and that stopping a
service mid-work (SIGTERM, or a crash) loses nothing and applies nothing twice."""
import signal
import time

import eventlet

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import post_grievance, publisher, report, unique
from tests.integration.test_reliability import grievance_event

pytestmark = pytest.mark.integration


def sample(text: str, name: str, **labels) -> float:
    """A sample's value in a /metrics answer; 0 when it is not there yet."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_every_service_is_live_ready_and_exports_metrics(stack):
    def metrics(name):
        return requests.get(stack.procs[name].ops_url + "/metrics", timeout=5).text

    # (process, sample, labels) that one report must move: counted, not merely named.
    moved = [("intake", "ilm_events_published_total", {"event_type": "grievance.received"}),
             ("intake", "ilm_entrypoint_seconds_count", {"entrypoint": "submit_grievance", "kind": "http"}),
             ("remediation", "ilm_events_consumed_total", {"event_type": "grievance.received", "outcome": "ok"}),
             ("notifications", "ilm_events_consumed_total", {"event_type": "case.status_changed", "outcome": "ok"})]
    before = [sample(metrics(proc), name, **labels) for proc, name, labels in moved]
    response = post_grievance(stack, report(unique("SUP")))
    assert response.status_code == 201
    for name, proc in stack.procs.items():
        live = requests.get(proc.ops_url + "/livez", timeout=5)
        assert live.status_code == 200, (name, live.text)
        ready = requests.get(proc.ops_url + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["broker"] == "ok" and ready.json()["store"] == "ok", ready.text
        assert requests.get(proc.ops_url + "/nope", timeout=5).status_code == 404

    for (proc, name, labels), was in zip(moved, before):
        eventually(lambda: sample(metrics(proc), name, **labels) >= was + 1)
    eventually(lambda: sample(metrics("remediation"), "ilm_open_cases", status="received") >= 1, timeout=30)
    assert 'ilm_overdue_deadlines{deadline="acknowledge"}' in metrics("remediation")     # a gauge, set by its timer


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_stopping_mid_work_loses_nothing(stack, how):
    supplier = unique("SUP")
    refs = [unique("ILM") for _ in range(500)]
    relay = publisher()
    # Published while the service is stopped: the stop lands mid-work however fast
    # remediation keeps up with the publisher (it once finished 300 before the stop).
    publishing = eventlet.spawn(lambda: [relay.publish(grievance_event(ref, supplier)) for ref in refs])
    cases = database("remediation")["cases"]

    def processed():
        return cases.count_documents({"supplier_ref": supplier})

    eventually(lambda: processed() > 0, timeout=20)
    proc = stack.procs["remediation"]
    if how == "sigterm":
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(30) == 0
        stopped_in = time.monotonic() - started
        assert '"service_stopped"' in proc.log_path.read_text()
        assert stopped_in < 15, f"a graceful stop took {stopped_in:.1f} s"      # workers finish, nothing waits
    else:
        proc.kill()
    at_stop = processed()
    publishing.wait()
    print(f"{how}: {at_stop}/{len(refs)} processed at the stop")
    stack.start("remediation")     # before any assertion: a failure must not leave it down
    restarted_at = stack.procs["remediation"]._offset
    assert at_stop < len(refs), "stopped too late to prove anything: raise the event count"

    eventually(lambda: processed() == len(refs), timeout=120)
    time.sleep(1)
    assert processed() == len(refs)
    docs = list(cases.find({"supplier_ref": supplier}))
    assert sorted(d["_id"] for d in docs) == sorted(refs)
    assert all([a["action"] for a in d["audit"]] == ["open"] for d in docs)
    # Whatever was written but not yet published before the stop is relayed after it.
    eventually(lambda: cases.count_documents({"supplier_ref": supplier, "outbox_pending": True}) == 0, timeout=30)
    # Graceful: the work in flight was finished and acknowledged, what was only fetched
    # went back to the queue untouched, so the restarted process redoes nothing. A kill
    # may leave done-but-unacknowledged work, which comes back and is recognised.
    ours = set(refs)
    with open(stack.procs["remediation"].log_path, "rb") as log:
        log.seek(restarted_at)
        redone = [line for line in log.read().decode().splitlines()
                  if '"case_already_open"' in line and any(ref in line for ref in ours)]
    print(f"{how}: {len(redone)} events already applied came back after the restart")
    if how == "sigterm":
        assert redone == []
