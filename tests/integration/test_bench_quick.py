"""The bench cannot rot: CI runs ``python -m bench all --quick`` once, in its own
process, vhost and Mongo server, and checks that every stage produced its figures
(not the figures themselves: a shared CI machine's timings are not the bench's)."""
import json
import os
import subprocess
import sys

import pytest

from bench.cli import NEEDS_STACK
from bench.smoke import problems
from scripts.stack import ROOT

pytestmark = pytest.mark.integration


def test_quick_bench_runs_every_stage(tmp_path, rabbitmq):
    out = tmp_path / "bench"
    # The backup contact is told after 3 s here (20 s by default: the full bench's figure).
    env = {**os.environ, "ALERT_BACKUP_AFTER_SECONDS": "3"}
    done = subprocess.run([sys.executable, "-m", "bench", "all", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "latest.json").read_text())
    assert set(results["stages_run"]) == {"broker", "throughput", "retaliation", "rpc", "memory", "scale"}
    assert problems(results) == []
    assert results["stages"]["broker"]["publish_msg_s"] > 0
    assert results["isolated_vhost"] is True                  # its own vhost: no other stack's queues
    on_stack = NEEDS_STACK - {"memory"}                         # memory only reads the processes' RSS
    assert {name: results["stages"][name]["dead_lettered"] for name in on_stack} == dict.fromkeys(on_stack, 0)
    backup = results["stages"]["retaliation"]["backup"]
    assert backup["reached"] == backup["alerts"] > 0 and backup["after_seconds"] == 3
    assert "| stage |" in (out / "latest.md").read_text()
