"""A smoke entry for CI: ``python -m bench.smoke`` runs ``python -m bench all --quick``
and fails (exit 1) if any stage failed or produced no figure. Goals are reported,
not enforced: a shared CI machine's timings are not the bench machine's.

From Python: ``bench.smoke.run()`` returns the results dict (call it from a process
that has already done ``eventlet.monkey_patch()``, like the test suite's conftest).
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402

from bench import cli, report  # noqa: E402

REQUIRED = {
    "broker": ("publish_msg_s", "consume_msg_s"),
    "throughput": ("grievances_per_s",),
    "retaliation": ("lane", "fifo", "backup"),
    "rpc": ("single", "concurrent"),
    "memory": ("idle",),
    "scale": ("docs_per_s",),
}


def run(extra_args=()) -> dict:
    code = cli.main(["all", "--quick", *extra_args])
    results = json.loads((report.RESULTS_DIR / "latest.json").read_text())
    results["exit_code"] = code
    return results


def problems(results: dict) -> list[str]:
    found = []
    for stage in results.get("stages_run", []):
        data = results["stages"].get(stage)
        if data is None:
            found.append(f"{stage}: no result")
        elif "error" in data:
            found.append(f"{stage}: {data['error']}")
        else:
            found += [f"{stage}: no {k}" for k in REQUIRED.get(stage, ()) if data.get(k) in (None, {})]
    return found


def main() -> int:
    results = run(sys.argv[1:])
    found = problems(results)
    for p in found:
        print(f"bench smoke: {p}", file=sys.stderr)
    return 1 if found or results["exit_code"] else 0


if __name__ == "__main__":
    sys.exit(main())
