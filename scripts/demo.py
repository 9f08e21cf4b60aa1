"""Run the whole system locally and drive one grievance through it.

    python -m scripts.demo               # start everything, run the demo, keep running
    python -m scripts.demo --exit        # ... and stop after the demo (CI, smoke tests)

Starts RabbitMQ if it is down, the embedded Mongo server (data in .local/mongo,
kept across runs), the services as separate processes (logs in .local/logs), a
local webhook receiver standing in for a brand's endpoint, and fake chat providers
standing in for LINE and the other apps' send APIs. Then one worker's grievance goes
from a first LINE message to closure, both sides of the conversation printed, with
every other actor at their real door (staff logins, a supplier's and a partner's API
keys at the gateway); its timeline is printed, and each door with this run's
credentials, ready to paste.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # the RPC client below needs green sockets

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import requests  # noqa: E402

from scripts.stack import (  # noqa: E402
    ROOT, EmbeddedMongo, Stack, add_service_users, create_vhost, dev_keys, ensure_rabbitmq, wait_for,
)
from scripts.api_client import Api  # noqa: E402
from scripts.chat_worker import ChatWorker  # noqa: E402
from scripts.fake_providers import FakeProviders, format_sent  # noqa: E402
from scripts.smtp_sink import SmtpSink  # noqa: E402
from scripts.webhook_receiver import LOCAL_RECEIVER_SETTINGS, WebhookReceiver  # noqa: E402

LOCAL = ROOT / ".local"
# The local run's own vhost, with a user per service (ilm-intake@ilm-local...) whose
# password is new each run; this process's clients stay the admin user.
LOCAL_VHOST = "ilm-local"
DEMO_REPORT = {
    "channel": "line", "language": "my", "work_area": "working_conditions",
    "text": "Forty of us have not been paid overtime for three months.",
    "contact": {"name": "Aung Aung", "phone": "+66 81 555 0199", "line_id": "aung.aung.1990"},
    "site_ref": "SITE-SAMUT-7",
}

# Who the local run's backup channel tells of an alert nobody takes up (see README).
LOCAL_BACKUP_CONTACTS = {"BACKUP_CONTACT_EMAILS": "safeguarding-backup@ilm.local",
                         "BACKUP_CONTACT_PHONES": "+66800000099", "BACKUP_SMS_FROM": "+66200000001"}

# The first message of the demo's chat: a Burmese worker on LINE ("Forty of us have not
# been paid overtime for three months.").
CHAT_REPORT = "ကျွန်တော်တို့ လေးဆယ်ယောက် သုံးလကြာ အချိန်ပို လုပ်ခ မရသေးပါ။"
# Two co-workers write the same ("I have not been paid overtime either.").
CO_WORKER_REPORT = "အချိန်ပို လုပ်ခ ကျွန်တော်လည်း မရသေးပါ။"


def case_worker():
    from shared.auth import Principal
    return Principal("cw-anna", "case_worker")


class Actors:
    """One RPC client per principal, each call signed as the door that vouches for
    that principal would sign it (the dev keyring): ``actors(principal).remediation...``.
    For the tests' raw RPC checks; the demo itself goes through the HTTP doors."""

    def __init__(self, stack):
        self.stack, self.clients = stack, {}

    def __call__(self, principal):
        if principal not in self.clients:
            self.clients[principal] = self.stack.acting_as(principal).start()
        return self.clients[principal]

    def close(self):
        for client in self.clients.values():
            client.stop()


def create_admin(username: str, password: str) -> subprocess.CompletedProcess:
    """The first admin, the way an operator makes one: ``ilm admin create`` (the
    environment's MONGO_URI and MONGO_DB_PREFIX say where)."""
    return subprocess.run([sys.executable, "-m", "services.gateway.cli", "admin", "create", username,
                           "--password-stdin"], input=password + "\n", capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)


def demo_staff(gateway_url: str, suffix: str) -> dict:
    """An admin (made with the command line) and a case worker (made by the admin),
    logged in: API clients, with their passwords for the reader to try."""
    from scripts.api_client import Api
    password = secrets.token_urlsafe(12)
    admin_name, cw_name = f"admin-{suffix}".lower(), f"anna-{suffix}".lower()
    made = create_admin(admin_name, password)
    if made.returncode != 0:
        raise RuntimeError(f"ilm admin create failed: {made.stderr}")
    admin = Api.login(gateway_url, admin_name, password)
    lead_name = f"lek-{suffix}".lower()
    admin.ok("POST", "/v1/staff", {"username": cw_name, "role": "case_worker", "password": password})
    admin.ok("POST", "/v1/staff", {"username": lead_name, "role": "safeguarding_lead", "password": password})
    return {"admin": admin, "case_worker": Api.login(gateway_url, cw_name, password),
            "safeguarding_lead": Api.login(gateway_url, lead_name, password),
            "logins": {"admin": admin_name, "case_worker": cw_name, "safeguarding_lead": lead_name,
                       "password": password}}


def business_chain(stack, staff: dict, hook_url: str, supplier: str, say=print) -> dict:
    """The businesses around a case, as the operator sets them up: a partner sourcing
    from ``supplier`` in the registry, API keys for both, the partner's webhook."""
    from scripts.api_client import Api
    from scripts.parties import chain_projected
    admin, cw = staff["admin"], staff["case_worker"]
    partner = "BRAND-DEMO"
    admin.ok("POST", "/v1/parties", {"ref": partner, "kind": "partner", "name": "Brand Demo Ltd"})
    admin.ok("POST", "/v1/parties", {"ref": supplier, "kind": "supplier", "name": f"Supplier {supplier}"})
    linked = admin.ok("POST", f"/v1/parties/{partner}/links", {"link": "sources_from", "to_ref": supplier})
    wait_for(lambda: chain_projected(partner, linked["chain_version"]), 20, f"{partner}'s chain to reach notifications")
    say(f"admin registered partner {partner} as sourcing from {supplier} in the party registry")
    keys = {ref: cw.ok("POST", "/v1/api-keys", {"party_ref": ref, "role": role, "label": "demo"})["api_key"]
            for ref, role in ((supplier, "supplier"), (partner, "partner"))}
    say(f"case worker issued API keys to {supplier} and {partner}")
    brand = Api(stack.gateway_url, keys[partner])
    hook = brand.ok("POST", "/v1/webhooks", {"url": hook_url, "event_types": [
        "case.status_changed", "retaliation.reported", "case.deadline_escalated"]})
    say(f"partner {partner} subscribed its webhook for its supply chain ({hook['subscription_id']})")
    return {"partner": partner, "keys": keys, "hook": hook, "brand": brand,
            "supplier": Api(stack.gateway_url, keys[supplier])}


def until(cw, ref: str, wanted: str) -> None:
    wait_for(lambda: cw.ok("GET", f"/v1/cases/{ref}")["status"] == wanted, 20, f"case {ref} to reach {wanted}")


def remediate(cw, sup, ref: str, supplier: str, say=print, **triage) -> None:
    """From an open case to the first validation round: triage, referral, the
    supplier's acknowledgement and plan, its acceptance, remediation reported."""
    case = f"/v1/cases/{ref}"
    wait_for(lambda: cw.call("GET", case).status_code == 200, 20, "case to open")
    steps = [
        ("case worker triaged it", lambda: cw.ok("POST", f"{case}/triage", {"severity": "high", **triage})),
        (f"case worker referred it to supplier {supplier}", lambda: cw.ok(
            "POST", f"{case}/referral", {"business_ref": supplier, "business_type": "supplier"})),
        ("supplier acknowledged with its API key", lambda: sup.ok("POST", f"{case}/acknowledgement", {})),
        ("supplier submitted a plan: back pay for 40 workers", lambda: sup.ok("POST", f"{case}/plan", {"actions": [{
            "type": "back_pay", "description": "Pay 3 months of overtime", "owner": "HR manager",
            "due_date": "2026-12-15", "amount": "120000.00", "currency": "THB", "workers_count": 40}]})),
        ("case worker accepted the plan", lambda: cw.ok("POST", f"{case}/plan-acceptance", {})),
        ("supplier reported remediation done", lambda: sup.ok(
            "POST", f"{case}/remediation-reports", {"summary": "Back pay transferred", "evidence": ["bank-slip-1.pdf"]})),
    ]
    for text, call in steps:
        call()
        say(text)
    until(cw, ref, "validating")
    say("validation opened a round with the workers")


def walk_through(stack, staff: dict, hook_url: str, supplier: str, say=print,
                 correlation_id: str | None = None) -> dict:
    """The demo grievance's journey, every step through a door: the worker at intake
    with the receipt; staff at the gateway with a login; the supplier and the partner
    at the gateway with API keys staff issued them. Returns what a caller checks."""
    cw = staff["case_worker"]
    chain = business_chain(stack, staff, hook_url, supplier, say)
    sup, brand = chain["supplier"], chain["brand"]

    def worker_answers(answer, text=None):
        requests.post(f"{stack.intake_url}/grievances/{ref}/validation-answers", timeout=10,
                      json={"receipt": receipt, "answer": answer, "text": text}).raise_for_status()

    report = dict(DEMO_REPORT, supplier_ref=supplier)
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    response = requests.post(f"{stack.intake_url}/grievances", json=report, timeout=10, headers=headers)
    response.raise_for_status()
    ref, receipt = response.json()["case_ref"], response.json()["receipt"]
    say(f"worker reported a grievance over LINE: case {ref}, severity {response.json()['severity']}; "
        f"their receipt: {receipt}")
    remediate(cw, sup, ref, supplier, say)
    case = f"/v1/cases/{ref}"
    worker_answers("not_resolved", "Only half was paid.")
    until(cw, ref, "remediating")
    say("worker answered 'not resolved' with their receipt: the case is reopened")
    sup.ok("POST", f"{case}/remediation-reports", {"summary": "Remainder paid", "evidence": ["bank-slip-2.pdf"]})
    until(cw, ref, "validating")
    say("supplier reported the remainder paid; a second validation round opened")
    worker_answers("confirmed")
    until(cw, ref, "closed")
    say("worker confirmed the remedy is real: the case is closed")
    seen_by_partner = brand.ok("GET", case)
    say(f"partner {chain['partner']} reads the case with its key, redacted: status {seen_by_partner['status']}")
    return {"case_ref": ref, "secret": chain["hook"]["secret"], "report": report, "receipt": receipt,
            "worker_key": cw.ok("GET", case)["worker_key"], "keys": chain["keys"], "partner_view": seen_by_partner}


def chat_walk_through(stack, staff: dict, hook_url: str, supplier: str, workers: list, say=print) -> dict:
    """A group grievance told from the workers' phones (each a scripts/chat_worker.py
    ChatWorker): everything a worker does is a chat message, everything they learn is
    intake's reply on their own chat, in their language. The first worker reports; two
    co-workers who wrote about the same thing are added to the case by the case worker;
    the validation rounds ask all three, and one "not resolved" reopens the case."""
    from scripts.chat_worker import case_and_receipt
    cw = staff["case_worker"]
    chain = business_chain(stack, staff, hook_url, supplier, say)
    sup = chain["supplier"]
    reporter, *co_workers = workers
    reporter.send(CHAT_REPORT)
    ref, receipt = case_and_receipt(reporter.next_reply())
    say(f"the first message opened case {ref}; the reply carried the receipt")
    reporter.send("STATUS")
    reporter.next_reply(containing=ref)
    for co_worker in co_workers:
        co_worker.send(CO_WORKER_REPORT)
        own_ref, _ = case_and_receipt(co_worker.next_reply())
        wait_for(lambda: cw.call("GET", f"/v1/cases/{own_ref}").status_code == 200, 20, "case to open")
        cw.ok("POST", f"/v1/cases/{ref}/affected-workers", {"worker_key": cw.ok("GET", f"/v1/cases/{own_ref}")["worker_key"]})
    say(f"the case worker added the {len(co_workers)} co-workers to case {ref} as affected workers")
    remediate(cw, sup, ref, supplier, say, work_area="working_conditions")
    answer_round(workers, ref, ["NO", "YES", "YES"])
    until(cw, ref, "remediating")
    say("one worker answered NO: the round does not pass and the case is reopened")
    sup.ok("POST", f"/v1/cases/{ref}/remediation-reports", {"summary": "Remainder paid",
                                                            "evidence": ["bank-slip-2.pdf"]})
    until(cw, ref, "validating")
    say("supplier reported the remainder paid; a second round asks the three workers again")
    answer_round(workers, ref, ["YES", "YES", "YES"])
    until(cw, ref, "closed")
    say("the workers confirmed on their chats that the remedy is real: the case is closed")
    return {"case_ref": ref, "receipt": receipt, "secret": chain["hook"]["secret"], "keys": chain["keys"]}


# The demo's compressed clock for escalation (its own environment only): a critical
# case's supplier has 3 seconds to acknowledge, and the three levels follow each other
# by about 2 seconds, so the run shows a missed deadline escalating to the partners.
DEMO_ESCALATION = {"DEADLINES_CRITICAL": "0.000035,7,30", "ESCALATION_LEVEL_HOURS": "0,0.0005,0.001",
                   "ESCALATION_SWEEP_INTERVAL": "0.5"}
THREAT = {"channel": "hotline", "language": "th", "work_area": "employer_employee_relations",
          "text": "The supervisor said anyone who complains again about the deductions will be sent home.",
          "retaliation": True, "site_ref": "SITE-DEMO"}


def safeguarding_walk_through(stack, staff: dict, chain: dict, supplier: str, say=print) -> dict:
    """A reprisal reported on a hotline call: the alert is stored and queued for the
    safeguarding lead, who acknowledges it and records a protective measure; the case
    is critical, so when the supplier does not acknowledge within its (compressed)
    deadline it escalates: reminded, its partner told, flagged."""
    cw, lead = staff["case_worker"], staff["safeguarding_lead"]
    ref = requests.post(f"{stack.intake_url}/grievances", json=dict(THREAT, supplier_ref=supplier),
                        timeout=10).json()["case_ref"]
    say(f"a worker reported a threat on the hotline: case {ref}, a retaliation alert")
    queue = lambda: lead.ok("GET", "/v1/safeguarding/alerts", params={"limit": 200})["items"]  # noqa: E731
    alert = wait_for(lambda: next((a for a in queue() if a["case_ref"] == ref), None), 20, "the alert in the queue")
    lead.ok("POST", f"/v1/safeguarding/alerts/{alert['alert_id']}/acknowledgement", {"note": "called the worker"})
    record = lead.ok("POST", f"/v1/safeguarding/alerts/{alert['alert_id']}/measures",
                     {"measure": "relocation", "note": "moved to the sister site with her roommate"})
    say(f"the safeguarding lead acknowledged alert {alert['alert_id']} and recorded a relocation")
    cw.ok("POST", f"/v1/cases/{ref}/triage", {"note": "threat of dismissal after complaints"})
    cw.ok("POST", f"/v1/cases/{ref}/referral", {"business_ref": supplier, "business_type": "supplier"})
    say(f"the case worker referred it to {supplier}, which has 3 s (compressed) to acknowledge, and does not")
    case = wait_for(lambda: (c := cw.ok("GET", f"/v1/cases/{ref}")).get("escalation_level") == 3 and c, 30,
                    "the case to escalate to level 3")
    say("the acknowledgement deadline passed: level 1 reminded the supplier, level 2 told its partner, "
        "level 3 flagged it for partner consequences")
    return {"case": case, "alert": record, "seen_by_supplier": chain["supplier"].ok("GET", f"/v1/cases/{ref}")}


def print_safeguarding(guarded: dict) -> None:
    alert = guarded["alert"]
    print(f"\nSafeguarding record {alert['alert_id']} (case {alert['case_ref']}, staff only):")
    for name in ("kind", "raised_from", "reported_at", "status", "acknowledged_by", "acknowledged_at"):
        print(f"  {name:<16} {alert.get(name)}")
    for m in alert["measures"]:
        print(f"  measure          {m['measure']} by {m['by']} at {m['at']}: {m['note']}")
    case = guarded["case"]
    print(f"\nTimeline of the escalated case {case['case_ref']} (severity {case['severity']}):")
    for a in case["audit"]:
        detail = a.get("detail") or {}
        extra = (f"level {detail['level']} ({detail['deadline']})" if a["action"] == "deadline_escalated"
                 else detail.get("measure") or detail.get("alert_id") or "")
        print(f"  {a['at']}  {a['actor']['role']:<17} {a['action']:<26} {extra}")
    shown = [a["action"] for a in guarded["seen_by_supplier"]["audit"]]
    print(f"What the supplier sees of that timeline: {', '.join(shown)} (nothing of safeguarding)")


def answer_round(workers: list, ref: str, answers: list) -> None:
    """Each worker reads the question about case ``ref`` on their chat and answers."""
    for worker in workers:
        worker.next_reply(containing=ref)
    for worker, answer in zip(workers, answers):
        worker.send(answer)
        worker.next_reply(containing=ref)


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


def print_doors(stack, logins: dict, result: dict, supplier: str) -> None:
    """Each actor's door, with this run's real credentials (a local run's: dev only)."""
    ref, gw = result["case_ref"], stack.gateway_url
    print(f"""
Try the doors yourself (this run's credentials; dev only):
  worker, on the worker app (a web page in six languages): {stack.intake_url}/app
  worker, on LINE (signed as LINE signs; intake's replies are printed here while this runs):
    python -m scripts.chat_worker "My employer kept my passport" --channel line
  worker (reference + receipt), at intake:
    curl -s {stack.intake_url}/grievances/{ref}/status -H 'content-type: application/json' \\
      -d '{{"receipt": "{result['receipt']}"}}'
  case worker {logins['case_worker']} (password {logins['password']}), on the console: {gw}/console
  the same case worker, at the gateway's API:
    TOKEN=$(curl -s {gw}/v1/auth/login -H 'content-type: application/json' \\
      -d '{{"username": "{logins['case_worker']}", "password": "{logins['password']}"}}' | \\
      python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -s {gw}/v1/cases/{ref} -H "authorization: Bearer $TOKEN"
  the same case worker, on the command line (.venv/bin/ilm):
    .venv/bin/ilm login --url {gw} --username {logins['case_worker']}
    .venv/bin/ilm cases list && .venv/bin/ilm cases show {ref} && .venv/bin/ilm audit verify {ref}
  safeguarding lead {logins.get('safeguarding_lead', '-')} (same password): .venv/bin/ilm alerts
  supplier {supplier}, with its API key:
    curl -s {gw}/v1/cases -H "authorization: Bearer {result['keys'][supplier]}"
  partner BRAND-DEMO, with its API key:
    curl -s {gw}/v1/cases/{ref} -H "authorization: Bearer {result['keys']['BRAND-DEMO']}"
  either of them on the portal (paste its key): {gw}/portal
  admin {logins['admin']} (same password): POST {gw}/v1/staff, /v1/api-keys, /v1/parties
  API documentation: {gw}/docs and {stack.intake_url}/docs""")


def _stop(*_):
    raise KeyboardInterrupt     # SIGTERM stops the services too, as Ctrl-C does


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
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
    providers = FakeProviders(env, port=args.providers_port).start()   # the chat apps' send APIs
    env.update(providers.env(), SMS_WEBHOOK_URL=f"http://127.0.0.1:{args.http_port}/channels/sms")
    # The backup contact channel: e-mail to a local SMTP sink that prints what it gets, SMS
    # to the fake providers (printed once the demo is done, like the workers' messages).
    sink = SmtpSink(LOCAL / "smtp", port=args.smtp_port, echo=True).start()
    env.update(sink.env(), BACKUP_SMS_API_BASE=providers.url)
    for name, value in LOCAL_BACKUP_CONTACTS.items():
        env.setdefault(name, value)
    print(f"SMTP sink for the backup contacts' e-mail on 127.0.0.1:{sink.port}")
    env.update(LOCAL_RECEIVER_SETTINGS)      # the brand's endpoint is the local receiver
    for name, value in DEMO_ESCALATION.items():
        env.setdefault(name, value)
    os.environ.update(env)   # this process's RPC client and checks use the same settings
    stack = Stack(env, LOCAL / "logs", args.http_port, args.gateway_port)
    receiver = WebhookReceiver()
    try:
        stack.start()
        print(f"services running: intake HTTP on {stack.intake_url}; logs in {stack.log_dir}")
        print(f"gateway (staff, businesses, partners) on {stack.gateway_url}/v1; API docs {stack.gateway_url}/docs")
        suffix = datetime.now(timezone.utc).strftime("%H%M%S")
        staff = demo_staff(stack.gateway_url, suffix)
        supplier = "SUP-DEMO-" + suffix
        started = time.monotonic()
        say = lambda text: print(f"[{time.monotonic() - started:6.2f}s] {text}")   # noqa: E731
        workers = [ChatWorker("line", stack.intake_url, providers, env, name=f"worker {n}", say=say) for n in (1, 2, 3)]
        say(f"workers write to the operator's LINE account (LINE delivers to {stack.intake_url}/channels/line, "
            f"signed; intake answers through LINE's push API, here {providers.url})")
        result = chat_walk_through(stack, staff, receiver.url("/brand-demo"), supplier, workers, say=say)
        case = staff["case_worker"].ok("GET", f"/v1/cases/{result['case_ref']}")
        # The partner hears of the case from its referral to a supplier of its chain on.
        hooks = receiver.wait("/brand-demo", lambda got: any(h.json["data"].get("to_status") == "closed"
                                                             for h in got), timeout=20)
        print_timeline(case, hooks, result["secret"])
        chain = {"supplier": Api(stack.gateway_url, result["keys"][supplier])}
        print_safeguarding(safeguarding_walk_through(stack, staff, chain, supplier, say=say))
        escalated = receiver.wait("/brand-demo", lambda got: sum(h.json["type"] == "case.deadline_escalated"
                                                                 for h in got) >= 2, timeout=20)
        for h in escalated:
            if h.json["type"] == "case.deadline_escalated":
                print(f"the partner's endpoint received case.deadline_escalated level {h.json['data']['level']} "
                      f"({h.json['data']['deadline']}, due {h.json['data']['due']})")
        print_doors(stack, staff["logins"], result, supplier)
        providers.on_send = lambda sent: print(format_sent(sent), flush=True)   # what workers receive from now on
        if args.exit:
            return 0
        print("\nThe system keeps running. Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        receiver.close()
        providers.stop()
        sink.stop()
        if mongo:
            mongo.stop()


def _parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exit", action="store_true", help="stop everything after the demo")
    p.add_argument("--http-port", type=int, default=int(os.environ.get("ILM_HTTP_PORT", 8000)))
    p.add_argument("--gateway-port", type=int, default=int(os.environ.get("ILM_GATEWAY_PORT", 8080)))
    p.add_argument("--providers-port", type=int, default=int(os.environ.get("ILM_PROVIDERS_PORT", 8090)),
                   help="the fake chat providers' send APIs (LINE, WhatsApp, Messenger, Viber, SMS)")
    p.add_argument("--smtp-port", type=int, default=int(os.environ.get("ILM_SMTP_PORT", 8025)),
                   help="the local SMTP sink receiving the backup contacts' e-mail")
    p.add_argument("--mongo-port", type=int, default=int(os.environ.get("ILM_MONGO_PORT", 27017)))
    return p


if __name__ == "__main__":
    sys.exit(main())
