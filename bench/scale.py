"""Remediation's store at scale: load C realistic cases through the store adapter
(``CaseStore(database("remediation"))``, the running service's own database) with
``insert_many`` in batches of 1,000, then time the reporting RPCs against it.

nx-27017 turns ``insert_many`` into one ``insert_one`` per document in Python (see
the profile in the results), so the load rate is nx-27017's; the load is time-boxed
(``budget_s``) so that the full bench stays within its time limit. The number of
documents actually loaded is reported with every figure.
"""
from __future__ import annotations

import time

from bench.casegen import CaseGenerator, walk_cost
from bench.common import say, summary_ms

STAFF = {"id": "bench", "role": "case_worker"}


def _time_rpc(rpc, service: str, method: str, payload: dict, repeats: int) -> dict:
    """Cold call, then ``repeats`` warm calls. 'not available' when the method is
    not there (yet)."""
    fn = getattr(getattr(rpc, service), method)
    times, error, sample = [], None, None
    for i in range(1 + repeats):
        t0 = time.perf_counter()
        try:
            out = fn(payload)
        except Exception as exc:  # noqa: BLE001 - recorded
            name = type(exc).__name__
            if "MethodNotFound" in name or "MethodNotFound" in repr(exc) or "UnknownService" in repr(exc):
                return {"available": False, "error": f"not available ({name})"}
            error = f"{name}: {str(exc)[:300]}"
            break
        times.append(time.perf_counter() - t0)
        if i == 0:
            sample = _shape(out)
    if not times:
        return {"available": True, "error": error}
    return {"available": True, "cold_ms": round(times[0] * 1000, 1),
            "warm": summary_ms(times[1:]) if len(times) > 1 else None,
            "error": error, "result_shape": sample}


def _shape(value, depth: int = 0):
    """A small description of what an RPC returned (keys, sizes), not its data."""
    if isinstance(value, dict):
        if depth >= 1:
            return f"dict({len(value)})"
        return {k: _shape(v, depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, list):
        return f"list({len(value)})"
    return type(value).__name__


def _time_store(label: str, fn) -> dict:
    t0 = time.perf_counter()
    try:
        out = fn()
        return {"what": label, "ms": round((time.perf_counter() - t0) * 1000, 1), "result": out}
    except Exception as exc:  # noqa: BLE001
        return {"what": label, "ms": round((time.perf_counter() - t0) * 1000, 1), "error": repr(exc)[:200]}


def run(system, cases: int, budget_s: float, suppliers: int = 2000, repeats: int = 3,
        probe_store: bool = True) -> dict:
    from services.remediation.store import CaseStore
    from shared.store import database

    store = CaseStore(database("remediation"))
    insert = getattr(store, "insert_many", None)
    how = "CaseStore.insert_many" if insert else "CaseStore.col.insert_many(ordered=False)"
    if insert is None:
        def insert(batch):
            store.col.insert_many(batch, ordered=False)
    per_walk = walk_cost(200)
    gen = CaseGenerator(cases, suppliers=suppliers)
    biggest = gen.biggest_supplier()
    say(f"scale: loading up to {cases} cases ({suppliers} suppliers, biggest {biggest}) via {how}, "
        f"budget {budget_s:.0f}s")
    loaded, gen_s, insert_s = 0, 0.0, 0.0
    started = last_report = time.monotonic()
    timed_out = False
    batches = gen.batches(1000)
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        gen_s += time.perf_counter() - t0
        if batch is None:
            break
        t0 = time.perf_counter()
        insert(batch)
        insert_s += time.perf_counter() - t0
        loaded += len(batch)
        now = time.monotonic()
        if now - last_report > 15:
            last_report = now
            say(f"scale: {loaded}/{cases} loaded ({loaded / (now - started):.0f} docs/s)")
        if budget_s and now - started > budget_s and loaded < cases:
            timed_out = True
            break
    load_s = time.monotonic() - started
    result = {
        "requested": cases, "loaded": loaded, "time_boxed": timed_out, "budget_seconds": budget_s,
        "load_seconds": round(load_s, 1), "docs_per_s": round(loaded / load_s, 1) if load_s else None,
        "insert_seconds": round(insert_s, 1), "generate_seconds": round(gen_s, 1),
        "insert_method": how, "batch": 1000, "suppliers": suppliers,
        "domain_walks": gen.walks, "domain_walk_ms": round(per_walk * 1000, 3),
        "full_walk_for_every_doc_would_take_s": round(per_walk * cases, 1),
        "biggest_supplier": biggest,
        "biggest_supplier_cases": gen.made_per_supplier[0],
        "projected_full_load_seconds": round(cases / (loaded / load_s), 0) if loaded and load_s else None,
    }
    say(f"scale: {loaded} cases in {load_s:.1f}s = {result['docs_per_s']} docs/s"
        + (" (time-boxed)" if timed_out else ""))

    actor = {"id": "bench", "role": "case_worker"}
    with system.rpc_proxy(timeout=300) as rpc:
        result["supplier_scorecard"] = _time_rpc(rpc, "remediation", "supplier_scorecard",
                                                 {"business_ref": biggest, "actor": actor}, repeats)
        say(f"scale: supplier_scorecard {result['supplier_scorecard']}")
        result["public_report"] = _time_rpc(rpc, "remediation", "public_report", {"actor": actor}, repeats)
        say(f"scale: public_report {result['public_report']}")
        result["refresh_public_report"] = _time_rpc(rpc, "remediation", "refresh_public_report",
                                                    {"actor": actor}, 0)
        if not result["refresh_public_report"]["available"]:
            # It may take no payload, or be a timer rather than an RPC.
            result["refresh_public_report"] = _time_rpc(rpc, "remediation", "refresh_public_report", {}, 0)
        say(f"scale: refresh_public_report {result['refresh_public_report']}")
        some_case = gen_first_ref()
        get = _time_rpc(rpc, "remediation", "get_case", {"case_ref": some_case, "actor": actor}, 20)
        result["get_case_at_scale"] = {k: get[k] for k in ("cold_ms", "warm", "error") if k in get}

    if probe_store:
        # What nx-27017 makes of the queries a report or the service's own gauge timer
        # (RemediationService.refresh_case_gauges, every 15 s) issue at this size.
        from shared.contracts.events import iso, utc_now
        probes = [
            _time_store("find({business_ref: biggest}) (indexed)",
                        lambda: sum(1 for _ in store.col.find({"business_ref": biggest}, {"status": 1}))),
            _time_store("aggregate([$match business_ref, $group status])",
                        lambda: len(list(store.col.aggregate([{"$match": {"business_ref": biggest}},
                                                              {"$group": {"_id": "$status", "n": {"$sum": 1}}}])))),
            _time_store("aggregate([$group status]) over all cases",
                        lambda: len(list(store.col.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])))),
            _time_store("CaseStore.count_open_by_status() (gauge timer)", lambda: sum(store.count_open_by_status().values())),
            _time_store("CaseStore.count_overdue() (gauge timer)", lambda: store.count_overdue(iso(utc_now()))),
        ]
        result["store_probes"] = probes
        for p in probes:
            say(f"scale: {p['what']}: {p['ms']} ms")
    return result


def gen_first_ref() -> str:
    from bench.casegen import case_ref
    return case_ref(0)
