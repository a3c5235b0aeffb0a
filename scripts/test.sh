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

# The council-brief tests read the PDF back with poppler's pdftotext and pdftoppm.
if ! command -v pdftotext >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "Installing Debian's poppler-utils for the PDF brief tests…" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
fi

# The Spark tests run pyspark in local mode, on Debian's Java runtime.
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "Installing Debian's openjdk-17-jre-headless for the Spark tests…" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

# The operational-database tests also run on PostgreSQL: a throw-away server for this run,
# stopped and removed on exit (so no `exec` below: it would skip the trap).
if [ -z "${OBSERVATORY_TEST_POSTGRES_URL:-}" ]; then
  if PG_STARTED=$(bash scripts/postgres.sh start); then
    read -r PG_DIR OBSERVATORY_TEST_POSTGRES_URL <<<"$PG_STARTED"
    export OBSERVATORY_TEST_POSTGRES_URL
    # Keep the suite's exit status: a trap's own last command would otherwise replace it.
    trap 'rc=$?; bash scripts/postgres.sh stop "$PG_DIR" || true; exit "$rc"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  else
    echo "PostgreSQL could not be installed or started; the PostgreSQL tests will fail." >&2
  fi
fi

python3 -m uv sync --locked --extra spark
status=0
python3 -m uv run --locked --extra spark pytest "$@" || status=$?
exit "$status"
