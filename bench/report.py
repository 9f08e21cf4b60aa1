"""The results as a Markdown table (stdout, latest.md) and JSON (latest.json)."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

GOALS = {
    "throughput_ratio_pct": 15.0,     # grievances/s vs raw publish-with-confirms msg/s
    "lane_p99_ms": 50.0,              # issue 14: behind the backlog, beside a dripping and a dead endpoint
    "backup_reached_s": 30.0,
    "fifo_over_lane": 20.0,
    "rpc_p99_ms": 15.0,
    "idle_rss_mb": 150.0,
    "scale_rpc_ms": 200.0,
}


def _fmt(v, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        v = round(v, digits)
        if v == int(v) and abs(v) >= 100:
            v = int(v)
    return f"{v:,}{unit}" if isinstance(v, (int, float)) else f"{v}{unit}"


def _met(ok) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def rows(results: dict) -> list[tuple[str, str, str, str, str]]:
    """(stage, measure, result, goal, met) rows; evaluates goals into results['goals']."""
    s = results.get("stages", {})
    out, goals = [], []

    def row(stage, measure, value, goal="", ok=None):
        out.append((stage, measure, value, goal, _met(ok) if goal else ""))
        if goal:
            goals.append({"stage": stage, "measure": measure, "result": value, "goal": goal, "met": ok})

    def err(stage, data):
        row(stage, "error", f"`{str(data.get('error'))[:160]}`")

    b = s.get("broker")
    if b and "error" in b:
        err("1 broker", b)
    elif b:
        row("1 broker", f"pika publish, persistent + confirms ({b['messages']:,} msgs, {b['payload_bytes']} B)",
            _fmt(b["publish_msg_s"], " msg/s"))
        row("1 broker", f"pika consume, manual ack, prefetch {b['prefetch']}", _fmt(b["consume_msg_s"], " msg/s"))

    t = s.get("throughput")
    if t and "error" in t:
        err("2 throughput", t)
    elif t:
        ratio = None
        if b and "publish_msg_s" in b and t.get("grievances_per_s"):
            ratio = 100 * t["grievances_per_s"] / b["publish_msg_s"]
            t["ratio_to_raw_publish_pct"] = round(ratio, 1)
        row("2 throughput", f"grievances end to end ({t['completed']}/{t['grievances']} done, "
            f"{t['concurrency']} clients)", _fmt(t["grievances_per_s"], "/s", 2))
        row("2 throughput", "ratio to raw publish-with-confirms rate", _fmt(ratio, " %"),
            f">= {GOALS['throughput_ratio_pct']:.0f} %", None if ratio is None else ratio >= GOALS["throughput_ratio_pct"])
        lat = t["latency"]
        row("2 throughput", "latency per grievance (POST .. 'referred' webhook) p50 / p99",
            f"{_fmt(lat['p50_ms'], ' ms')} / {_fmt(lat['p99_ms'], ' ms')}")

    r = s.get("retaliation")
    if r and "error" in r:
        err("3 retaliation", r)
    elif r:
        lane, fifo = r["lane"], r["fifo"]
        ok_lane = lane["p99_ms"] is not None and lane["n"] == r["alerts"] and lane["p99_ms"] <= GOALS["lane_p99_ms"]
        row("3 retaliation", f"lane: alert latency under a {r['backlog']:,}-event backlog, beside a dripping and "
            f"a dead endpoint, p50 / p99 / max ({lane['n']}/{r['alerts']} alerts)",
            f"{_fmt(lane['p50_ms'], ' ms')} / {_fmt(lane['p99_ms'], ' ms')} / {_fmt(lane['max_ms'], ' ms')}",
            f"p99 <= {GOALS['lane_p99_ms']:.0f} ms", ok_lane)
        row("3 retaliation", f"FIFO: marker behind the same backlog, p50 / p99 / max ({fifo['n']}/{r['alerts']})",
            f"{_fmt(fifo['p50_ms'], ' ms')} / {_fmt(fifo['p99_ms'], ' ms')} / {_fmt(fifo['max_ms'], ' ms')}")
        b = r.get("backup") or {}
        if b:
            worst = b.get("max_ms")
            row("3 retaliation", f"backup contact e-mailed when no safeguarding recipient took the alert "
                f"(after {b['after_seconds']:g} s), p50 / max ({b['reached']}/{b['alerts']} alerts)",
                f"{_fmt(b.get('p50_ms'), ' ms')} / {_fmt(worst, ' ms')}", f"<= {GOALS['backup_reached_s']:.0f} s",
                None if worst is None else b["reached"] == b["alerts"] and worst <= 1000 * GOALS["backup_reached_s"])
        ratio = r.get("fifo_over_lane_p99")
        row("3 retaliation", "FIFO p99 / lane p99", _fmt(ratio, "x"), f">= {GOALS['fifo_over_lane']:.0f}x",
            None if ratio is None else ratio >= GOALS["fifo_over_lane"])
        d = r.get("lane_drain", {})
        row("3 retaliation", "ordinary webhooks drained after restart (notifications)",
            f"{_fmt(d.get('ordinary_webhooks_per_s'), '/s')} ({'drained' if d.get('drained') else 'time-boxed'})")

    p = s.get("rpc")
    if p and "error" in p:
        err("4 rpc", p)
    elif p:
        for key, label in (("single", "1 caller"), ("concurrent", f"{p.get('concurrent', {}).get('callers')} callers")):
            v = p.get(key)
            if v:
                ok = v["p99_ms"] is not None and v["p99_ms"] <= GOALS["rpc_p99_ms"]
                row("4 rpc", f"get_case, {label}: p50 / p99 ({v['n']:,} calls, {v['calls_per_s']:,} calls/s)",
                    f"{_fmt(v['p50_ms'], ' ms')} / {_fmt(v['p99_ms'], ' ms')}",
                    f"p99 <= {GOALS['rpc_p99_ms']:.0f} ms", ok)

    m = s.get("memory")
    if m and "error" in m:
        err("5 memory", m)
    elif m:
        idle = m.get("idle", {})
        later = [(k, label) for k, label in (("after_throughput", "after throughput"), ("after_scale", "after scale"))
                 if m.get(k)]
        for name in ("intake", "remediation", "validation", "notifications"):
            if name in idle:
                v = idle[name]["rss_mb"]
                values = [_fmt(v, " MB")] + [_fmt(m[k].get(name, {}).get("rss_mb"), " MB") for k, _ in later]
                row("5 memory", f"{name} RSS " + " / ".join(["idle"] + [label for _, label in later]),
                    " / ".join(values), f"idle <= {GOALS['idle_rss_mb']:.0f} MB",
                    None if v is None else v <= GOALS["idle_rss_mb"])

    c = s.get("scale")
    if c and "error" in c:
        err("6 scale", c)
    elif c:
        note = f"{c['loaded']:,} of {c['requested']:,}" + (" (time-boxed)" if c["time_boxed"] else "")
        row("6 scale", f"load cases via {c['insert_method']}, batches of {c['batch']} ({note})",
            _fmt(c["docs_per_s"], " docs/s"))
        counted = (c.get("report_counts") or {}).get("cases_counted")
        for key in ("supplier_scorecard", "public_report", "refresh_public_report", "report_tables",
                    "refresh_report_tables", "partner_report_tables"):
            v = c.get(key)
            if v is None:
                continue
            at = f"{counted:,} cases counted" if key.endswith("report_tables") and counted else f"{c['loaded']:,} cases"
            if not v.get("available", True):
                row("6 scale", f"remediation.{key} at {at}", v.get("error", "not available"),
                    f"<= {GOALS['scale_rpc_ms']:.0f} ms", None)
            elif v.get("error") and "cold_ms" not in v:
                row("6 scale", f"remediation.{key} at {at}", f"error: `{v['error'][:120]}`",
                    f"<= {GOALS['scale_rpc_ms']:.0f} ms", False)
            elif v:
                warm = (v.get("warm") or {}).get("p50_ms")
                worst = max(x for x in (v.get("cold_ms"), (v.get("warm") or {}).get("max_ms")) if x is not None)
                label = "cold / warm p50" if warm is not None else "one call"
                value = f"{_fmt(v['cold_ms'], ' ms')}" + (f" / {_fmt(warm, ' ms')}" if warm is not None else "")
                row("6 scale", f"remediation.{key} at {at} ({label})", value,
                    f"<= {GOALS['scale_rpc_ms']:.0f} ms", worst <= GOALS["scale_rpc_ms"])
    results["goals"] = goals
    return out


def markdown_table(results: dict) -> str:
    lines = ["| stage | measure | result | goal | met |", "|---|---|---|---|---|"]
    for stage, measure, value, goal, met in rows(results):
        lines.append(f"| {stage} | {measure} | {value} | {goal} | {met} |")
    return "\n".join(lines)


def markdown(results: dict, table: str) -> str:
    m = results["machine"]
    parts = [
        f"# ILM bench: `{results['command']}`",
        "",
        f"Run {results['started_at']} ({results['mode']}), {results['duration_seconds']:.0f} s in all. "
        "Every figure below comes from this run.",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['os']}; Python {m['python']}; "
        f"RabbitMQ {m['rabbitmq']}; Mongo: {m['mongo']}; nameko {m['nameko']}, pika {m['pika']}, "
        f"pymongo {m['pymongo']}, eventlet {m['eventlet']}.",
        "",
        table,
        "",
        "## Notes",
        "",
    ]
    parts += [f"- {n}" for n in results.get("notes", [])]
    s = results.get("stages", {})
    t = s.get("throughput") or {}
    if t.get("cpu"):
        parts += ["", "## CPU during the throughput stage", "",
                  f"{t['cpu']['wall_seconds']} s wall; the bench's processes used {t['cpu']['machine_busy_pct']} % "
                  f"of the machine ({t['cpu']['cores']} cores), other processes "
                  f"{t['cpu'].get('other_processes_pct_of_machine')} %.", "",
                  "| process | CPU s | % of one core |", "|---|---|---|"]
        for name, v in sorted(t["cpu"]["processes"].items(), key=lambda kv: -kv[1]["cpu_seconds"]):
            parts.append(f"| {name} | {v['cpu_seconds']} | {v['cpu_pct_of_one_core']} |")
        steps = t.get("steps") or {}
        if steps:
            parts += ["", "Client-side step latency (p50 / p99): " + "; ".join(
                f"{k} {v['p50_ms']} / {v['p99_ms']} ms" for k, v in steps.items())]
    cpu_lines = []
    for name, v in s.items():
        cpu = v.get("cpu") if isinstance(v, dict) else None
        if cpu and name != "throughput":
            top = sorted(cpu["processes"].items(), key=lambda kv: -kv[1]["cpu_seconds"])[:5]
            cpu_lines.append(f"- {name}: {cpu['wall_seconds']} s wall, bench processes {cpu['machine_busy_pct']} % "
                             f"of the machine, others {cpu.get('other_processes_pct_of_machine')} %; "
                             + ", ".join(f"{k} {x['cpu_pct_of_one_core']} %" for k, x in top))
    r = s.get("retaliation") or {}
    for phase in ("lane_drain", "fifo_drain"):
        cpu = (r.get(phase) or {}).get("cpu")
        if cpu:
            top = sorted(cpu["processes"].items(), key=lambda kv: -kv[1]["cpu_seconds"])[:6]
            cpu_lines.append(f"- retaliation {phase.replace('_', ' ')} (from notifications' restart): "
                             f"{cpu['wall_seconds']} s wall, bench processes {cpu['machine_busy_pct']} % of the machine, "
                             f"others {cpu.get('other_processes_pct_of_machine')} %; "
                             + ", ".join(f"{k} {x['cpu_pct_of_one_core']} %" for k, x in top))
    if cpu_lines:
        parts += ["", "CPU of the other stages (% of one core; 'ended child processes': services stopped during the stage, the pika publisher, py-spy):",
                  ""] + cpu_lines
    for stage in ("throughput", "rpc"):
        prof = (s.get(stage) or {}).get("profile") or {}
        if not prof:
            continue
        parts += ["", f"## Profile of the {stage} stage (py-spy, CPU samples, idle excluded)", ""]
        for name, v in prof.items():
            if "by_library" not in v:
                parts.append(f"- {name}: {v.get('error') or 'no samples'}")
                continue
            libs = ", ".join(f"{x['what']} {x['pct']} %" for x in v["by_library"][:8])
            top = ", ".join(f"`{x['what']}` {x['pct']} %" for x in v["ilm_functions_inclusive"][:8])
            parts.append(f"- **{name}** ({v['samples']} samples; flame graph `{v['flamegraph']}`): {libs}. "
                         f"ILM functions (inclusive): {top}")
    c = s.get("scale") or {}
    if c.get("store_probes"):
        parts += ["", f"## nx-27017 queries at {c['loaded']:,} cases (from the bench process)", "",
                  "| query | ms |", "|---|---|"]
        for p in c["store_probes"]:
            parts.append(f"| {p['what']} | {p['ms']}{' (error)' if 'error' in p else ''} |")
    return "\n".join(parts) + "\n"


def write(results: dict, table: str, out_dir: Path = RESULTS_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(results, table)
    written = []
    for stem in ("latest", results["mode"]):
        for suffix, content in ((".json", json.dumps(results, indent=2, default=str) + "\n"), (".md", text)):
            path = out_dir / f"{stem}{suffix}"
            path.write_text(content)
            written.append(path)
    return written
