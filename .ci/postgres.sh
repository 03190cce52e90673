#!/usr/bin/env bash
# A throwaway PostgreSQL for the sink tests, on 127.0.0.1 only.
#
#   eval "$(.ci/postgres.sh)"     # install if missing, start (or reuse), print the exports
#   .ci/postgres.sh install       # only install (the pytest fixture then starts its own server)
#   .ci/postgres.sh stop          # stop the server and delete its files
#
# Installs Debian's `postgresql` if no initdb is found, then runs a cluster in $STATE (default
# /tmp/flowctl-ci-pg) as a non-root user (`postgres` when run as root), with password auth and
# log_statement=all. Prints `export FLOWCTL_TEST_PG_DSN=…`, `FLOWCTL_TEST_PG_LOG=…` and
# `FLOWCTL_PG_DSN=…` (read by examples/sinks/postgres.flow).
# Idempotent: a running server from an earlier call is reused. Progress goes to stderr.
set -euo pipefail

STATE="${FLOWCTL_PG_STATE:-/tmp/flowctl-ci-pg}"
DB=flowctl_test
ROLE=flowctl

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local initdb
  initdb=$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
  if [[ -z "$initdb" ]]; then
    initdb=$(command -v initdb || true)
  fi
  [[ -n "$initdb" ]] && dirname "$initdb"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  say "no free port found"
  return 1
}

print_env() {
  cat "$STATE/env"
}

action="${1:-start}"
case "$action" in
  start | install | stop) ;;
  *)
    say "usage: $0 [start|install|stop]"
    exit 2
    ;;
esac

bindir=$(find_bindir || true)

if [[ "$action" == "stop" ]]; then
  if [[ -n "$bindir" && -d "$STATE/data" ]]; then
    as_owner "$bindir/pg_ctl" -D "$STATE/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE"
  say "stopped"
  exit 0
fi

if [[ -z "$bindir" ]]; then
  say "installing PostgreSQL from Debian packages"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq >&2
  "${SUDO[@]}" apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir) || { say "no initdb even after installing postgresql"; exit 1; }
fi

if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

if [[ "$action" == "install" ]]; then
  say "PostgreSQL binaries in $bindir"
  exit 0
fi

if [[ -f "$STATE/env" ]] && as_owner "$bindir/pg_ctl" -D "$STATE/data" status >/dev/null 2>&1; then
  say "reusing the server in $STATE"
  print_env
  exit 0
fi

# A stale or half-made state: start over.
if [[ -d "$STATE/data" ]]; then
  as_owner "$bindir/pg_ctl" -D "$STATE/data" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$STATE"
mkdir -p "$STATE"
password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" >"$STATE/pw"
chmod 600 "$STATE/pw"
if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$STATE"; fi

say "initdb with $bindir"
as_owner "$bindir/initdb" -D "$STATE/data" -U "$ROLE" --pwfile="$STATE/pw" --auth=scram-sha-256 \
  -E UTF8 --locale=C --no-sync >/dev/null
rm -f "$STATE/pw"

port=$(free_port)
as_owner "$bindir/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w start -o \
  "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c log_statement=all \
   -c log_line_prefix='%m [%p] %d %a ' -c fsync=off -c synchronous_commit=off \
   -c full_page_writes=off -c max_connections=40" >/dev/null

PGPASSWORD="$password" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$ROLE" "$DB"

umask 077
{
  echo "export FLOWCTL_TEST_PG_DSN='postgresql://$ROLE:$password@127.0.0.1:$port/$DB'"
  echo "export FLOWCTL_TEST_PG_LOG='$STATE/server.log'"
  echo "export FLOWCTL_PG_DSN='postgresql://$ROLE:$password@127.0.0.1:$port/$DB'"
} >"$STATE/env"
if [[ $(id -u) -eq 0 ]]; then chmod 644 "$STATE/server.log" 2>/dev/null || true; fi
say "PostgreSQL on 127.0.0.1:$port, database $DB"
print_env
