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
    times, error, sample, facts = [], None, None, {}
    for i in range(1 + repeats):
        if sum(times) > 10:                 # slow: fewer repeats, the run has a time limit
            break
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
            facts = {k: out[k] for k in ("cases", "total_cases", "deadlines_met_share") if isinstance(out, dict) and k in out}
    if not times:
        return {"available": True, "error": error}
    return {"available": True, "cold_ms": round(times[0] * 1000, 1),
            "warm": summary_ms(times[1:]) if len(times) > 1 else None,
            "error": error, "result_shape": sample, "result_facts": facts}


def _brief(r: dict) -> str:
    if not r.get("available", True) or "cold_ms" not in r:
        return str(r.get("error"))
    warm = (r.get("warm") or {}).get("p50_ms")
    return f"cold {r['cold_ms']} ms, warm p50 {warm} ms, {r.get('result_facts')}"


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
        probe_store: bool = True, offline: bool = False, probe_timeout_s: float = 120) -> dict:
    """``offline``: stop the remediation service while loading (a migration window),
    start it again for the RPCs; otherwise the service runs, timers and all."""
    from services.remediation.store import CaseStore
    from shared.repository import database

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
        f"budget {budget_s:.0f}s" + ("; remediation stopped during the load" if offline else ""))
    if offline:
        system.stack.stop("remediation")
    curve = []
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
            curve.append({"seconds": round(now - started, 1), "loaded": loaded})
            rate = (loaded - (curve[-2]["loaded"] if len(curve) > 1 else 0)) / (now - last_report)
            last_report = now
            say(f"scale: {loaded}/{cases} loaded ({loaded / (now - started):.0f} docs/s on average, "
                f"{rate:.0f} docs/s over the last interval)")
        if budget_s and now - started > budget_s and loaded < cases:
            timed_out = True
            break
    load_s = time.monotonic() - started
    restart_s = None
    if offline:
        restart_s = _restart_remediation(system)
        say(f"scale: remediation ready again after {restart_s:.1f}s")
    result = {
        "remediation_restart_seconds": round(restart_s, 1) if restart_s is not None else None,
        "remediation_running_during_load": not offline, "load_curve": curve,
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

    # The scorecards read per-business counters (services/remediation/reports.py
    # BusinessRecord), fed by case events; a bulk load bypasses events, so the
    # counters are rebuilt from the loaded cases the way a backfill does
    # (BusinessRecord.from_cases) and stored in the service's business_records.
    result["business_records"] = _rebuild_records(store, gen)
    say(f"scale: {result['business_records']}")
    # The report tables read per-scope running counts (report_tables.py), also fed by
    # events; they are built here for all ``cases`` requested, loaded or not (a
    # report's cost does not depend on how many cases the counts came from).
    result["report_counts"] = _rebuild_report_counts(store, gen)
    say(f"scale: {result['report_counts']}")

    with system.rpc_proxy(timeout=180) as rpc:
        result["supplier_scorecard"] = _time_rpc(rpc, "remediation", "supplier_scorecard",
                                                 {"business_ref": biggest}, repeats)
        say(f"scale: supplier_scorecard {_brief(result['supplier_scorecard'])}")
        # Recompute the public report's snapshot first, so that public_report (served
        # from the snapshot) reflects the loaded cases.
        result["refresh_public_report"] = _time_rpc(rpc, "remediation", "refresh_public_report",
                                                    {}, 0)
        say(f"scale: refresh_public_report {_brief(result['refresh_public_report'])}")
        result["public_report"] = _time_rpc(rpc, "remediation", "public_report", {}, repeats)
        say(f"scale: public_report {_brief(result['public_report'])}")
        for key, payload in (("refresh_report_tables", {}), ("report_tables", {}),
                             ("partner_report_tables", {"partner_ref": BENCH_PARTNER})):
            result[key] = _time_rpc(rpc, "remediation", key, payload, 0 if key.startswith("refresh") else repeats)
            say(f"scale: {key} {_brief(result[key])}")
        some_case = gen_first_ref()
        get = _time_rpc(rpc, "remediation", "get_case", {"case_ref": some_case}, 20)
        result["get_case_at_scale"] = {k: get[k] for k in ("cold_ms", "warm", "error") if k in get}

    if probe_store:
        # A client of its own with a socket timeout: at a million cases some of these
        # take minutes on nx-27017, and the bench must not hang on them.
        import pymongo
        from shared.config import settings
        probe_client = pymongo.MongoClient(settings().mongo_uri, socketTimeoutMS=int(probe_timeout_s * 1000),
                                           serverSelectionTimeoutMS=5000)
        store = CaseStore(probe_client[store.db.name])
        # What nx-27017 makes of the queries a report or the service's own gauge timer
        # (RemediationService.refresh_case_gauges, every 15 s) issue at this size.
        from shared.contracts.events import iso, utc_now
        probes = [
            _time_store("CaseStore.cases_of_business(biggest) (the backfill read)",
                        lambda: len(store.cases_of_business(biggest)) if hasattr(store, "cases_of_business")
                        else sum(1 for _ in store.col.find({"business_ref": biggest}, {"status": 1}))),
            _time_store("aggregate([$match business_ref, $group status])",
                        lambda: len(list(store.col.aggregate([{"$match": {"business_ref": biggest}},
                                                              {"$group": {"_id": "$status", "n": {"$sum": 1}}}])))),
            _time_store("aggregate([$group status]) over all cases",
                        lambda: len(list(store.col.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])))),
            _time_store("CaseStore.count_open_by_status() (gauge timer)", lambda: sum(store.count_open_by_status().values())),
            _time_store("CaseStore.count_overdue() (gauge timer)", lambda: store.count_overdue(iso(utc_now()))),
        ]
        result["store_probes"] = probes
        probe_client.close()
        for p in probes:
            say(f"scale: {p['what']}: {p['ms']} ms")
    return result


def _restart_remediation(system, timeout: float = 900) -> float:
    """Start remediation again (Stack.start allows 30 s; with a big collection its
    start-up takes longer, which is itself a result). Returns seconds to ready."""
    from scripts.stack import ServiceProcess
    stack = system.stack
    started = time.monotonic()
    proc = ServiceProcess("remediation", stack.service_env("remediation"), stack.log_dir).start()
    stack.procs["remediation"] = proc
    proc.wait_ready(timeout=timeout)
    return time.monotonic() - started


def _rebuild_records(store, gen) -> dict:
    try:
        from services.remediation.reports import BusinessRecord
    except ImportError as exc:
        return {"error": f"not available ({exc})"}
    from services.remediation.store import BusinessRecordStore
    records = BusinessRecordStore(store.db)
    started = time.perf_counter()
    docs = [{"_id": ref, **BusinessRecord.from_cases(ref, cases).to_dict()} for ref, cases in gen.cases_by_business()]
    built = time.perf_counter() - started
    started = time.perf_counter()
    # Upserted, as a backfill beside live services must: the escalation sweep may have
    # created a business's record already (bulk-loaded cases past their deadlines).
    for doc in docs:
        _store_beside_the_service(records.col, doc)
    biggest = next((d for d in docs if d["_id"] == gen.biggest_supplier()), {})
    return {"businesses": len(docs), "biggest_supplier_referred_cases": biggest.get("cases"),
            "from_cases_seconds": round(built, 2),
            "insert_seconds": round(time.perf_counter() - started, 2)}


BENCH_PARTNER = "BENCH-PARTNER"


def _rebuild_report_counts(store, gen) -> dict:
    """Counts per scope for every case the generator would make (report_backfill's
    contribution of each template times its uses), stored in report_counts, and a
    partner whose chain is the 50 biggest suppliers."""
    from services.remediation.parties import Party
    from services.remediation.report_backfill import counts_by_scope
    from services.remediation.store import PartyStore, ReportCountsStore
    from shared.contracts.events import utc_now

    started = time.perf_counter()
    gen.count_rest()
    counts = counts_by_scope(gen.template_usage())
    built = time.perf_counter() - started
    report_counts = ReportCountsStore(store.db)
    for scope, c in counts.items():
        _store_beside_the_service(report_counts.col, {"_id": scope, **c.to_dict()})
    partner = Party.register({"ref": BENCH_PARTNER, "kind": "partner", "name": "Bench brand"}, STAFF, utc_now())
    partner.chain = {"suppliers": gen.suppliers[:50], "sites": [], "agencies": []}
    _store_beside_the_service(PartyStore(store.db).col, {"_id": BENCH_PARTNER, **partner.to_dict()})
    return {"cases_counted": sum(gen.made_per_supplier), "scopes": len(counts), "built_seconds": round(built, 2)}


def _store_beside_the_service(col, doc: dict) -> None:
    """Write an aggregate's document the way shared/repository.Repository keeps it
    (``_rev``, an empty outbox) and a revision past any the running service wrote: the
    service's own guarded writes then go on from it. A document without ``_rev``
    dead-lettered every event the service applied to it later (KeyError '_rev': 151 in
    one run, when the escalation sweep had created the record before this backfill)."""
    known = col.find_one({"_id": doc["_id"]}, {"_rev": 1})
    col.replace_one({"_id": doc["_id"]}, {**doc, "_rev": (known or {}).get("_rev", 0) + 1, "outbox": [],
                                          "outbox_pending": False}, upsert=True)


def gen_first_ref() -> str:
    from bench.casegen import case_ref
    return case_ref(0)
