"""Deadlines that escalate, across real processes (issue 11): each level of a missed
deadline is published once even when remediation dies between claiming it (the
case's guarded write) and publishing it; the overdue list answers from the real store.

How the test reaches that window: remediation runs with its broker link through a TCP
proxy (scripts/tcp_proxy.py) that the test cuts before the first level falls due. The
timer needs no broker, so the process claims level 1 (the write with its audit entry
and its event in the outbox) but cannot publish it; the test sees the claim in the
store, SIGKILLs the process, and starts it again on a working link. This is the
window a real crash or partition leaves, reached without any fault-injection switch in
the production code and without timing a kill against a publish that takes
milliseconds. Compressed settings: deadlines of 0 days (due when they start) and
levels 0 s, 40 s and 45 s after the due.

Counting: a queue bound to remediation's exchange receives every
``case.deadline_escalated``. The outbox publishes at least once (a relay and a sweep
may both send an event, with the same event id, which consumers skip), so "exactly
once" is one event id per level and no level fired twice on the audit trail."""
import json
import subprocess
import sys
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from kombu import Connection, Queue

from scripts.stack import ROOT, ServiceProcess, broker_uris
from shared.contracts.events import CASE_DEADLINE_ESCALATED
from shared.outbox import event_exchange
from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import grievance_event, key_for, publisher, unique

pytestmark = pytest.mark.integration
# Level 1 at the due, levels 2 and 3 after 40 s and 45 s: after the restart, whatever
# the time two restarts take on a busy machine.
COMPRESSED = {"DEADLINES_NORMAL": "0,0,0", "ESCALATION_LEVEL_HOURS": "0,0.0111,0.0125"}


@pytest.fixture
def remediation(stack):
    """``start(sweep_seconds, amqp_uri=None)``: remediation (re)started with the
    compressed settings; afterwards the stack's own remediation is back."""
    def start(sweep_seconds: float, amqp_uri: str | None = None) -> ServiceProcess:
        stack.procs["remediation"].stop()
        env = stack.service_env("remediation") | COMPRESSED | {"ESCALATION_SWEEP_INTERVAL": str(sweep_seconds)}
        if amqp_uri:
            env["AMQP_URI"] = amqp_uri
        proc = stack.procs["remediation"] = ServiceProcess("remediation", env, stack.log_dir).start()
        proc.wait_ready()
        return proc
    yield start
    stack.procs["remediation"].kill()     # at once, even on a dead link (nothing is lost by a crash)
    stack.start("remediation")


@pytest.fixture
def escalations(stack):
    """``escalations(case_ref)``: the case.deadline_escalated events published so far."""
    queue = Queue(f"test-escalations-{uuid.uuid4().hex[:8]}", event_exchange("remediation"),
                  routing_key=CASE_DEADLINE_ESCALATED.routing_key, durable=False, auto_delete=False)
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.channel()).declare()
    seen = []

    def published(case_ref: str) -> list[dict]:
        with Connection(stack.env["AMQP_URI"]) as conn:
            bound = queue(conn.channel())
            while (message := bound.get(no_ack=True)) is not None:
                seen.append(message.payload if isinstance(message.payload, dict) else json.loads(message.body))
        return [e for e in seen if e["case_ref"] == case_ref]
    yield published
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue(conn.channel()).delete()


@contextmanager
def broker_link(uri: str):
    """``(uri through the link, cut)``: remediation's broker URI through a TCP proxy
    (scripts/tcp_proxy.py) in a process of its own, with real threads: in this
    eventlet-patched test process its pipes would compete with the test's own sockets.
    ``cut()`` kills it: every link drops and new connections are refused."""
    url = urlsplit(uri)
    proxy = subprocess.Popen([sys.executable, "-c", PROXY, url.hostname, str(url.port or 5672)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        port = int(proxy.stdout.readline())
        yield urlunsplit(url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{port}")), proxy.kill
    finally:
        proxy.kill()
        proxy.wait()


PROXY = ("import sys, time; from scripts.tcp_proxy import TcpProxy; "
         "p = TcpProxy(sys.argv[1], int(sys.argv[2])); print(p.port, flush=True); time.sleep(600)")


def test_each_level_is_published_once_when_the_process_dies_between_claim_and_publish(
        stack, staff, rpc, remediation, escalations):
    supplier, ref = unique("SUP"), unique("ILM")
    cases = database("remediation")["cases"]
    # 1. A case referred with a deadline due at once, by a remediation whose timer does not run.
    remediation(sweep_seconds=3600)
    publisher().publish(grievance_event(ref, supplier))
    eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    rpc.remediation.triage({"case_ref": ref})
    rpc.remediation.refer({"case_ref": ref, "business_ref": supplier, "business_type": "supplier"})
    with broker_link(broker_uris(stack.env)["remediation"]) as (through_link, cut):
        # 2. A remediation whose link is cut once it has started (its first sweep is 3 s
        # later, and it serves no call that a cut could break) claims level 1: stored,
        # not published.
        proc = remediation(sweep_seconds=3, amqp_uri=through_link)
        cut()
        assert "level" not in cases.find_one({"_id": ref})["deadlines"]["acknowledge"], "claimed before the cut"
        claimed = eventually(lambda: (doc := cases.find_one({"_id": ref}))["deadlines"]["acknowledge"].get("level")
                             and doc)
        in_outbox = [e for e in claimed["outbox"] if e["event_type"] == CASE_DEADLINE_ESCALATED.name]
        assert claimed["outbox_pending"] and [e["data"]["level"] for e in in_outbox] == [1]
        proc.kill()     # the crash (a SIGTERM would wait on consumers reconnecting to a dead link)
    assert escalations(ref) == []                       # nothing got out before the crash

    # 3. Restarted: level 1 leaves the outbox, levels 2 and 3 fire at their time, each once.
    restarted = remediation(sweep_seconds=0.5)
    eventually(lambda: {e["data"]["level"] for e in escalations(ref)} == {1, 2, 3}, timeout=60)
    eventually(lambda: not cases.find_one({"_id": ref})["outbox_pending"])
    events = escalations(ref)
    ids_per_level = {level: {e["event_id"] for e in events if e["data"]["level"] == level} for level in (1, 2, 3)}
    assert all(len(ids) == 1 for ids in ids_per_level.values()), ids_per_level
    assert ids_per_level[1] == {in_outbox[0]["event_id"]}      # the event claimed before the crash
    trail = [a["detail"]["level"] for a in cases.find_one({"_id": ref})["audit"] if a["action"] == "deadline_escalated"]
    assert trail == [1, 2, 3]
    assert all(e["data"]["business_ref"] == supplier and "worker_key" not in e["data"] for e in events)

    # 4. The business's overdue list (at the gateway) and scorecard, from the real store.
    overdue = key_for(staff, stack, supplier, "supplier").ok("GET", f"/v1/scorecards/{supplier}/overdue")
    assert [(i["case_ref"], i["deadline"], i["level"]) for i in overdue["items"]] == [(ref, "acknowledge", 3)]
    card = eventually(lambda: (c := rpc.remediation.supplier_scorecard({"business_ref": supplier}))
                      ["flagged_for_consequences"] == 1 and c)
    assert card["deadlines_missed"] == 1 and card["deadlines_met_share"] == 0.0

    def gauge(level: int) -> float:
        text = requests.get(restarted.ops_url + "/metrics", timeout=5).text
        return next(float(line.split()[-1]) for line in text.splitlines()
                    if line.startswith(f'ilm_escalated_cases{{level="{level}"}}'))
    eventually(lambda: gauge(3) >= 1)


def test_the_overdue_route_keeps_to_the_scorecards_scope(stack, staff):
    """GET /v1/scorecards/<ref>/overdue at the gateway: staff and the business itself
    read it, another business and a partner outside the chain are refused."""
    supplier = unique("SUP")
    path = f"/v1/scorecards/{supplier}/overdue"
    own, other = key_for(staff, stack, supplier, "supplier"), key_for(staff, stack, unique("SUP"), "supplier")
    stranger = key_for(staff, stack, unique("BRAND"), "partner")
    assert staff["case_worker"].ok("GET", path) == {"items": [], "next": None}
    assert own.ok("GET", path, params={"limit": 10}) == {"items": [], "next": None}
    assert other.call("GET", path).status_code == 403
    assert stranger.call("GET", path).status_code == 403
    assert own.call("GET", path, params={"limit": 0}).status_code == 400
