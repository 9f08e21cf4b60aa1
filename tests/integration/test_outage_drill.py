"""Issue 16's outage drill, compressed (bench/outage.py; `python -m bench outage` runs
the issue's 60 s outages and 300 reports): reports keep arriving while the store is
killed, the broker is cut off from every service, and the store is cut off. Every
report is answered within a second with 201 or 503, every accepted report is cased
with its first webhook delivered exactly once, and nothing is dead-lettered. In its
own process, vhost, nx-27017 and service processes, so the shared stack is untouched."""
import json
import subprocess
import sys

import pytest

from bench.outage import ANSWER_WITHIN, PHASES
from scripts.stack import ROOT

pytestmark = pytest.mark.integration


def test_reports_during_store_and_broker_outages_are_answered_fast_and_none_is_lost(tmp_path, rabbitmq):
    done = subprocess.run([sys.executable, "-m", "bench", "outage", "--outage", "6", "--reports", "50",
                           "--settle", "3", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "outage.json").read_text())
    print((tmp_path / "outage.md").read_text())
    statuses = {name: p["statuses"] for name, p in result["phases"].items()}
    assert result["other_answers"] == [], statuses           # never a 500, a timeout or a reset
    assert result["slowest_answer_ms"] <= ANSWER_WITHIN * 1000
    assert statuses[PHASES[0]].get("503") and statuses[PHASES[2]].get("503")   # the store's outages were seen
    assert set(statuses[PHASES[1]]) == {"201"}               # the broker's: accepted durably (outbox)
    assert result["accepted"] >= 30
    assert result["cased"] == result["first_webhooks"] == result["accepted"]
    assert result["duplicate_webhooks"] == 0 and result["dead_letters"] == 0
