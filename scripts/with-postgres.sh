#!/usr/bin/env bash
# Runs a command with TENANTSYNC_TEST_POSTGRES naming a PostgreSQL server for store/postgres's
# tests: the server already named by that variable, or else a throwaway cluster started here
# from Debian's packages (installed with apt-get when missing and running as root) on a free
# loopback port, stopped and removed when the command ends.
set -euo pipefail

if [ -n "${TENANTSYNC_TEST_POSTGRES:-}" ]; then
  echo "with-postgres: using the server named by TENANTSYNC_TEST_POSTGRES" >&2
  exec "$@"
fi

find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bindir=$(find_bindir)
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "with-postgres: installing PostgreSQL from the distribution's packages" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  bindir=$(find_bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "with-postgres: PostgreSQL is not installed and cannot be installed here;" \
    "the store/postgres tests will skip (and fail under CI=true)" >&2
  exec "$@"
fi

# initdb and postgres refuse to run as root: run the cluster as the postgres user then.
as_owner() { "$@"; }
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  owner=postgres
  if command -v runuser >/dev/null 2>&1; then
    as_owner() { runuser -u postgres -- "$@"; }
  else
    as_owner() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tenantsync-pg.XXXXXX")
chmod 700 "$work"
[ "$owner" = postgres ] && chown postgres: "$work"
data="$work/data"
started=0
cleanup() {
  if [ "$started" = 1 ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 || {
  cat "$work/initdb.log" >&2
  exit 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  port=$((20000 + RANDOM % 30000))
  port_free "$port" || continue
  if as_owner "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ "$started" != 1 ]; then
  echo "with-postgres: the throwaway PostgreSQL did not start:" >&2
  cat "$work/server.log" >&2 || true
  exit 1
fi

export TENANTSYNC_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: throwaway PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
set +e
"$@"
rc=$?
set -e
exit "$rc"
