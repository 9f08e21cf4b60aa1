#!/usr/bin/env bash
# Install, start the whole system locally and drive the demo grievance through it.
# Extra arguments go to scripts/demo.py (e.g. --exit to stop after the demo).
source "$(dirname "$0")/bootstrap.sh"
exec python -m scripts.demo "$@"
