#!/usr/bin/env bash
# Entrypoint of shipgate's local Postgres image (scripts/pg-image/build.sh).
#
# It follows the contract of the official `postgres` image as far as tests rely on it:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default = user),
#   POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, PGDATA,
#   *_FILE variants of the first four, /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz,
#   extra server args (`postgres -c fsync=off ...` or just `-c fsync=off ...`).
# Initialisation runs against a temporary server that listens on the unix socket only, so
# nothing outside the container can connect (and no TCP health check passes) before init is
# complete. That server logs "database system is ready to accept connections" too, so the
# line appears twice on first start; log-based wait strategies count on that.
set -Eeuo pipefail

log() { printf '%s: %s\n' "${0##*/}" "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# VAR or VAR_FILE (Docker secrets), never both.
load_env() {
	local var=$1 default=${2:-} file_var="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		die "both $var and $file_var are set; use one"
	fi
	local value=$default
	if [ -n "${!var:-}" ]; then
		value=${!var}
	elif [ -n "${!file_var:-}" ]; then
		value=$(<"${!file_var}")
	fi
	export "$var=$value"
	unset "$file_var"
}

setup_env() {
	: "${PGDATA:=/var/lib/postgresql/data}"
	export PGDATA
	load_env POSTGRES_PASSWORD
	load_env POSTGRES_USER postgres
	load_env POSTGRES_DB "$POSTGRES_USER"
	load_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${POSTGRES_INITDB_WALDIR:=}"
}

# Runs as root: creates the directories and hands them to `postgres`. PGDATA may be a fresh
# tmpfs mount (root-owned, mode 1777), which Postgres refuses until it is 0700 and its own.
prepare_dirs() {
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 0700 "$PGDATA" || :
	chmod 3775 /var/run/postgresql || :
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		chmod 0700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$(id -u)" = 0 ]; then
		local dir
		for dir in "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}; do
			find "$dir" \! -user postgres -exec chown postgres:postgres '{}' +
		done
	fi
}

check_init_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		die "the database is uninitialised and POSTGRES_PASSWORD is empty. Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password)."
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		log "warning: POSTGRES_HOST_AUTH_METHOD=trust: every host connection is accepted without a password"
	fi
}

run_initdb() {
	local extra=()
	if [ -n "$POSTGRES_INITDB_WALDIR" ]; then extra+=(--waldir "$POSTGRES_INITDB_WALDIR"); fi
	# initdb --pwfile rejects an empty file, hence the trailing newline. POSTGRES_INITDB_ARGS
	# is a shell-quoted string (like the official image), so it goes through eval.
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${extra[@]}"'
}

# Remote (host) connections: POSTGRES_HOST_AUTH_METHOD, else the server's
# password_encryption (scram-sha-256 since Postgres 14), taking `-c` overrides into account.
setup_hba() {
	local auth=$POSTGRES_HOST_AUTH_METHOD
	if [ -z "$auth" ]; then
		auth=$(postgres -C password_encryption "$@")
	fi
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
	local args=("$@" -c "listen_addresses=" -p "${PGPORT:-5432}")
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${args[@]}")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql over the unix socket as POSTGRES_USER; extra args are passed through.
run_sql() {
	PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

# The official image's name for run_sql with POSTGRES_DB, for sourced *.sh init scripts.
docker_process_sql() { run_sql ${POSTGRES_DB:+--dbname "$POSTGRES_DB"} "$@"; }

create_db() {
	local exists
	exists=$(run_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
	if [ -z "$exists" ]; then
		run_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi
}

run_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					log "running $f"
					"$f"
				else
					log "sourcing $f"
					set +u
					# shellcheck disable=SC1090
					. "$f"
					set -u
				fi
				;;
			*.sql) log "running $f"; run_sql --dbname "$POSTGRES_DB" -f "$f" ;;
			*.sql.gz) log "running $f"; gzip -dc "$f" | run_sql --dbname "$POSTGRES_DB" ;;
			*) log "ignoring $f" ;;
		esac
	done
}

wants_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

main() {
	local first=${1:-}
	if [ "${first:0:1}" = - ]; then set -- postgres "$@"; fi
	if [ "${1:-}" != postgres ] || wants_help "$@"; then
		exec "$@"
	fi

	setup_env
	prepare_dirs
	if [ "$(id -u)" = 0 ]; then
		# Re-run this script as `postgres`. setpriv (util-linux, Essential) replaces gosu.
		export HOME=/var/lib/postgresql
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi

	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		check_init_env
		ls /docker-entrypoint-initdb.d/ >/dev/null
		run_initdb
		shift # `postgres`; the rest are server options
		setup_hba "$@"
		export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
		temp_server_start "$@"
		create_db
		run_init_files
		temp_server_stop
		unset PGPASSWORD
		set -- postgres "$@"
		log "PostgreSQL init process complete; ready for start up."
	else
		log "PostgreSQL data directory appears to contain a database; skipping initialisation"
	fi
	exec "$@"
}

main "$@"
