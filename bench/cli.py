"""``python -m bench all [--quick] [--only broker,throughput,...] [--profile]``

Stages (in this order): broker, throughput, memory, rpc, retaliation, scale. The
bench makes its own RabbitMQ vhost, nx-27017 (free port, temporary data dir) and
stack, and removes them at the end, also after a failure. Progress goes to stderr,
the table to stdout, the results to bench/results/latest.{json,md}.
"""
from __future__ import annotations

import argparse
import signal
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
        "alerts": 50, "rpc_calls": 2000, "callers": 50, "cases": 1_000_000, "scale_budget": 240.0,
        "drain_timeout": 240.0, "time_budget": 570.0}
QUICK = {"broker_messages": 2000, "grievances": 60, "concurrency": 20, "backlog": 500,
         "alerts": 10, "rpc_calls": 200, "callers": 50, "cases": 20_000, "scale_budget": 20.0,
         "drain_timeout": 30.0, "time_budget": 55.0}
# Seconds kept back from the time budget for the scale stage's queries and shutdown.
RESERVE = {"full": 60.0, "quick": 10.0}
HELP = {"scale_budget": "max seconds of loading cases (0: no limit)",
        "drain_timeout": "max seconds to wait for a retaliation backlog to drain",
        "time_budget": "the scale load stops early so that the whole run fits in this many seconds "
                       "(0: no limit)"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["all"], help="run the benchmark stages")
    p.add_argument("--quick", action="store_true", help="small sizes (under a minute; for CI)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(STAGES)}")
    p.add_argument("--profile", action="store_true",
                   help="py-spy the services during the throughput and rpc stages (flame graphs and "
                        "collapsed stacks in <out>/profile)")
    p.add_argument("--keep", action="store_true", help="keep the temporary dir (logs, nx-27017 data)")
    p.add_argument("--out", type=Path, default=report.RESULTS_DIR, help="results directory")
    p.add_argument("--log-level", default=None, help="LOG_LEVEL of the services (default: theirs, INFO)")
    p.add_argument("--scale-offline-load", action="store_true",
                   help="stop the remediation service while the scale stage loads cases (its timers "
                        "otherwise compete for nx-27017), start it again for the timed RPCs")
    for key, value in FULL.items():
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=None,
                       help=f"{HELP.get(key, '')} (full {value:,}, quick {QUICK[key]:,})".strip())
    return p


def _stage(results: dict, name: str, fn, system=None):
    started = time.monotonic()
    meter = None
    if system is not None and system.stack is not None:
        meter = CpuMeter(dict(system.pids(), **{"nx-27017": system.mongo.proc.pid}), system.pids).start()
    dead_before = system.dead_letters() if system is not None and system.stack is not None else None
    try:
        value = fn()
        if meter:
            value.setdefault("cpu", meter.stop())
        if system is not None and system.stack is not None:
            dead = (system.dead_letters() or 0) - (dead_before or 0)
            value["dead_lettered"] = dead
            if dead:
                say(f"{name}: WARNING {dead} messages were dead-lettered during this stage "
                    "(see the services' event_rejected / event_dead_lettered logs)")
    except Exception as exc:  # noqa: BLE001 - one stage failing must not hide the others
        say(f"{name}: FAILED {exc!r}")
        traceback.print_exc(file=sys.stderr)
        value = {"error": repr(exc)[:1000]}
        if system is not None:
            system.keep = True        # keep the services' logs of a failed stage
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
    if overridden or args.only or args.scale_offline_load:
        mode = "custom"
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.monotonic()
    results = {"command": command.strip(), "mode": mode, "stages_run": only, "params": params,
               "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": machine_info(), "stages": {}, "notes": []}
    say(f"{mode} run: {', '.join(only)}; {params}")

    from bench.harness import BenchSystem

    def terminate(signum, frame):      # CI timeouts send SIGTERM: clean up like Ctrl-C
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)
    system = BenchSystem(keep=args.keep, log_level=args.log_level)
    with system:
        results["isolated_vhost"] = system.isolated
        if "broker" in only:
            from bench import broker
            _stage(results, "broker", lambda: broker.call(
                "baseline", "--uri", system.amqp_uri, "--count", str(params["broker_messages"])))
        if NEEDS_STACK & set(only):
            try:
                system.start_services()
            except Exception as exc:  # noqa: BLE001 - reported, the results are still written
                say(f"starting the system FAILED: {exc!r}")
                traceback.print_exc(file=sys.stderr)
                results["stages"]["setup"] = {"error": repr(exc)[:1000]}
                system.keep = True
            else:
                try:
                    _run_stack_stages(system, results, only, params, args,
                                      deadline=started + params["time_budget"] - RESERVE["quick" if args.quick else "full"]
                                      if params["time_budget"] else None)
                except KeyboardInterrupt as exc:     # Ctrl-C / SIGTERM: write what was measured
                    say(f"interrupted ({exc}); writing the results measured so far")
                    results["interrupted"] = True
                    results["stages"].setdefault("interrupted", {"error": f"interrupted ({exc})"})
    results["duration_seconds"] = round(time.monotonic() - started, 1)
    results["notes"] = notes(results, system)
    table = report.markdown_table(results)
    paths = report.write(results, table, args.out)
    print(table)
    say(f"wrote {', '.join(str(p) for p in paths)} in {results['duration_seconds']:.0f}s")
    return 1 if any("error" in v for v in results["stages"].values() if isinstance(v, dict)) else 0


def _run_stack_stages(system, results, only, params, args, deadline=None):
    from bench import retaliation, rpc_latency, scale, throughput
    mem = {}
    if "memory" in only:
        time.sleep(3)                      # eager timers have run; nothing else has
        mem["idle"] = memory.snapshot(system)
        say("memory idle: " + ", ".join(f"{k} {v['rss_mb']} MB" for k, v in mem["idle"].items()))
    case_ref = None
    if "throughput" in only:
        profiler = _profiler(system, args, "throughput", ("intake", "remediation", "notifications"))

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
            profiler = _profiler(system, args, "rpc", ("remediation",))
            try:
                out = rpc_latency.run(system, ref, params["rpc_calls"], params["callers"], profiler)
            finally:
                if profiler:
                    profiler.stop()
            if profiler:
                out["profile"] = _relative(profiler.results)
            return out
        _stage(results, "rpc", run_rpc, system)
    if "retaliation" in only:
        _stage(results, "retaliation", lambda: retaliation.run(
            system, params["backlog"], params["alerts"], drain_timeout=params["drain_timeout"]), system)
    if "scale" in only:
        budget = params["scale_budget"]
        if deadline is not None:
            left = max(10.0, deadline - time.monotonic())
            budget = min(budget, left) if budget else left
        _stage(results, "scale", lambda: scale.run(system, params["cases"], budget,
                                                   offline=args.scale_offline_load), system)
        if "memory" in only:
            mem["after_scale"] = memory.snapshot(system)


def _profiler(system, args, tag: str, services: tuple):
    if not args.profile:
        return None
    from bench.profile import Profiler, py_spy
    if not py_spy():
        say("profile: py-spy is not installed (pip install py-spy into the venv); profiling skipped")
        return None
    pids = {k: v for k, v in system.pids().items() if k in services}
    return Profiler(pids, args.out / "profile", tag)


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
    s = results["stages"]
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
        curve = c.get("load_curve") or []
        if len(curve) >= 3:
            def rate(a, b):
                return (b["loaded"] - a["loaded"]) / (b["seconds"] - a["seconds"])
            first, last = rate({"seconds": 0, "loaded": 0}, curve[0]), rate(curve[-2], curve[-1])
            out.append(f"Scale: load rate {first:.0f} docs/s over the first {curve[0]['seconds']:.0f} s, "
                       f"{last:.0f} docs/s over the last interval before {curve[-1]['loaded']:,} documents "
                       + ("(remediation running: its 15 s gauge timer, refresh_case_gauges, queries the same "
                          "nx-27017)." if c.get("remediation_running_during_load") else
                          "(remediation stopped during the load)."))
        br = c.get("business_records") or {}
        if "businesses" in br:
            out.append(f"Scale: a bulk load bypasses the case events that feed the scorecard counters, so the "
                       f"bench rebuilt them the backfill way (BusinessRecord.from_cases over each business's loaded "
                       f"cases: {br['businesses']:,} records in {br['from_cases_seconds']} s, stored in "
                       f"business_records in {br['insert_seconds']} s). refresh_public_report ran before "
                       "public_report, so the report read reflects the loaded cases.")
        if c.get("time_boxed"):
            out.append(f"Scale: the load was TIME-BOXED at {c['budget_seconds']:.0f} s to keep the run within "
                       f"its time limit: {c['loaded']:,} of {c['requested']:,} cases loaded at "
                       f"{c['docs_per_s']} docs/s (nx-27017 turns insert_many into one insert_one per document); "
                       f"the full load would take ~{c['projected_full_load_seconds']:.0f} s. Run "
                       "`python -m bench all --only scale --scale-budget 0 --time-budget 0` for the full size.")
    disturbed = []
    for name, v in s.items():
        cpus = [v.get("cpu")] if isinstance(v, dict) else []
        if name == "retaliation" and isinstance(v, dict):
            cpus += [(v.get("lane_drain") or {}).get("cpu"), (v.get("fifo_drain") or {}).get("cpu")]
        worst = max((c.get("other_processes_pct_of_machine") or 0 for c in cpus if c), default=0)
        if worst > 10:
            disturbed.append(f"{name} {worst:.0f} %")
    if disturbed:
        out.append("DISTURBED: CPU used outside the bench's processes (other programs on this machine, "
                   "kernel) during: " + ", ".join(disturbed) + " of the machine; those figures are lower "
                   "than on a quiet machine.")
    dead = {n: v.get("dead_lettered") for n, v in s.items() if isinstance(v, dict) and v.get("dead_lettered")}
    if dead:
        out.append(f"DEAD-LETTERED messages during: {dead} (a contract mismatch between the bench's events "
                   "and the services' code?): see the services' logs (--keep).")
    return out
