"""An operator works the dead-letter queue with ``python -m shared.dead_letters``: a
real event dead-lettered by a real consumer is listed and shown without worker
identity, and once its cause is fixed, replayed by id and applied exactly once."""
import json
import os
import subprocess
import sys
from urllib.parse import urlparse

import pytest
import requests
from kombu import Connection, Exchange

from scripts.stack import ROOT
from shared import broker_users
from shared.contracts.events import GRIEVANCE_RECEIVED, VALIDATION_ROUND_OPENED, iso, make_event, utc_now
from shared.dead_letters import DeadLetterQueue
from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import consumer_queues, grievance_event, publisher, unique

pytestmark = pytest.mark.integration


def ops(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AMQP_URI": stack.env["AMQP_URI"], "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "shared.dead_letters", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)


def dead_letters_of(stack, *event_ids: str) -> dict:
    """{event id: [summary, ...]} of the letters in the queue now (given back on exit)."""
    with DeadLetterQueue(stack.env["AMQP_URI"]) as dlq:
        found = {}
        for letter in dlq.letters:
            if letter.event_id in event_ids:
                found.setdefault(letter.event_id, []).append(letter.summary())
        return found


def drop(stack, event_id: str) -> None:
    with DeadLetterQueue(stack.env["AMQP_URI"]) as dlq:
        for letter in dlq.letters:
            if letter.event_id == event_id:
                letter.message.ack()


def test_dead_letter_is_listed_shown_without_identity_and_replayed_once_its_cause_is_fixed(stack, rpc):
    relay = publisher()
    # 1. A round opened for a case remediation does not know: NotFound, dead-lettered at once.
    ref = unique("ILM")
    opened = make_event(VALIDATION_ROUND_OPENED, ref, {"round_no": 1, "opened_at": iso(utc_now())},
                        correlation_id=f"dlq-{ref}")
    relay.publish(opened)
    # A grievance whose data holds an undeclared free-text field: both consumers refuse it.
    poison = grievance_event(unique("ILM"), unique("SUP"))
    poison["data"]["note"] = "Aung Aung, +66 81 555 0199"
    with Connection(stack.env["AMQP_URI"]) as conn:
        conn.Producer().publish(poison, exchange=Exchange("intake.events", type="topic", durable=True),
                                routing_key="grievance.received.v1", serializer="json", delivery_mode=2)
    poisoned = consumer_queues(GRIEVANCE_RECEIVED)      # every consumer refuses it: one letter each
    found = eventually(lambda: (lambda f: f if len(f.get(opened["event_id"], [])) == 1
                                and len(f.get(poison["event_id"], [])) == len(poisoned) else None)(
        dead_letters_of(stack, opened["event_id"], poison["event_id"])))
    # Each service's /metrics counts what waits (its timer recounts every METRICS_REFRESH_INTERVAL).
    def waiting() -> float:
        text = requests.get(stack.procs["validation"].ops_url + "/metrics", timeout=5).text
        return max([float(line.split()[-1]) for line in text.splitlines() if line.startswith("ilm_dead_letters ")]
                   or [0.0])
    eventually(lambda: waiting() >= 3)
    (summary,) = found[opened["event_id"]]
    assert summary["event_type"] == "validation.round_opened" and summary["reason"] == "rejected"
    assert summary["queue"].startswith("evt-validation-validation.round_opened.v1--remediation.")
    assert summary["count"] == 1 and summary["first_death"]

    # 2. list and show never print the worker key nor the free text.
    listed = ops(stack, "list")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {opened["event_id"], poison["event_id"]} <= {line["event_id"] for line in lines}
    shown = ops(stack, "show", poison["event_id"])
    assert shown.returncode == 0, shown.stderr
    for secret in (poison["data"]["worker_key"], "Aung", "555 0199"):
        assert secret not in listed.stdout + shown.stdout + shown.stderr
    assert '"severity": "normal"' in shown.stdout        # the rest of the envelope is shown

    # 3. A letter that fails its contract is not replayed: it stays.
    refused = ops(stack, "replay", "--event-id", poison["event_id"], "--operator", "ops-test")
    assert refused.returncode == 1 and json.loads(refused.stdout)["skipped"] == {
        poison["event_id"]: "fails its contract"}

    # 4. The cause is fixed: the case exists and its remediation is reported (written
    # straight to the store here; in production, the walk of the case).
    publisher().publish(grievance_event(ref, unique("SUP")))
    eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    database("remediation")["cases"].update_one({"_id": ref}, {"$set": {"status": "remediation_reported"},
                                                                "$inc": {"_rev": 1}})
    replayed = ops(stack, "replay", "--event-id", opened["event_id"], "--operator", "ops-test")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout) == {"replayed": [opened["event_id"]], "skipped": {}}
    logged = [json.loads(line) for line in replayed.stderr.splitlines() if "dead_letter_replayed" in line]
    assert [(x["event_id"], x["event_type"], x["operator"]) for x in logged] == [
        (opened["event_id"], "validation.round_opened", "ops-test")]

    case = eventually(lambda: (lambda c: c if c["status"] == "validating" else None)(
        rpc.remediation.get_case({"case_ref": ref})))
    assert [a["action"] for a in case["audit"]].count("start_validation") == 1
    found = dead_letters_of(stack, opened["event_id"], poison["event_id"])
    assert opened["event_id"] not in found and len(found[poison["event_id"]]) == len(poisoned)  # only what was chosen
    # Delivered again (the same event id): recognised and applied once.
    publisher().publish(opened)
    log = stack.procs["remediation"].log_path
    eventually(lambda: sum(f'"correlation_id": "dlq-{ref}"' in line and "case_event_duplicate" in line
                           for line in log.read_text().splitlines()) == 1)
    again = rpc.remediation.get_case({"case_ref": ref})
    assert again["version"] == case["version"] and again["audit"] == case["audit"]
    drop(stack, poison["event_id"])


def test_the_dead_letter_queue_has_the_retention_policy(stack):
    """The local run imports the policy with the users (scripts/stack.py): the broker
    applies it to the declared queue, whose arguments stay as they were."""
    vhost = urlparse(stack.env["AMQP_URI"]).path.lstrip("/")

    def rabbitmqctl(*args):
        return [row.split("\t") for row in subprocess.run(
            ["rabbitmqctl", "-q", *args, "-p", vhost, "--no-table-headers"], capture_output=True, text=True,
            timeout=60, check=True).stdout.splitlines()]
    queues = rabbitmqctl("list_queues", "name", "policy")
    assert [broker_users.DEAD_LETTER_QUEUE, broker_users.RETENTION_POLICY] in queues
    (policy,) = [row for row in rabbitmqctl("list_policies") if row[1] == broker_users.RETENTION_POLICY]
    assert json.loads(policy[4]) == {"message-ttl": int(broker_users.retention_days() * 86_400_000)}
