"""Run the whole system locally and drive one grievance through it.

    python -m scripts.demo               # start everything, run the demo, keep running
    python -m scripts.demo --exit        # ... and stop after the demo (CI, smoke tests)

Starts RabbitMQ if it is down, the embedded Mongo server (data in .local/mongo,
kept across runs), the services as separate processes (logs in .local/logs),
and a local webhook receiver standing in for a brand's endpoint. Then one worker's
grievance goes from the HTTP report to closure, and its timeline is printed.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # the RPC client below needs green sockets

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import requests  # noqa: E402

from scripts.stack import (  # noqa: E402
    ROOT, EmbeddedMongo, Stack, add_service_users, create_vhost, dev_keys, ensure_rabbitmq, wait_for,
)
from scripts.webhook_receiver import WebhookReceiver  # noqa: E402

LOCAL = ROOT / ".local"
# The local run's own vhost, with a user per service (ilm-intake@ilm-local...) whose
# password is new each run; this process's clients stay the admin user.
LOCAL_VHOST = "ilm-local"
DEMO_REPORT = {
    "channel": "line", "language": "my", "work_area": "working_conditions",
    "text": "Forty of us have not been paid overtime for three months.",
    "contact": {"name": "Aung Aung", "phone": "+66 81 555 0199"},
    "site_ref": "SITE-SAMUT-7",
}


def case_worker():
    from shared.auth import Principal
    return Principal("cw-anna", "case_worker")


def registry_admin():
    from shared.auth import Principal
    return Principal("admin-demo", "admin")


class Actors:
    """One RPC client per principal, each call signed as the door that vouches for
    that principal would sign it (the dev keyring): ``actors(principal).remediation...``."""

    def __init__(self, stack):
        self.stack, self.clients = stack, {}

    def __call__(self, principal):
        if principal not in self.clients:
            self.clients[principal] = self.stack.acting_as(principal).start()
        return self.clients[principal]

    def close(self):
        for client in self.clients.values():
            client.stop()


def walk_through(intake_url: str, actors, hook_url: str, supplier: str, say=print,
                 correlation_id: str | None = None) -> dict:
    """The demo grievance's journey. Returns what a caller needs to check it."""
    from scripts.parties import link_partner
    from shared.auth import Principal
    staff = actors(case_worker())
    sup = actors(Principal(supplier, "supplier"))
    brand = actors(Principal("BRAND-DEMO", "partner"))

    def status():
        return staff.remediation.get_case({"case_ref": ref})["status"]

    def until(wanted):
        wait_for(lambda: status() == wanted, 20, f"case {ref} to reach {wanted}")

    def worker_answers(answer, text=None):
        requests.post(f"{intake_url}/grievances/{ref}/validation-answers", timeout=10,
                      json={"receipt": receipt, "answer": answer, "text": text}).raise_for_status()

    link_partner(actors(registry_admin()), "BRAND-DEMO", supplier)
    say(f"an admin registered partner BRAND-DEMO as sourcing from {supplier} in the party registry")
    hook = brand.notifications.register_webhook({
        "url": hook_url, "event_types": ["case.status_changed", "retaliation.reported"]})
    say(f"partner BRAND-DEMO subscribed its webhook for its supply chain ({hook['subscription_id']})")

    report = dict(DEMO_REPORT, supplier_ref=supplier)
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    response = requests.post(f"{intake_url}/grievances", json=report, timeout=10, headers=headers)
    response.raise_for_status()
    ref, receipt = response.json()["case_ref"], response.json()["receipt"]
    say(f"worker reported a grievance over LINE: case {ref}, severity {response.json()['severity']}; "
        f"their receipt: {receipt}")
    wait_for(lambda: staff.remediation.get_case({"case_ref": ref}), 20, "case to open")

    cmd = {"case_ref": ref}
    steps = [
        ("case worker triaged it", lambda: staff.remediation.triage({**cmd, "severity": "high"})),
        (f"case worker referred it to supplier {supplier}", lambda: staff.remediation.refer(
            {**cmd, "business_ref": supplier, "business_type": "supplier"})),
        ("supplier acknowledged", lambda: sup.remediation.acknowledge(cmd)),
        ("supplier submitted a plan: back pay for 40 workers", lambda: sup.remediation.submit_plan({**cmd, "actions": [{
            "type": "back_pay", "description": "Pay 3 months of overtime", "owner": "HR manager",
            "due_date": "2026-12-15", "amount": "120000.00", "currency": "THB", "workers_count": 40}]})),
        ("case worker accepted the plan", lambda: staff.remediation.accept_plan(cmd)),
        ("supplier reported remediation done", lambda: sup.remediation.report_remediation(
            {**cmd, "summary": "Back pay transferred", "evidence": ["bank-slip-1.pdf"]})),
    ]
    for text, call in steps:
        call()
        say(text)
    until("validating")
    say("validation opened a round with the workers")
    worker_answers("not_resolved", "Only half was paid.")
    until("remediating")
    say("worker answered 'not resolved' with their receipt: the case is reopened")
    sup.remediation.report_remediation({**cmd, "summary": "Remainder paid", "evidence": ["bank-slip-2.pdf"]})
    until("validating")
    say("supplier reported the remainder paid; a second validation round opened")
    worker_answers("confirmed")
    until("closed")
    say("worker confirmed the remedy is real: the case is closed")
    worker_key = staff.remediation.get_case(cmd)["worker_key"]
    return {"case_ref": ref, "secret": hook["secret"], "report": report, "worker_key": worker_key,
            "receipt": receipt}


def print_timeline(case: dict, hooks: list, secret: str) -> None:
    from services.notifications.domain import verify
    print(f"\nTimeline of case {case['case_ref']} (audit trail, service remediation):")
    for a in case["audit"]:
        print(f"  {a['at']}  {a['actor']['role']:<12} {a['action']:<20} {a['from'] or '-':>21} -> {a['to']}")
    print(f"\nWebhooks received by the partner's endpoint ({len(hooks)}):")
    now = datetime.now(timezone.utc)
    for h in sorted(hooks, key=lambda h: h.json["data"].get("case_version", 0)):
        ok = "signature ok" if verify(secret, h.headers, h.body, now) else "SIGNATURE INVALID"
        print(f"  {h.headers['webhook-id']}  {h.json['type']:<20} -> {h.json['data'].get('to_status', ''):<21} {ok}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    LOCAL.mkdir(exist_ok=True)
    env = dict(os.environ, **dev_keys(LOCAL / "keys.env"))
    env.setdefault("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    ensure_rabbitmq(env["AMQP_URI"])
    broker = env["AMQP_URI"]
    env["AMQP_URI"] = create_vhost(broker, LOCAL_VHOST)
    env.update(add_service_users(broker, LOCAL_VHOST))
    mongo = None
    if "MONGO_URI" not in os.environ:
        mongo = EmbeddedMongo(LOCAL / "mongo", port=args.mongo_port).start()
        env["MONGO_URI"] = mongo.uri
        print(f"embedded Mongo server (nx-27017) on {mongo.uri}, data in {mongo.data_dir}")
    os.environ.update(env)   # this process's RPC client and checks use the same settings
    stack = Stack(env, LOCAL / "logs", args.http_port)
    receiver = WebhookReceiver()
    try:
        stack.start()
        print(f"services running: intake HTTP on {stack.intake_url}; logs in {stack.log_dir}")
        actors = Actors(stack)
        try:
            supplier = "SUP-DEMO-" + datetime.now(timezone.utc).strftime("%H%M%S")
            started = time.monotonic()
            result = walk_through(stack.intake_url, actors, receiver.url("/brand-demo"), supplier,
                                  say=lambda text: print(f"[{time.monotonic() - started:6.2f}s] {text}"))
            case = actors(case_worker()).remediation.get_case({"case_ref": result["case_ref"]})
            hooks = receiver.wait("/brand-demo", lambda got: len(got) >= len(case["audit"]), timeout=20)
            print_timeline(case, hooks, result["secret"])
        finally:
            actors.close()
        if args.exit:
            return 0
        print(f"\nThe system keeps running: POST grievances to {stack.intake_url}/grievances. Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        receiver.close()
        if mongo:
            mongo.stop()


def _parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exit", action="store_true", help="stop everything after the demo")
    p.add_argument("--http-port", type=int, default=int(os.environ.get("ILM_HTTP_PORT", 8000)))
    p.add_argument("--mongo-port", type=int, default=int(os.environ.get("ILM_MONGO_PORT", 27017)))
    return p


if __name__ == "__main__":
    sys.exit(main())
