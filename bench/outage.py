"""The outage drill (issue 16 "Done when"): reports keep arriving while, one at a time,
the store is killed (``kill -9`` of nx-27017, started again on the same data after the
outage), the broker is cut off (a TCP proxy between every service and RabbitMQ drops
every connection and refuses new ones: what the services see of a stopped broker or a
network partition), and the store is cut off the same way. Then it checks what must
hold: every report answered within a second (201 or 503, never a 500 or a hang),
every accepted report cased and its first webhook (``case.status_changed`` to
``received``, to a safeguarding lead's endpoint) delivered exactly once, and no dead
letter.

    python -m bench outage                          # 60 s outages, 300 reports (the issue's)
    python -m bench outage --outage 8 --reports 60  # what the test suite runs

Its own system (bench/harness.py): nx-27017, a vhost and the service processes, with the
services' broker and store connections through proxies (the bench's own clients
connect directly). Results go to bench/results/outage.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import eventlet
import requests

from bench.common import pct, say
from bench.harness import BenchSystem
from scripts.demo import DEMO_REPORT
from scripts.stack import Stack, wait_for
from scripts.tcp_proxy import TcpProxy

RESULTS = Path(__file__).parent / "results"
ANSWER_WITHIN = 1.0          # seconds: the bound on every answer
PHASES = ("store killed", "broker cut off", "store cut off")


class ProxiedStack(Stack):
    """The services reach the broker and the store through ``proxies`` (host:port of
    the real one -> its TcpProxy); everything else is the usual stack."""

    def __init__(self, *args, proxies: dict[str, TcpProxy], **kw):
        super().__init__(*args, **kw)
        self.proxies = proxies

    def service_env(self, name: str) -> dict:
        env = super().service_env(name)
        for key in ("AMQP_URI", "MONGO_URI"):
            netloc = urlsplit(env[key]).netloc.rpartition("@")[2]
            proxy = self.proxies.get(netloc)
            if proxy is not None:
                env[key] = env[key].replace(netloc, f"{proxy.host}:{proxy.port}")
        return env


class Reporter:
    """Posts reports at a steady pace from green threads, recording each answer."""

    def __init__(self, url: str, supplier: str):
        self.url, self.supplier = url, supplier
        self.answers: list[dict] = []
        self.phase = "before"

    def post(self) -> None:
        phase, started = self.phase, time.monotonic()
        try:
            r = requests.post(self.url, json={**DEMO_REPORT, "supplier_ref": self.supplier}, timeout=10)
            status, ref = r.status_code, (r.json().get("case_ref") if r.status_code == 201 else None)
        except requests.RequestException as exc:
            status, ref = type(exc).__name__, None
        self.answers.append({"phase": phase, "status": status, "seconds": time.monotonic() - started,
                             "case_ref": ref})

    def run(self, count: int, every: float) -> eventlet.greenpool.GreenPool:
        pool = eventlet.GreenPool(50)

        def pace():
            for _ in range(count):
                pool.spawn_n(self.post)
                eventlet.sleep(every)
        pool.spawn_n(pace)
        return pool


def drill(outage: float = 60, reports: int = 300, settle: float = 5, timeout: float = 300) -> dict:
    with BenchSystem() as system:
        proxies = {}

        def make_stack(env, log_dir, port):
            for uri in (env["AMQP_URI"], env["MONGO_URI"]):     # the broker's first, then the store's
                where = urlsplit(uri)
                port_of = where.port or 5672
                proxies[f"{where.hostname}:{port_of}"] = TcpProxy(where.hostname, port_of)
            return ProxiedStack(env, log_dir, port, proxies=proxies)

        system.start_services(stack=make_stack)
        broker_proxy, store_proxy = proxies.values()
        path, supplier = "/outage", f"SUP-OUTAGE-{system.run_id}"
        from shared.auth import Principal
        with system.rpc_proxy(Principal("lead-drill", "safeguarding_lead")) as lead:
            lead.notifications.register_webhook({"url": system.receiver.url(path),
                                                 "event_types": ["case.status_changed"]})
        reporter = Reporter(system.stack.intake_url + "/grievances", supplier)
        every = (2 * settle * (len(PHASES) + 1) + outage * len(PHASES)) / reports
        pool = reporter.run(reports, every)
        timeline = []

        def phase(name: str, cut, restore, seconds: float):
            reporter.phase = name
            started = time.monotonic()
            cut()
            eventlet.sleep(seconds)
            restore()
            back = time.monotonic()
            reporter.phase = f"after {name}"
            timeline.append({"phase": name, "seconds": round(back - started, 1)})
            say(f"outage drill: {name} for {back - started:.1f} s")
            eventlet.sleep(settle)

        eventlet.sleep(settle)
        phase(PHASES[0], system.mongo.kill, system.mongo.start, outage)
        phase(PHASES[1], broker_proxy.cut, broker_proxy.restore, outage)
        phase(PHASES[2], store_proxy.cut, store_proxy.restore, outage)
        pool.waitall()
        # The proxies stay open while the services stop (a consumer cut off from its broker
        # reconnects for ever and holds its process's stop); they end with this process.
        return _verify(system, reporter, path, timeline, timeout) | {
            "outage_seconds": outage, "reports": reports, "pace_seconds": round(every, 3)}


def _verify(system, reporter: Reporter, path: str, timeline: list, timeout: float) -> dict:
    from shared.repository import database
    accepted = {a["case_ref"] for a in reporter.answers if a["status"] == 201}
    cases = database("remediation")["cases"]
    started = time.monotonic()
    try:
        wait_for(lambda: cases.count_documents({"_id": {"$in": sorted(accepted)}}) == len(accepted), timeout,
                 "every accepted report cased")
        wait_for(lambda: accepted <= _received_webhooks(system, path).keys(), timeout,
                 "every case's first webhook delivered")
    except Exception as exc:  # noqa: BLE001 - reported with what was missing
        say(f"outage drill: {exc}")
    caught_up = time.monotonic() - started
    eventlet.sleep(3)                         # a duplicate would come now
    hooks = _received_webhooks(system, path)
    cased = cases.count_documents({"_id": {"$in": sorted(accepted)}})
    by_phase = {}
    for a in reporter.answers:
        p = by_phase.setdefault(a["phase"], {"sent": 0, "statuses": Counter(), "seconds": []})
        p["sent"] += 1
        p["statuses"][str(a["status"])] += 1
        p["seconds"].append(a["seconds"])
    slowest = max(a["seconds"] for a in reporter.answers)
    return {
        "timeline": timeline,
        "phases": {name: {"sent": p["sent"], "statuses": dict(p["statuses"]),
                          "p50_ms": round(1000 * pct(p["seconds"], 50), 1),
                          "p99_ms": round(1000 * pct(p["seconds"], 99), 1),
                          "max_ms": round(1000 * max(p["seconds"]), 1)} for name, p in by_phase.items()},
        "answered": len(reporter.answers), "accepted": len(accepted),
        "refused_503": sum(1 for a in reporter.answers if a["status"] == 503),
        "other_answers": sorted({str(a["status"]) for a in reporter.answers} - {"201", "503"}),
        "slowest_answer_ms": round(1000 * slowest, 1),
        "answered_within_bound": slowest <= ANSWER_WITHIN,
        "cased": cased, "first_webhooks": len(accepted & hooks.keys()),
        "duplicate_webhooks": sum(n - 1 for ref, n in hooks.items() if ref in accepted and n > 1),
        "caught_up_seconds": round(caught_up, 1),
        "dead_letters": _dead_letters(system),
    }


def _dead_letters(system) -> int | str:
    """The dead-letter queue's depth; the services declared it when they started, so
    not finding it is a failure of the check, never a zero."""
    found = system.dead_letters()
    return "could not be read" if found is None else found


def _received_webhooks(system, path: str) -> Counter:
    """Deliveries of each case's ``received`` status by case: every request the
    endpoint got, so a delivery sent twice (the same webhook-id) counts twice."""
    return Counter(got.json["data"]["case_ref"] for got in system.receiver.at(path)
                   if got.json["data"]["to_status"] == "received")


def markdown(result: dict) -> str:
    lines = [f"Outage drill: {result['reports']} reports, each outage {result['outage_seconds']:g} s "
             f"(`python -m bench outage`).", "",
             "| phase | reports | answers | p50 | p99 | slowest |", "|---|---|---|---|---|---|"]
    for name, p in result["phases"].items():
        answers = ", ".join(f"{n} × {s}" for s, n in sorted(p["statuses"].items()))
        lines.append(f"| {name} | {p['sent']} | {answers} | {p['p50_ms']} ms | {p['p99_ms']} ms | {p['max_ms']} ms |")
    lines += ["", f"- accepted {result['accepted']}, cased {result['cased']}, first webhook delivered for "
                  f"{result['first_webhooks']}, duplicates {result['duplicate_webhooks']}, dead letters "
                  f"{result['dead_letters']}; caught up {result['caught_up_seconds']} s after the last outage",
              f"- slowest answer {result['slowest_answer_ms']} ms (bound {ANSWER_WITHIN * 1000:.0f} ms); "
              f"answers other than 201/503: {result['other_answers'] or 'none'}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench outage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=60, help="seconds each outage lasts")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--settle", type=float, default=5, help="seconds before, between and after the outages")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where outage.json and outage.md go")
    args = parser.parse_args(argv)
    result = drill(args.outage, args.reports, args.settle)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "outage.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "outage.md").write_text(markdown(result))
    print(markdown(result))
    return 0
