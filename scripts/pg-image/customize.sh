#!/bin/sh
# mmdebstrap --customize-hook for scripts/pg-image/build.sh: $1 is the finished chroot.
# Puts the entrypoint in place and makes the filesystem look like the official image's.
set -eu
root=$1
here=$(cd "$(dirname "$0")" && pwd)
pg_major=${SHIPGATE_PG_MAJOR:?set by build.sh}

install -m 0755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

# Listen on every interface by default (initdb copies this sample into PGDATA), like the
# official image; the entrypoint's temporary init server overrides it with listen_addresses=''.
sample="$root/usr/share/postgresql/$pg_major/postgresql.conf.sample"
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"

mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/run/postgresql"
chroot "$root" chown -R postgres:postgres /var/lib/postgresql /run/postgresql
# 1777 so the image also works with `docker run --user <uid>` (the entrypoint then cannot chown).
chmod 1777 "$root/var/lib/postgresql/data"
chmod 3775 "$root/run/postgresql"

# build.sh leaves the JIT provider (llvmjit + libLLVM, ~150 MB) out of the image. Postgres
# then runs without JIT anyway; jit = off makes `SHOW jit` say so.
sed -ri "s!^#?(jit)\s*=\s*\S+.*!\1 = off!" "$sample"
grep -q "^jit = off" "$sample"

# Logs written while installing are noise in an image.
find "$root/var/log" -type f -delete
rm -f "$root"/var/cache/debconf/*-old
