"""``python -m bench all [--quick]``: see bench/cli.py. eventlet must patch sockets
before anything imports them (as in scripts/demo.py and tests/conftest.py)."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

from bench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
