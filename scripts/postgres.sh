#!/usr/bin/env bash
# Starts the PostgreSQL the register's tests and benchmarks use, idempotently,
# and prints its URL on stdout (everything else goes to stderr):
#   - installs Debian's `postgresql` if missing (root only);
#   - picks the machine's cluster (Debian's pg_lsclusters; creates <ver>/main
#     if there is none), makes it listen on 127.0.0.1 only (conf.d/vigie.conf)
#     and starts it with pg_ctlcluster (no systemd here) unless it is running;
#   - creates the role `vigie_test` (password auth over TCP, scram-sha-256, the
#     Debian default for 127.0.0.1) and its database `vigie_test`. The password
#     is made once, at random, and kept with the URL in
#     /etc/postgresql/<ver>/<cluster>/vigie-test.url (root, mode 0600).
# Tests read that file (or VIGIE_TEST_PG_URL) and each makes and drops its own
# schema in that database. Already running and set up: nothing changes.
set -euo pipefail

ROLE=vigie_test
DB=vigie_test

say() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    say "PostgreSQL is not installed (run as root, or apt-get install postgresql)"
    exit 1
  fi
  say "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (it configures and starts the cluster as user postgres)"
  exit 1
fi

# The first cluster Debian knows: "ver name port status owner datadir logfile".
read -r ver cluster port status _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${ver:-}" ]; then
  ver=$(basename "$(ls -d /usr/lib/postgresql/*/ | sort -V | tail -n 1)")
  cluster=main
  say "creating cluster $ver/$cluster"
  pg_createcluster "$ver" "$cluster" >&2
  read -r ver cluster port status _ < <(pg_lsclusters --no-header "$ver" "$cluster")
fi
confdir=/etc/postgresql/$ver/$cluster

# Loopback only: the register's tests never listen on another interface.
want="listen_addresses = '127.0.0.1'"
if [ "$(cat "$confdir/conf.d/vigie.conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$confdir/conf.d"
  echo "$want" >"$confdir/conf.d/vigie.conf"
  if [ "$status" = online ]; then
    say "restarting $ver/$cluster to listen on 127.0.0.1 only"
    pg_ctlcluster "$ver" "$cluster" restart >&2
  fi
fi
if [ "$(pg_lsclusters --no-header "$ver" "$cluster" | awk '{print $4}')" != online ]; then
  say "starting $ver/$cluster on 127.0.0.1:$port"
  pg_ctlcluster "$ver" "$cluster" start >&2
fi

psql_admin() { runuser -u postgres -- psql --port "$port" -v ON_ERROR_STOP=1 -qAtX "$@"; }

# Ready means accepting connections, checked a bounded number of times.
for _ in $(seq 1 50); do
  if psql_admin -c 'SELECT 1' >/dev/null 2>&1; then break; fi
  sleep 0.2
done
psql_admin -c 'SELECT 1' >/dev/null

urlfile=$confdir/vigie-test.url
if [ ! -s "$urlfile" ]; then
  password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
  (umask 077 && echo "postgres://$ROLE:$password@127.0.0.1:$port/$DB" >"$urlfile")
fi
password=$(sed -E 's#^postgres://[^:]+:([^@]+)@.*#\1#' "$urlfile")
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
  say "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$password'"
else
  psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$password'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
  say "creating database $DB"
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi
cat "$urlfile"
