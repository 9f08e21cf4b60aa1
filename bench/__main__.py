"""``python -m bench all [--quick]``: see bench/cli.py; ``python -m bench outage``: the
outage drill (bench/outage.py). eventlet must patch sockets before anything imports
them (as in scripts/demo.py and tests/conftest.py)."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

if __name__ == "__main__":
    if sys.argv[1:2] == ["outage"]:
        from bench.outage import main as drill
        sys.exit(drill(sys.argv[2:]))
    from bench.cli import main
    sys.exit(main())
