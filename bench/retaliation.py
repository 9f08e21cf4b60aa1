"""Retaliation alerts against a backlog of ordinary events, and the same backlog
without the lane (FIFO) for comparison.

Lane: notifications is stopped, B ordinary ``case.status_changed`` events for a
subscribed supplier are published to remediation's event exchange (pika, persistent,
confirmed, the headers nameko sets), notifications is started again, and A
retaliation reports are POSTed to intake ~20 ms apart. Latency = the partner's
endpoint receiving the ``retaliation.reported`` webhook - intake's 201.

Beside the healthy endpoint, two more partners of the supplier subscribe to the
alerts: one whose endpoint drips a byte every 2 s and never finishes answering, one
whose endpoint is dead (a closed port). Nobody safeguarding subscribes, so each alert
goes to the backup contact after ALERT_BACKUP_AFTER_SECONDS: the e-mail's arrival at the
bench's SMTP sink - intake's 201 is the "backup reached" time.

FIFO: the same again, except that A *marker* events (ordinary events, the same type
and queue as the backlog) are published right after the backlog, each stamped with
its publish time; latency = webhook arrival - publish. That is what an alert would
wait if it shared the ordinary queue.

Each phase waits for its backlog to drain, up to ``drain_timeout`` s; what is left
then is purged (counted and reported) so that the next phase starts clean.
"""
from __future__ import annotations

import time

import requests

from bench import broker
from bench.common import CpuMeter, say, summary_ms
from bench.watch import Follower
from scripts.drip_server import DripServer
from scripts.stack import free_port
from shared.contracts.events import CASE_STATUS_CHANGED

RETALIATION_REPORT = {
    "channel": "line", "language": "my", "work_area": "employer_employee_relations",
    "text": "The supervisor threatened to deport us after we complained about wages.",
    "contact": {"name": "Aung Aung", "phone": "+66 81 555 0199", "line_id": "aungaung99"},
    "site_ref": "SITE-7", "retaliation": True,
}
# nameko's name for notifications' ordinary queue (evt-<source>-<routing key>--<service>.<method>)
ORDINARY_QUEUE = f"evt-remediation-{CASE_STATUS_CHANGED.routing_key}--notifications.on_case_status_changed"


def _meter(system) -> CpuMeter:
    return CpuMeter(dict(system.pids(), **{"nx-27017": system.mongo.proc.pid})).start()


def _drain(follower: Follower, path: str, target: int, what: str, hard_timeout: float, base: int = 0) -> dict:
    started = time.monotonic()
    reached, last = follower.wait_count(
        path, target, stall_timeout=30, hard_timeout=hard_timeout,
        progress=lambda n, t: say(f"retaliation: {what}: {n - base}/{t - base} ordinary webhooks delivered"))
    return {"drained": reached, "delivered": follower.count(path) - base, "expected": target - base,
            "waited_seconds": round(time.monotonic() - started, 1), "last_arrival": last}


def _finish_drain(system, drain: dict, ready: float, meter: CpuMeter) -> dict:
    last = drain.pop("last_arrival")
    drain["seconds_from_restart"] = round(last - ready, 1) if last else None
    drain["ordinary_webhooks_per_s"] = (round(drain["delivered"] / drain["seconds_from_restart"], 1)
                                        if drain["seconds_from_restart"] else None)
    drain["cpu"] = meter.stop()
    if not drain["drained"]:
        # Time-boxed: stop consuming and drop the rest, so the next phase starts clean.
        system.stack.stop("notifications")
        drain["purged"] = _purge(system)
        system.stack.start("notifications")
        say(f"retaliation: time-boxed; purged {drain['purged']} undelivered ordinary events")
    return drain


def _purge(system) -> int | None:
    from kombu import Connection
    try:
        with Connection(system.amqp_uri) as conn:
            return conn.channel().queue_purge(ORDINARY_QUEUE)
    except Exception as exc:  # noqa: BLE001
        say(f"retaliation: purge failed: {exc!r}")
        return None


def run(system, backlog: int, alerts: int, spacing: float = 0.02, drain_timeout: float = 300) -> dict:
    run_id = system.run_id.upper()
    supplier = f"SUP-RL-{run_id}"
    ordinary_path, alert_path = "/lane/ordinary", "/lane/alerts"
    from shared.auth import Principal
    from scripts.parties import link_partner
    with system.rpc_proxy(Principal("admin-bench", "admin")) as admin:
        for brand in ("BRAND-BACKLOG", "BRAND-ALERTS", "BRAND-DRIP", "BRAND-DEAD"):
            link_partner(admin, brand, supplier)
    drip = DripServer(every=2.0)
    for brand, url in (("BRAND-DRIP", drip.url), ("BRAND-DEAD", f"http://127.0.0.1:{free_port()}/hook")):
        with system.rpc_proxy(Principal(brand, "partner")) as rpc:
            rpc.notifications.register_webhook({"url": url, "event_types": ["retaliation.reported"]})
    with system.rpc_proxy(Principal("BRAND-BACKLOG", "partner")) as rpc:
        rpc.notifications.register_webhook({
            "url": system.receiver.url(ordinary_path), "event_types": ["case.status_changed"]})
    with system.rpc_proxy(Principal("BRAND-ALERTS", "partner")) as rpc:
        rpc.notifications.register_webhook({
            "url": system.receiver.url(alert_path), "event_types": ["retaliation.reported"]})
    follower = Follower(system.receiver)
    follower.poll()
    stack, uri = system.stack, system.amqp_uri
    result = {"backlog": backlog, "alerts": alerts, "spacing_ms": spacing * 1000, "supplier": supplier,
              "drain_timeout_seconds": drain_timeout}

    # --- lane ------------------------------------------------------------------------
    say(f"retaliation/lane: stop notifications, publish {backlog} ordinary events")
    stack.stop("notifications")
    pub = broker.call("backlog", "--uri", uri, "--supplier", supplier, "--count", str(backlog),
                      "--markers", "0", "--prefix", f"L{run_id[:4]}")
    result["backlog_publish_msg_s"] = pub["publish_msg_s"]
    stack.start("notifications")
    ready = time.monotonic()
    meter = _meter(system)
    accepted: dict[str, float] = {}
    accepted_wall: dict[str, float] = {}
    session = requests.Session()
    body = dict(RETALIATION_REPORT, supplier_ref=supplier)
    for _ in range(alerts):
        r = session.post(f"{stack.intake_url}/grievances", json=body, timeout=30)
        at = time.monotonic()
        if r.status_code != 201 or not r.json().get("retaliation_alert"):
            raise RuntimeError(f"retaliation report answered {r.status_code}: {r.text[:200]}")
        accepted[r.json()["case_ref"]] = at
        accepted_wall[r.json()["case_ref"]] = time.time()
        time.sleep(spacing)
    say(f"retaliation/lane: {alerts} reports accepted; waiting for their alerts")
    follower.wait(lambda: all(follower.arrival(alert_path, "retaliation.reported", ref) for ref in accepted),
                  timeout=60)
    arrivals = {ref: follower.arrival(alert_path, "retaliation.reported", ref) for ref in accepted}
    lane = [arrivals[ref] - accepted[ref] for ref in accepted if arrivals[ref] is not None]
    last_alert = max((t for t in arrivals.values() if t), default=None)
    ordinary_before = sum(1 for r in _received(system, ordinary_path) if last_alert and ready <= r.at < last_alert)
    result["lane"] = dict(summary_ms(lane), arrived=len(lane),
                          ordinary_delivered_before_last_alert=ordinary_before)
    say(f"retaliation/lane: p50 {result['lane']['p50_ms']} ms p99 {result['lane']['p99_ms']} ms "
        f"({ordinary_before}/{backlog} backlog webhooks delivered before the last alert; beside a dripping "
        f"endpoint ({drip.requests} requests held) and a dead one)")
    result["lane"]["dripping_endpoint_requests"] = drip.requests
    result["backup"] = _backup_reached(system, accepted_wall)
    say(f"retaliation/backup: {result['backup']}")
    drip.close()
    # Each report also opens a case, whose 'received' change joins the ordinary queue.
    drain = _drain(follower, ordinary_path, backlog + alerts, "lane backlog", drain_timeout)
    result["lane_drain"] = _finish_drain(system, drain, ready, meter)
    say(f"retaliation/lane: backlog drained={drain['drained']} in {drain['seconds_from_restart']}s "
        f"({drain['ordinary_webhooks_per_s']} webhooks/s)")

    # --- FIFO: markers behind the same backlog, through the ordinary queue ------------
    say(f"retaliation/fifo: stop notifications, publish {backlog} ordinary + {alerts} marker events")
    stack.stop("notifications")
    follower.poll()
    before = follower.count(ordinary_path)
    pub = broker.call("backlog", "--uri", uri, "--supplier", supplier, "--count", str(backlog),
                      "--markers", str(alerts), "--spacing", str(spacing), "--prefix", f"F{run_id[:4]}")
    published = pub["marker_published_at"]
    restart_at = time.monotonic()
    stack.start("notifications")
    ready = time.monotonic()
    meter = _meter(system)
    drain = _drain(follower, ordinary_path, before + backlog + alerts, "fifo backlog", drain_timeout, base=before)
    arrivals = {ref: follower.arrival(ordinary_path, "case.status_changed", ref, "acknowledged")
                for ref in published}
    fifo = [arrivals[ref] - published[ref] for ref in published if arrivals[ref] is not None]
    fifo_ready = [arrivals[ref] - max(published[ref], ready) for ref in published if arrivals[ref] is not None]
    result["fifo"] = dict(summary_ms(fifo), arrived=len(fifo),
                          since_ready=summary_ms(fifo_ready),
                          notifications_restart_seconds=round(ready - restart_at, 2))
    if len(fifo) < alerts:
        # Markers still queued when the drain was time-boxed: they waited at least this long.
        result["fifo"]["lower_bound_ms"] = round((time.monotonic() - min(published.values())) * 1000, 1)
    result["fifo_drain"] = _finish_drain(system, drain, ready, meter)
    say(f"retaliation/fifo: markers p50 {result['fifo']['p50_ms']} ms p99 {result['fifo']['p99_ms']} ms "
        f"({len(fifo)}/{alerts} arrived)")
    lane_p99, fifo_p99 = result["lane"]["p99_ms"], result["fifo"]["p99_ms"]
    if len(fifo) < alerts:
        fifo_p99 = result["fifo"]["lower_bound_ms"]
    result["fifo_over_lane_p99"] = round(fifo_p99 / lane_p99, 1) if lane_p99 and fifo_p99 else None
    return result


def _backup_reached(system, accepted_wall: dict[str, float], timeout: float = 90) -> dict:
    """Seconds from each alert's report accepted to the backup contact's e-mail naming it."""
    with system.rpc_proxy() as rpc:
        alert_of = {ref: (rpc.remediation.get_case({"case_ref": ref}).get("alerts") or [None])[0]
                    for ref in accepted_wall}
    try:
        system.smtp.wait_for(lambda got: all(any(a and a in m["subject"] for m in got) for a in alert_of.values()),
                             timeout)
    except TimeoutError:
        pass
    mails = system.smtp.messages()
    reached = [min(m["at"] for m in mails if alert and alert in m["subject"]) - accepted_wall[ref]
               for ref, alert in alert_of.items() if alert and any(alert in m["subject"] for m in mails)]
    from shared.config import settings
    return dict(summary_ms(reached), reached=len(reached), alerts=len(alert_of),
                after_seconds=settings().backup["after_seconds"])


def _received(system, path):
    with system.receiver.changed:
        return [r for r in system.receiver.received if r.path == path]
