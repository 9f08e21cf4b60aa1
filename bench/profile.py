"""Sample the service processes with py-spy while a stage runs (``--profile``).

``py-spy record --format raw --nonblocking`` per process (collapsed stacks, idle
samples excluded: under eventlet a process waiting on its hub is idle), stopped with
SIGINT at the end of the stage. The collapsed stacks are summarised (where CPU goes,
by library and by function) and drawn as flame graphs (SVG, made here: no
flamegraph.pl needed) under bench/results/.
"""
from __future__ import annotations

import html
import shutil
import signal
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

from bench.common import say

# A frame's library, from its file name (py-spy prints paths relative to sys.path).
# Walking up from the sampled (leaf) frame, standard-library frames are transparent:
# json.dumps called by structlog counts as logging.
CATEGORIES = (
    ("(pymongo/", "pymongo (Mongo client)"), ("(bson/", "pymongo (Mongo client)"),
    ("(marshmallow/", "marshmallow (schemas)"),
    ("(structlog/", "logging"), ("(shared/logging.py", "logging"), ("(logging/", "logging"),
    ("(kombu/", "AMQP client (kombu/amqp)"), ("(amqp/", "AMQP client (kombu/amqp)"),
    ("(nameko/", "nameko"),
    ("(eventlet/", "eventlet"), ("(greenlet/", "eventlet"),
    ("(cryptography/", "cryptography"), ("(shared/crypto.py", "cryptography"),
    ("(requests/", "HTTP client (requests/urllib3)"), ("(urllib3/", "HTTP client (requests/urllib3)"),
    ("(werkzeug/", "HTTP server (werkzeug)"),
    ("(prometheus_client/", "metrics (prometheus_client)"), ("(shared/metrics.py", "metrics (prometheus_client)"),
    ("(services/", "ILM code (services, shared)"), ("(shared/", "ILM code (services, shared)"),
)
def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def _match(frame: str) -> str | None:
    for needle, name in CATEGORIES:
        if needle in frame:
            return name
    return None


def _category(frames: list[str]) -> str:
    """Library of a sample. Time inside eventlet's green sockets is charged to the
    library doing the I/O ("pymongo: socket I/O"); samples with nothing but
    eventlet frames are the hub itself (poll, timers, switching)."""
    in_eventlet = False
    for frame in reversed(frames):
        name = _match(frame)
        if name is None:
            continue
        if name == "eventlet":
            in_eventlet = True
            continue
        return f"{name}: socket I/O" if in_eventlet else name
    if in_eventlet:
        return "eventlet hub (poll, timers, switching)"
    leaf = frames[-1] if frames else "?"
    inside = leaf[leaf.rfind("(") + 1:].split(":")[0].rstrip(")")
    return f"stdlib/other ({inside.split('/')[-1]})"


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            stacks.append((stack.split(";"), int(n)))
    return stacks


def summarise(stacks, top: int = 12) -> dict:
    total = sum(n for _, n in stacks)
    if not total:
        return {"samples": 0}
    by_cat, self_fn, incl = Counter(), Counter(), Counter()
    for frames, n in stacks:
        by_cat[_category(frames)] += n
        self_fn[frames[-1]] += n
        for f in set(frames):
            if "(services/" in f or "(shared/" in f:
                incl[f] += n

    def pct(counter, k):
        return [{"pct": round(100 * c / total, 1), "what": w} for w, c in counter.most_common(k)]
    return {"samples": total, "by_library": pct(by_cat, top), "self_top": pct(self_fn, top),
            "ilm_functions_inclusive": pct(incl, top)}


def flamegraph(stacks, out: Path, title: str, width: int = 1600, row: int = 16) -> None:
    """A plain SVG flame graph (hover a box for its function and share)."""
    root: dict = {"n": 0, "kids": {}}
    depth_max = 0
    for frames, n in stacks:
        node = root
        node["n"] += n
        for f in frames:
            node = node["kids"].setdefault(f, {"n": 0, "kids": {}})
            node["n"] += n
        depth_max = max(depth_max, len(frames))
    total = root["n"] or 1
    height = (depth_max + 3) * row
    rects = []

    def draw(node, name, x, depth):
        w = node["n"] / total * width
        if w < 0.4:
            return
        y = height - (depth + 1) * row
        hue = zlib.crc32(_category([name]).encode()) % 360 if name else 0
        label = html.escape(name)
        share = 100 * node["n"] / total
        rects.append(f'<g><title>{label} ({share:.1f}%)</title>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                     f'fill="hsl({hue},70%,65%)"/>'
                     + (f'<text x="{x + 2:.1f}" y="{y + row - 4}" font-size="11">'
                        f'{html.escape(name[: int(w / 6.5)])}</text>' if w > 40 else "") + "</g>")
        cx = x
        for kid_name, kid in sorted(node["kids"].items()):
            draw(kid, kid_name, cx, depth + 1)
            cx += kid["n"] / total * width

    cx = 0.0
    for name, kid in sorted(root["kids"].items()):
        draw(kid, name, cx, 0)
        cx += kid["n"] / total * width
    out.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace"><rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="4" y="14" font-size="13">{html.escape(title)} ({total} samples)</text>'
        + "".join(rects) + "</svg>")


class Profiler:
    """py-spy on several processes for the duration of a stage."""

    def __init__(self, pids: dict[str, int], outdir: Path, tag: str, rate: int = 67):
        self.pids, self.outdir, self.tag, self.rate = pids, Path(outdir), tag, rate
        self.procs: dict[str, subprocess.Popen] = {}
        self.results: dict = {}
        self.binary = py_spy()

    def start(self) -> None:
        if not self.binary or self.procs:
            return
        self.outdir.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            raw = self.outdir / f"{self.tag}-{name}.collapsed.txt"
            self.procs[name] = subprocess.Popen(
                [self.binary, "record", "--pid", str(pid), "--output", str(raw), "--format", "raw",
                 "--rate", str(self.rate), "--nonblocking", "--nolineno"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        say(f"profile: py-spy recording {', '.join(self.pids)} at {self.rate} Hz")

    def stop(self) -> dict:
        if not self.procs:
            return self.results
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for name, proc in self.procs.items():
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            raw = self.outdir / f"{self.tag}-{name}.collapsed.txt"
            if not raw.exists():
                self.results[name] = {"error": (err or b"").decode(errors="replace")[-300:]}
                continue
            stacks = read_collapsed(raw)
            svg = self.outdir / f"{self.tag}-{name}.svg"
            flamegraph(stacks, svg, f"{self.tag}: {name}")
            self.results[name] = dict(summarise(stacks), flamegraph=str(svg), collapsed=str(raw))
        self.procs = {}
        return self.results
