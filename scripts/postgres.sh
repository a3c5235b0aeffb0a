#!/usr/bin/env bash
# A throw-away PostgreSQL server for the test suite (the operational-database tests).
#
#   scripts/postgres.sh start        installs Debian's postgresql if no server binaries are found,
#                                    starts a fresh server on 127.0.0.1:<free port> and prints
#                                    "<dir> <admin url>" on stdout; progress goes to stderr
#   scripts/postgres.sh stop <dir>   stops that server and removes <dir>
#
# The data directory, log and unix socket live in one temp dir owned by the server's OS user
# (`postgres` when run as root: initdb refuses to run as root). Authentication is `trust`, for
# 127.0.0.1 only; durability is off (fsync, full_page_writes): the data is thrown away anyway.
# max_connections is raised for the concurrency tests (real threads and processes).
set -euo pipefail

MARKER=observatory-test-postgres

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "postgres.sh: $*" >&2; }

# Runs a command as the server's OS user: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" != 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

# Newest Debian server (/usr/lib/postgresql/<major>/bin), else whatever is on PATH.
find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

install_server() {
  local sudo="" t0
  t0=$(now)
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  say "no PostgreSQL server found; installing Debian's postgresql…"
  $sudo apt-get update -qq </dev/null >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    postgresql </dev/null >/dev/null
  say "installed postgresql in $(since "$t0") s"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A temp dir the server's OS user owns (TMPDIR may not be reachable by `postgres`).
make_dir() {
  local dir
  dir=$(mktemp -d -t "$MARKER.XXXXXX")
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! as_owner test -w "$dir" 2>/dev/null; then
      rm -rf "$dir"
      dir=$(mktemp -d "/tmp/$MARKER.XXXXXX")
      chown postgres: "$dir"
    fi
  fi
  chmod 700 "$dir"
  echo "$dir"
}

READY=""
PG_DIR=""
trap 'exit 130' INT
trap 'exit 143' TERM
# A start that fails half-way leaves nothing behind.
cleanup_unless_ready() {
  local rc=$?
  if [ -n "$PG_DIR" ] && [ -z "$READY" ]; then stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap cleanup_unless_ready EXIT

start() {
  local t0 bindir dir port attempt
  t0=$(now)
  if ! bindir=$(find_bindir); then
    install_server
    bindir=$(find_bindir) || { say "apt-get installed no initdb/pg_ctl"; return 1; }
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    say "running as root but there is no \`postgres\` OS user to own the server"
    return 1
  fi
  dir=$(make_dir)
  PG_DIR=$dir
  echo "$bindir" >"$dir/bindir"
  cd "$dir" # the server's OS user may not be able to enter the caller's directory
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth=trust \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
    { say "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }
  echo "host all all 127.0.0.1/32 trust" | as_owner tee "$dir/data/pg_hba.conf" >/dev/null
  for attempt in 1 2 3; do # the free port can be taken between our probe and the server's bind
    port=$(free_port)
    as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
# $MARKER
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
EOF
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null; then
      READY=1
      echo "$dir postgresql://postgres@127.0.0.1:$port/postgres"
      say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" \
        "ready in $(since "$t0") s ($dir)"
      return 0
    fi
    say "start attempt $attempt on port $port failed:"
    tail -n 5 "$dir/server.log" >&2 || true
  done
  return 1
}

stop() {
  local dir=${1:?usage: postgres.sh stop <dir>} t0 pid
  t0=$(now)
  # Only ever remove a dir this script made.
  case "$(basename "$dir")" in "$MARKER".*) ;; *) say "refusing to remove $dir"; return 1 ;; esac
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    cd "$dir"
    if ! as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1; then
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    cd /
  fi
  rm -rf "$dir"
  say "stopped and removed $dir in $(since "$t0") s"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop <dir>" >&2; exit 2 ;;
esac
