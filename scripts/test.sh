#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine (Python 3.11 + pip), then runs
# the whole suite, slow and browser tests included. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -m uv --version >/dev/null 2>&1; then
  python3 -m pip install -q --root-user-action=ignore uv
fi

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "Installing Debian's chromium for the browser tests…" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

python3 -m uv sync --locked
exec python3 -m uv run --locked pytest "$@"
