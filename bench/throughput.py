"""End-to-end throughput: N grievances driven concurrently through the running system.

Per grievance (one green thread of a GreenPool, each with its own RPC proxy and HTTP
session): POST /grievances -> poll remediation.get_case until the case is open ->
RPC remediation.triage -> RPC remediation.refer. The green thread then takes the
next grievance; the grievance is *done* when the partner's webhook endpoint got the
``case.status_changed`` webhook with ``to_status == "referred"`` for its case.

grievances/s = N / (first POST .. last "referred" webhook). Latency per grievance =
its POST start .. its "referred" webhook.
"""
from __future__ import annotations

import time

import eventlet
import requests
from eventlet.queue import Queue

from bench.common import say, summary_ms
from bench.watch import Follower
from scripts.demo import DEMO_REPORT as REPORT
from scripts.parties import link_partner
from shared.auth import Principal



def _wait_case(rpc, ref: str, timeout: float = 60.0) -> None:
    deadline, delay = time.monotonic() + timeout, 0.01
    while True:
        try:
            rpc.remediation.get_case({"case_ref": ref})
            return
        except Exception:  # noqa: BLE001 - NotFound until remediation opened it
            if time.monotonic() > deadline:
                raise
            eventlet.sleep(delay)
            delay = min(delay * 2, 0.1)


def run(system, n: int, concurrency: int = 20, profiler=None) -> dict:
    supplier = f"SUP-TP-{system.run_id}".upper()
    path = "/throughput"
    with system.rpc_proxy(Principal("admin-bench", "admin")) as admin:
        link_partner(admin, "BRAND-BENCH", supplier)
    with system.rpc_proxy(Principal("BRAND-BENCH", "partner")) as rpc:
        rpc.notifications.register_webhook({
            "url": system.receiver.url(path), "event_types": ["case.status_changed"]})
    follower = Follower(system.receiver)
    follower.poll()

    proxies = [system.rpc_proxy(timeout=60) for _ in range(concurrency)]
    clients: Queue = Queue()
    try:
        for p in proxies:
            clients.put((p.start(), requests.Session()))
        url = f"{system.stack.intake_url}/grievances"
        body = dict(REPORT, supplier_ref=supplier)
        starts, refs, steps, failures = {}, {}, {"post": [], "open": [], "triage": [], "refer": []}, []

        def one(i: int):
            rpc, session = clients.get()
            try:
                t0 = time.monotonic()
                r = session.post(url, json=body, timeout=30)
                if r.status_code != 201:
                    raise RuntimeError(f"POST /grievances answered {r.status_code}: {r.text[:200]}")
                ref = r.json()["case_ref"]
                t1 = time.monotonic()
                _wait_case(rpc, ref)
                t2 = time.monotonic()
                cmd = {"case_ref": ref}
                rpc.remediation.triage({**cmd, "severity": "high"})
                t3 = time.monotonic()
                rpc.remediation.refer({**cmd, "business_ref": supplier, "business_type": "supplier"})
                t4 = time.monotonic()
                starts[ref], refs[i] = t0, ref
                for name, d in (("post", t1 - t0), ("open", t2 - t1), ("triage", t3 - t2), ("refer", t4 - t3)):
                    steps[name].append(d)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures.append(repr(exc)[:300])
            finally:
                clients.put((rpc, session))

        if profiler:
            profiler.start()
        say(f"throughput: {n} grievances, {concurrency} concurrent clients")
        pool = eventlet.GreenPool(concurrency)
        first_post = time.monotonic()

        def feed():                       # spawn_n blocks while the pool is full
            for i in range(n):
                pool.spawn_n(one, i)
            pool.waitall()
        feeder = eventlet.spawn(feed)
        progress_at = time.monotonic()
        while not feeder.dead:
            eventlet.sleep(0.2)
            follower.poll()
            if time.monotonic() - progress_at > 10:
                progress_at = time.monotonic()
                say(f"throughput: {len(refs)}/{n} referred over RPC, "
                    f"{sum(1 for r in refs.values() if follower.arrival(path, 'case.status_changed', r, 'referred'))}"
                    " webhooks 'referred' received")
        requests_done = time.monotonic()

        def all_arrived():
            return all(follower.arrival(path, "case.status_changed", r, "referred") for r in refs.values())
        complete = follower.wait(all_arrived, timeout=120, interval=0.02)
        if profiler:
            profiler.stop()
        arrivals = {r: follower.arrival(path, "case.status_changed", r, "referred") for r in refs.values()}
        done = {r: t for r, t in arrivals.items() if t is not None}
        last = max(done.values()) if done else time.monotonic()
        elapsed = last - first_post
        latencies = [done[r] - starts[r] for r in done]
        result = {
            "grievances": n, "concurrency": concurrency, "completed": len(done),
            "failed_requests": len(failures), "failures_sample": failures[:3],
            "all_webhooks_arrived": complete,
            "seconds": round(elapsed, 2),
            "grievances_per_s": round(len(done) / elapsed, 2) if elapsed > 0 else None,
            "client_requests_seconds": round(requests_done - first_post, 2),
            "latency": summary_ms(latencies),
            "steps": {name: summary_ms(v) for name, v in steps.items()},
            "webhooks_received": follower.count(path),
            "supplier": supplier,
            "sample_case_ref": next(iter(done), None),
        }
        say(f"throughput: {result['completed']}/{n} done in {elapsed:.1f}s = {result['grievances_per_s']}/s; "
            f"latency p50 {result['latency']['p50_ms']} ms p99 {result['latency']['p99_ms']} ms")
        return result
    finally:
        if profiler:
            profiler.stop()
        for p in proxies:
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
