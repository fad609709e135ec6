#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (and a PgBouncer in front of it) on loopback ports, for the
# sampler's end-to-end tests and CI. Runs as an unprivileged user (postgres when started as root).
#
#   scripts/pg-test-cluster.sh start    # prints export lines: eval "$(scripts/pg-test-cluster.sh start)"
#   scripts/pg-test-cluster.sh pause    # stops the server, keeps its data (a database going down)
#   scripts/pg-test-cluster.sh resume   # starts it again
#   scripts/pg-test-cluster.sh stop     # stops everything and removes the directory
#
# Settings: SKEIN_PG_DIR (default /tmp/skein-pg-test), SKEIN_PG_PORT (55432), SKEIN_PGBOUNCER_PORT (55433).
set -euo pipefail

DIR="${SKEIN_PG_DIR:-/tmp/skein-pg-test}"
# pause/resume reuse the ports `start` chose (kept in $DIR/ports), so a cluster started on other
# ports never comes back on the default ones.
if [ "${1:-}" != start ] && [ -f "$DIR/ports" ]; then
  # shellcheck disable=SC1091
  . "$DIR/ports"
fi
PORT="${SKEIN_PG_PORT:-55432}"
BOUNCER_PORT="${SKEIN_PGBOUNCER_PORT:-55433}"
# A throwaway password, so tests can check that it never appears in Skein's output.
PASSWORD="skein-test-secret"
MAX_CONNECTIONS=20

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$BIN" ] || { echo "pg-test-cluster: PostgreSQL not installed (apt-get install postgresql)" >&2; exit 1; }

# Postgres and PgBouncer refuse to run as root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

# The server outlives this script: it must not keep the caller's descriptors (a test runner
# waiting for EOF on one would wait for ever). 255 is bash's own script descriptor.
close_inherited() {
  local fd
  for fd in $(ls /proc/$$/fd 2>/dev/null); do
    case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}

pg_start() {
  close_inherited
  as_owner "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/postgres.log' -w -t 30 \
    -o \"-p $PORT -c listen_addresses=127.0.0.1 -c max_connections=$MAX_CONNECTIONS -k '$DIR'\" start" >/dev/null
}

pg_stop() {
  [ -f "$DIR/data/postmaster.pid" ] && as_owner "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w -t 30 stop" >/dev/null || true
}

bouncer_stop() {
  if [ -f "$DIR/pgbouncer.pid" ]; then
    kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true
    rm -f "$DIR/pgbouncer.pid"
  fi
}

case "${1:-}" in
  start)
    pg_stop
    bouncer_stop
    rm -rf "$DIR"
    mkdir -p "$DIR"
    printf 'SKEIN_PG_PORT=%s\nSKEIN_PGBOUNCER_PORT=%s\n' "$PORT" "$BOUNCER_PORT" > "$DIR/ports"
    printf '%s\n' "$PASSWORD" > "$DIR/pwfile"
    [ "$(id -u)" = 0 ] && chown -R postgres "$DIR"
    as_owner "'$BIN/initdb' -D '$DIR/data' -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile='$DIR/pwfile'" >/dev/null
    pg_start
    if command -v pgbouncer >/dev/null 2>&1; then
      cat > "$DIR/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$PORT dbname=postgres user=postgres password=$PASSWORD
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $DIR
auth_type = scram-sha-256
auth_file = $DIR/userlist.txt
admin_users = postgres
stats_users = skein_stats
pool_mode = transaction
default_pool_size = 2
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
      # skein_stats: a console user that may only SHOW (the least a sampler needs).
      printf '"postgres" "%s"\n"skein_stats" "%s"\n' "$PASSWORD" "$PASSWORD" > "$DIR/userlist.txt"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR/pgbouncer.ini" "$DIR/userlist.txt"
      as_owner "pgbouncer -d -q '$DIR/pgbouncer.ini'" </dev/null
      echo "export SKEIN_TEST_PGBOUNCER_URL=postgres://postgres:$PASSWORD@127.0.0.1:$BOUNCER_PORT/pgbouncer?sslmode=disable"
    fi
    echo "export SKEIN_TEST_PG_URL=postgres://postgres:$PASSWORD@127.0.0.1:$PORT/postgres?sslmode=disable"
    echo "export SKEIN_TEST_PG_DIR=$DIR"
    ;;
  pause)
    pg_stop
    ;;
  resume)
    as_owner "'$BIN/pg_ctl' -D '$DIR/data' status" >/dev/null 2>&1 || pg_start
    ;;
  stop)
    bouncer_stop
    pg_stop
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start|pause|resume|stop" >&2
    exit 2
    ;;
esac
