#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: Debian's initdb and pg_ctl in a
# temporary directory, run as an unprivileged user (the `postgres` system user,
# or `nobody`, when called as root), listening ONLY on a Unix socket in that
# directory (no TCP port, so clusters of parallel tests never collide).
#
#   pg_cluster.sh init             creates a cluster; prints its directory
#   pg_cluster.sh start DIR        starts it (waits until it accepts connections)
#   pg_cluster.sh stop DIR         fast shutdown (data kept; start again later)
#   pg_cluster.sh kill DIR         immediate shutdown (like a crash)
#   pg_cluster.sh spec DIR         prints the --db spec: postgresql:///vigil?host=DIR/sock&user=vigil
#   pg_cluster.sh destroy DIR      stops it and removes the directory
#
# Exit 0 ok; 2 with one line on stderr when PostgreSQL is missing or will not
# start (tests FAIL then, they never skip: `make test` installs postgresql).
set -euo pipefail

die() {
	echo "pg_cluster: $*" >&2
	exit 2
}

bindir=
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
	if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
		bindir=$d
		break
	fi
done
if [[ -z $bindir ]]; then
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		bindir=$(dirname "$(command -v initdb)")
	else
		die "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql (scripts/deps.sh)"
	fi
fi

# Who runs the server: PostgreSQL refuses to run as root.
runas=()
if [[ $(id -u) -eq 0 ]]; then
	if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
	command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as '$user'"
	runas=(runuser -u "$user" --)
else
	user=$(id -un)
fi

as_user() { (cd / && "${runas[@]}" "$@"); }

check_dir() {
	[[ -n ${1:-} && -f $1/data/PG_VERSION ]] || die "'${1:-}' is not a cluster made by 'pg_cluster.sh init'"
}

cmd=${1:-}
case "$cmd" in
init)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-pg.XXXXXX")
	chmod 0755 "$dir"
	mkdir -p "$dir/sock"
	if [[ ${#runas[@]} -gt 0 ]]; then chown "$user" "$dir" "$dir/sock"; fi
	chmod 0777 "$dir/sock" # the client (maybe root, maybe another user) connects here
	if ! as_user "$bindir/initdb" -D "$dir/data" -U vigil --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$dir/initdb.log" 2>&1; then
		tail -3 "$dir/initdb.log" >&2
		rm -rf "$dir"
		die "initdb failed"
	fi
	cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0777
max_connections = 200
fsync = off
full_page_writes = off
shared_buffers = 32MB
log_min_messages = warning
EOF
	echo "$dir"
	;;
start)
	check_dir "${2:-}"
	dir=$2
	if ! as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
		tail -5 "$dir/server.log" >&2 || true
		die "PostgreSQL did not start in $dir"
	fi
	# Wait for the database to accept connections, then create it once.
	for _ in $(seq 1 100); do
		if as_user "$bindir/psql" -h "$dir/sock" -U vigil -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	if ! as_user "$bindir/psql" -h "$dir/sock" -U vigil -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'vigil'" | grep -q 1; then
		as_user "$bindir/createdb" -h "$dir/sock" -U vigil vigil || die "createdb vigil failed"
	fi
	;;
stop | kill)
	check_dir "${2:-}"
	mode=fast
	[[ $cmd == kill ]] && mode=immediate
	as_user "$bindir/pg_ctl" -D "$2/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
	;;
spec)
	check_dir "${2:-}"
	echo "postgresql:///vigil?host=$2/sock&user=vigil"
	;;
destroy)
	[[ -n ${2:-} && -d $2 ]] || exit 0
	[[ $(basename "$2") == vigil-pg.* ]] || die "refusing to remove '$2' (not a pg_cluster.sh directory)"
	if [[ -f $2/data/postmaster.pid ]]; then
		as_user "$bindir/pg_ctl" -D "$2/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$2"
	;;
*)
	echo "usage: pg_cluster.sh init | start DIR | stop DIR | kill DIR | spec DIR | destroy DIR" >&2
	exit 2
	;;
esac
