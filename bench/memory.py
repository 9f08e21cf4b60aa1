"""Resident memory of each service process (VmRSS / VmHWM from /proc/<pid>/status)."""
from __future__ import annotations

from bench.common import rss_mb


def snapshot(system) -> dict:
    out = {name: dict(rss_mb(pid), pid=pid) for name, pid in system.pids().items()}
    if system.mongo and system.mongo.proc:
        out["nx-27017"] = dict(rss_mb(system.mongo.proc.pid), pid=system.mongo.proc.pid)
    return out
