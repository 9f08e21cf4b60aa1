"""The bench cannot rot: CI runs ``python -m bench all --quick`` once, in its own
process, vhost and Mongo server, and checks that every stage produced its figures
(not the figures themselves: a shared CI machine's timings are not the bench's)."""
import json
import subprocess
import sys

import pytest

from bench.smoke import problems
from scripts.stack import ROOT

pytestmark = pytest.mark.integration


def test_quick_bench_runs_every_stage(tmp_path, rabbitmq):
    out = tmp_path / "bench"
    done = subprocess.run([sys.executable, "-m", "bench", "all", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "latest.json").read_text())
    assert set(results["stages_run"]) == {"broker", "throughput", "retaliation", "rpc", "memory", "scale"}
    assert problems(results) == []
    assert results["stages"]["broker"]["publish_msg_s"] > 0
    assert "| stage |" in (out / "latest.md").read_text()
