"""RPC latency of ``remediation.get_case`` (staff view of an existing case).

Single caller: one ClusterRpcProxy, calls one after another. Concurrent: 50 green
threads, each with its *own* ClusterRpcProxy (nameko's standalone proxy is single-
threaded: one reply queue consumer per proxy), calls split evenly between them.
Latency = call start .. reply, measured by the caller.
"""
from __future__ import annotations

import time

import eventlet

from bench.common import say, summary_ms

WARMUP = 20


def _timed_calls(rpc, payload: dict, count: int, out: list) -> None:
    for _ in range(count):
        t0 = time.perf_counter()
        rpc.remediation.get_case(payload)
        out.append(time.perf_counter() - t0)


def run(system, case_ref: str, calls: int, callers: int = 50, profiler=None) -> dict:
    payload = {"case_ref": case_ref}
    result = {"method": "remediation.get_case", "calls": calls, "case_ref": case_ref}

    if profiler:
        profiler.start()
    with system.rpc_proxy() as rpc:
        _timed_calls(rpc, payload, WARMUP, [])
        single: list[float] = []
        started = time.perf_counter()
        _timed_calls(rpc, payload, calls, single)
        wall = time.perf_counter() - started
    result["single"] = dict(summary_ms(single), callers=1, calls_per_s=round(calls / wall, 1))
    say(f"rpc: 1 caller p50 {result['single']['p50_ms']} ms p99 {result['single']['p99_ms']} ms")

    proxies = [system.rpc_proxy(timeout=60) for _ in range(callers)]
    try:
        clients = [p.start() for p in proxies]
        for c in clients:
            _timed_calls(c, payload, 2, [])
        per = max(1, calls // callers)
        latencies: list[float] = []
        pool = eventlet.GreenPool(callers)
        started = time.perf_counter()
        for c in clients:
            pool.spawn_n(_timed_calls, c, payload, per, latencies)
        pool.waitall()
        wall = time.perf_counter() - started
    finally:
        for p in proxies:
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
    result["concurrent"] = dict(summary_ms(latencies), callers=callers, proxies=f"{callers} (one per caller)",
                                calls_per_s=round(len(latencies) / wall, 1))
    say(f"rpc: {callers} callers p50 {result['concurrent']['p50_ms']} ms p99 {result['concurrent']['p99_ms']} ms "
        f"({result['concurrent']['calls_per_s']} calls/s)")
    return result
