# Sourced by the entry scripts: a project-local virtualenv with the pinned
# dependencies, (re)installed only when pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/system-packages.sh"     # RabbitMQ, Chromium + driver, fonts (apt, when missing)
PYTHON_BIN="${PYTHON:-python3}"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv in .venv" >&2
  "$PYTHON_BIN" -m venv "$VENV"
fi
STAMP="$VENV/.ilm-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "installing dependencies into .venv" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip<25" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -c "import nameko, pymongo, nx_27017" # fail loudly if the install did not work
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
