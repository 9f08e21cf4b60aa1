#!/usr/bin/env bash
# Install and run the test suite (unit + cross-process integration). Starts
# RabbitMQ if it is down and an embedded Mongo server of its own.
source "$(dirname "$0")/bootstrap.sh"
set +e
python -m pytest "$@"
status=$?
# pytest exits 5 when it collected no test: that is a failure here, not a pass.
[ "$status" -eq 5 ] && echo "no tests were collected" >&2 && exit 1
exit "$status"
