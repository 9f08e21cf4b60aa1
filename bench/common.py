"""Small shared helpers: progress lines, percentiles, machine information."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time

_T0 = time.monotonic()


def say(msg: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def pct(values, q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, min(len(data), int(-(-q * len(data) // 100))))   # ceil(q/100 * n)
    return data[rank - 1]


def summary_ms(seconds) -> dict:
    """p50/p99/max/mean of durations given in seconds, reported in ms."""
    values = [s * 1000 for s in seconds]
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {"n": len(values), "p50_ms": round(pct(values, 50), 2), "p99_ms": round(pct(values, 99), 2),
            "max_ms": round(max(values), 2), "mean_ms": round(sum(values) / len(values), 2)}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def rabbitmq_version() -> str:
    if not shutil.which("rabbitmqctl"):
        return "unknown (rabbitmqctl not found)"
    try:
        out = subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=30)
        lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
        return lines[-1] if out.returncode == 0 and lines else f"unknown (rabbitmqctl exit {out.returncode})"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc!r})"


def _dist_version(name: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001 - informational only
        return None


def machine_info() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "rabbitmq": rabbitmq_version(),
        "mongo": f"nx-27017 {_dist_version('nx-27017') or '?'} (embedded MongoDB wire-protocol server on SQLite)",
        "nameko": _dist_version("nameko"), "pika": _dist_version("pika"),
        "pymongo": _dist_version("pymongo"), "eventlet": _dist_version("eventlet"),
    }


# --- /proc readings ----------------------------------------------------------------

def rss_mb(pid: int) -> dict:
    """VmRSS and VmHWM (peak) of a process in MB, from /proc/<pid>/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"rss_mb": out.get("VmRSS"), "peak_mb": out.get("VmHWM")}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (its threads included)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def pids_named(comm: str) -> list[int]:
    """Pids whose /proc/<pid>/comm is ``comm`` (read-only: used to attribute CPU)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == comm:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _children_cpu_seconds() -> float | None:
    """CPU seconds of this process's children that have exited and been waited for."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU seconds used by each process of the system between start() and stop().

    ``pids_now`` (optional) returns the current pids by name: a service restarted
    during the window is then counted under "<name> (restarted)" from its start,
    and the CPU of processes that ended (the stopped service, the pika publisher,
    py-spy: children of the bench, once waited for) under "ended child processes".
    """

    def __init__(self, pids: dict[str, int], pids_now=None):
        self.pids = dict(pids)
        self.pids_now = pids_now
        self.pids["bench (this process)"] = os.getpid()
        for i, pid in enumerate(pids_named("beam.smp")):
            self.pids["rabbitmq" if i == 0 else f"rabbitmq-{i}"] = pid

    def start(self) -> "CpuMeter":
        self.t0 = time.monotonic()
        self.c0 = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.m0 = machine_busy_seconds()
        self.k0 = _children_cpu_seconds()
        return self

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        out = {"wall_seconds": round(wall, 2), "cores": os.cpu_count(), "processes": {}}

        def put(name, used):
            out["processes"][name] = {"cpu_seconds": round(used, 2),
                                      "cpu_pct_of_one_core": round(100 * used / wall, 1) if wall else None}
        for name, pid in self.pids.items():
            now, before = cpu_seconds(pid), self.c0.get(name)
            if now is not None and before is not None:
                put(name, now - before)
        if self.pids_now:
            for name, pid in self.pids_now().items():
                if name in self.pids and pid != self.pids[name]:
                    used = cpu_seconds(pid)
                    if used is not None:
                        put(f"{name} (restarted)", used)
        k1 = _children_cpu_seconds()
        if k1 is not None and self.k0 is not None and k1 - self.k0 > 0:
            put("ended child processes", k1 - self.k0)
        total = sum(p["cpu_seconds"] for p in out["processes"].values())
        out["total_cpu_seconds"] = round(total, 2)
        out["machine_busy_pct"] = round(100 * total / (wall * (os.cpu_count() or 1)), 1) if wall else None
        m1 = machine_busy_seconds()
        if m1 is not None and self.m0 is not None and wall:
            # CPU used by processes that are not part of the bench (another test run,
            # a build...) and by the kernel: large means this stage was disturbed.
            other = max(0.0, (m1 - self.m0) - total)
            out["other_processes_cpu_seconds"] = round(other, 2)
            out["other_processes_pct_of_machine"] = round(100 * other / (wall * (os.cpu_count() or 1)), 1)
        return out
