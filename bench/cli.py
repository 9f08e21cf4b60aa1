"""``python -m bench all [--quick] [--only broker,throughput,...] [--profile]``

Stages (in this order): broker, throughput, memory, rpc, retaliation, scale. The
bench makes its own RabbitMQ vhost, nx-27017 (free port, temporary data dir) and
stack, and removes them at the end, also after a failure. Progress goes to stderr,
the table to stdout, the results to bench/results/latest.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import memory, report
from bench.common import CpuMeter, machine_info, say

STAGES = ("broker", "throughput", "retaliation", "rpc", "memory", "scale")
NEEDS_STACK = {"throughput", "retaliation", "rpc", "memory", "scale"}

FULL = {"broker_messages": 10_000, "grievances": 1000, "concurrency": 20, "backlog": 20_000,
        "alerts": 50, "rpc_calls": 2000, "callers": 50, "cases": 1_000_000, "scale_budget": 150.0}
QUICK = {"broker_messages": 2000, "grievances": 60, "concurrency": 20, "backlog": 500,
         "alerts": 10, "rpc_calls": 200, "callers": 50, "cases": 20_000, "scale_budget": 20.0}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["all"], help="run the benchmark stages")
    p.add_argument("--quick", action="store_true", help="small sizes (under a minute; for CI)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(STAGES)}")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the services during the throughput stage (flame graphs in bench/results/profile)")
    p.add_argument("--keep", action="store_true", help="keep the temporary dir (logs, nx-27017 data)")
    p.add_argument("--out", type=Path, default=report.RESULTS_DIR, help="results directory")
    p.add_argument("--log-level", default=None, help="LOG_LEVEL of the services (default: theirs, INFO)")
    for key, value in FULL.items():
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=None,
                       help=f"full {value:,}, quick {QUICK[key]:,}")
    return p


def _stage(results: dict, name: str, fn, system=None):
    started = time.monotonic()
    meter = None
    if system is not None and system.stack is not None:
        meter = CpuMeter(dict(system.pids(), **{"nx-27017": system.mongo.proc.pid})).start()
    try:
        value = fn()
        if meter:
            value.setdefault("cpu", meter.stop())
    except Exception as exc:  # noqa: BLE001 - one stage failing must not hide the others
        say(f"{name}: FAILED {exc!r}")
        traceback.print_exc(file=sys.stderr)
        value = {"error": repr(exc)[:1000]}
    value["stage_seconds"] = round(time.monotonic() - started, 1)
    results["stages"][name] = value
    return value


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()] or list(STAGES)
    unknown = set(only) - set(STAGES)
    if unknown:
        parser().error(f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(STAGES)}")
    base = QUICK if args.quick else FULL
    params = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in base.items()}
    overridden = any(getattr(args, k) is not None for k in base)
    mode = "quick" if args.quick else "full"
    if overridden or args.only:
        mode = "custom"
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.monotonic()
    results = {"command": command.strip(), "mode": mode, "stages_run": only, "params": params,
               "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": machine_info(), "stages": {}, "notes": []}
    say(f"{mode} run: {', '.join(only)}; {params}")

    from bench.harness import BenchSystem
    system = BenchSystem(keep=args.keep, log_level=args.log_level)
    with system:
        results["isolated_vhost"] = system.isolated
        if "broker" in only:
            from bench import broker
            _stage(results, "broker", lambda: broker.call(
                "baseline", "--uri", system.amqp_uri, "--count", str(params["broker_messages"])))
        if NEEDS_STACK & set(only):
            system.start_services()
            _run_stack_stages(system, results, only, params, args)
    results["duration_seconds"] = round(time.monotonic() - started, 1)
    results["notes"] = notes(results, system)
    table = report.markdown_table(results)
    paths = report.write(results, table, args.out)
    print(table)
    say(f"wrote {', '.join(str(p) for p in paths)} in {results['duration_seconds']:.0f}s")
    return 1 if any("error" in v for v in results["stages"].values()) else 0


def _run_stack_stages(system, results, only, params, args):
    from bench import retaliation, rpc_latency, scale, throughput
    mem = {}
    if "memory" in only:
        time.sleep(3)                      # eager timers have run; nothing else has
        mem["idle"] = memory.snapshot(system)
        say("memory idle: " + ", ".join(f"{k} {v['rss_mb']} MB" for k, v in mem["idle"].items()))
    case_ref = None
    if "throughput" in only:
        profiler = None
        if args.profile:
            from bench.profile import Profiler, py_spy
            if py_spy():
                pids = {k: v for k, v in system.pids().items() if k in ("intake", "remediation", "notifications")}
                profiler = Profiler(pids, args.out / "profile", "throughput")
            else:
                say("profile: py-spy is not installed; profiling skipped")
        def run_throughput():
            out = throughput.run(system, params["grievances"], params["concurrency"], profiler)
            if profiler:
                out["profile"] = _relative(profiler.stop())
            return out
        t = _stage(results, "throughput", run_throughput, system)
        case_ref = t.get("sample_case_ref")
        if "memory" in only:
            mem["after_throughput"] = memory.snapshot(system)
    if "memory" in only:
        results["stages"]["memory"] = mem
    if "rpc" in only:
        def run_rpc():
            ref = case_ref or _one_case(system)
            return rpc_latency.run(system, ref, params["rpc_calls"], params["callers"])
        _stage(results, "rpc", run_rpc, system)
    if "retaliation" in only:
        _stage(results, "retaliation", lambda: retaliation.run(system, params["backlog"], params["alerts"]), system)
    if "scale" in only:
        _stage(results, "scale", lambda: scale.run(system, params["cases"], params["scale_budget"]), system)
        if "memory" in only:
            mem["after_scale"] = memory.snapshot(system)


def _one_case(system) -> str:
    """A case to read when the throughput stage did not run."""
    import requests
    from bench.throughput import REPORT, _wait_case
    r = requests.post(f"{system.stack.intake_url}/grievances", json=dict(REPORT, supplier_ref="SUP-RPC"),
                      timeout=30)
    r.raise_for_status()
    ref = r.json()["case_ref"]
    with system.rpc_proxy() as rpc:
        _wait_case(rpc, ref)
    return ref


def _relative(profile: dict) -> dict:
    root = Path(__file__).resolve().parent.parent
    for v in profile.values():
        for key in ("flamegraph", "collapsed"):
            if key in v:
                try:
                    v[key] = str(Path(v[key]).resolve().relative_to(root))
                except ValueError:
                    pass
    return profile


def notes(results: dict, system) -> list[str]:
    s, p = results["stages"], results["params"]
    out = []
    out.append("RabbitMQ: the bench ran in its own vhost (created and deleted with rabbitmqctl), so no other "
               "stack on the broker shared its queues." if results.get("isolated_vhost") else
               "RabbitMQ: could not create a vhost; the bench shared the default vhost (a test run or demo "
               "on the same broker at the same time would compete for the same queues).")
    if "broker" in s and "error" not in s["broker"]:
        out.append(f"Broker baseline: {s['broker']['queue']}; payload a real grievance.received event "
                   f"({s['broker']['payload_bytes']} bytes), pika in a separate, non-eventlet process.")
    t = s.get("throughput") or {}
    if t and "error" not in t:
        out.append(f"Throughput: {t['concurrency']} green threads, each with its own ClusterRpcProxy and HTTP "
                   "session; a green thread moves to the next grievance after `refer`; done = the "
                   "'referred' webhook arrived. Window = first POST .. last 'referred' webhook "
                   f"({t['seconds']} s). Services at LOG_LEVEL {system.env.get('LOG_LEVEL', 'INFO') if system.stack else '?'}."
                   + (" The profile ran during this stage (py-spy costs CPU: compare with a run without "
                      "--profile)." if t.get("profile") else ""))
        if t.get("failed_requests"):
            out.append(f"Throughput: {t['failed_requests']} requests failed, e.g. {t['failures_sample'][:1]}")
    r = s.get("retaliation") or {}
    if r and "error" not in r:
        ld, fd = r["lane_drain"], r["fifo_drain"]
        out.append(f"Retaliation: backlog published with pika over 4 confirmed connections "
                   f"({r['backlog_publish_msg_s']} msg/s); alerts {r['spacing_ms']:.0f} ms apart after notifications "
                   f"was up again; lane latency = webhook arrival - intake's 201. "
                   f"{r['lane']['ordinary_delivered_before_last_alert']} of the {r['backlog']} backlog webhooks "
                   "were delivered before the last alert.")
        out.append(f"Retaliation FIFO: markers published right after the backlog, before notifications "
                   f"restarted ({r['fifo']['notifications_restart_seconds']} s to ready); marker latency counted "
                   f"from publish; from notifications being ready: p50 {r['fifo']['since_ready']['p50_ms']} ms, "
                   f"p99 {r['fifo']['since_ready']['p99_ms']} ms.")
        out.append(f"Backlog drain: lane phase {'complete' if ld['drained'] else 'TIME-BOXED'} "
                   f"({ld['delivered']}/{ld['expected']} webhooks, {ld['seconds_from_restart']} s after restart); "
                   f"FIFO phase {'complete' if fd['drained'] else 'TIME-BOXED'} ({fd['delivered']}/{fd['expected']}, "
                   f"{fd['seconds_from_restart']} s). Validation also consumes every case.status_changed event.")
    c = s.get("scale") or {}
    if c and "error" not in c:
        out.append(f"Scale: documents from {c['domain_walks']:,} template cases walked through the real domain "
                   f"(Case.open + triage/refer/acknowledge/plan/remediation/validation/withdraw with varied "
                   f"times; {c['domain_walk_ms']} ms per walk, i.e. {c['full_walk_for_every_doc_would_take_s']} s "
                   f"if every one of {c['requested']:,} documents were walked), each document a copy of one of "
                   f"its supplier's templates with its own _id/case_ref/worker_key; {c['suppliers']} suppliers, "
                   f"Zipf 0.9 (biggest {c['biggest_supplier']}: {c['biggest_supplier_cases']:,} cases).")
        if c.get("time_boxed"):
            out.append(f"Scale: the load was TIME-BOXED at {c['budget_seconds']:.0f} s to keep the run within "
                       f"its time limit: {c['loaded']:,} of {c['requested']:,} cases loaded at "
                       f"{c['docs_per_s']} docs/s (nx-27017 turns insert_many into one insert_one per document); "
                       f"the full load would take ~{c['projected_full_load_seconds']:.0f} s. Run "
                       "`python -m bench all --only scale --scale-budget 0` for the full size.")
    return out
