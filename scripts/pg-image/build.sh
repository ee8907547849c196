#!/usr/bin/env bash
# Builds shipgate's local Postgres image from Debian packages, without any image registry:
# mmdebstrap (bookworm, Essential packages + postgresql-15) -> tarball -> `docker import`.
#
#   bash scripts/pg-image/build.sh            # build unless an up-to-date image exists
#   SHIPGATE_PG_IMAGE_REBUILD=1 bash ...      # build even if it does
#
# Env: SHIPGATE_PG_IMAGE (tag, default shipgate/postgres:15-bookworm),
#      SHIPGATE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#      SHIPGATE_DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security).
# Needs root (mmdebstrap root mode, apt-get) and a Docker engine (bash scripts/dockerd.sh start).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tag=${SHIPGATE_PG_IMAGE:-shipgate/postgres:15-bookworm}
suite=bookworm
pg_major=15
mirror=${SHIPGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SHIPGATE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
hash_label=org.shipgate.pg-image.input-hash

log() { printf 'pg-image: %s\n' "$*"; }
die() { printf 'pg-image: error: %s\n' "$*" >&2; exit 1; }

if ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "mmdebstrap/docker are missing and installing them needs root"
  log "installing docker.io mmdebstrap with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io mmdebstrap >/dev/null
fi

docker info >/dev/null 2>&1 ||
  die "no Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}; run 'bash scripts/dockerd.sh start' first"

# Everything that shapes the image lives in this directory (package list, flags, entrypoint),
# so hashing its files is the cache key.
input_hash=$(cd "$here" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
current=
if docker image inspect "$tag" >/dev/null 2>&1; then
  current=$(docker image inspect --format "{{ index .Config.Labels \"$hash_label\" }}" "$tag")
  # SHIPGATE_PG_IMAGE may name an image from elsewhere (say postgres:17-alpine); never retag it.
  if [ -z "$current" ] || [ "$current" = "<no value>" ]; then
    die "$tag exists and was not built by this script (no $hash_label label); unset SHIPGATE_PG_IMAGE or choose another tag"
  fi
fi
if [ "$current" = "$input_hash" ] && [ "${SHIPGATE_PG_IMAGE_REBUILD:-}" != 1 ]; then
  log "$tag is up to date ($hash_label=$input_hash); skipping the build"
  exit 0
fi
log "building $tag (inputs $input_hash${current:+, replacing $current})"

[ "$(id -u)" = 0 ] || die "mmdebstrap root mode needs root (run as root or via sudo)"
work=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-pg-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS

aptopts=(--aptopt='Acquire::Languages "none"')
case "$mirror" in
  # snapshot.debian.org serves Release files whose Valid-Until has passed.
  *snapshot.debian.org*) aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"') ;;
esac

# Size: docs, man pages, translations and locale sources are dropped, and so is the JIT
# provider (llvmjit.so, its bitcode, libLLVM and libz3: ~150 of ~350 MB). Without llvmjit.so
# Postgres just runs without JIT, which short test queries never benefit from anyway.
excludes=('/usr/share/man/*' '/usr/share/doc/*' '/usr/share/info/*' '/usr/share/locale/*' '/usr/share/i18n/*'
  '/usr/lib/*/libLLVM-*' '/usr/lib/*/libz3.so*' '/usr/lib/postgresql/*/lib/llvmjit*' '/usr/lib/postgresql/*/lib/bitcode/*')
dpkgopts=()
for p in "${excludes[@]}"; do dpkgopts+=(--dpkgopt="path-exclude=$p"); done
dpkgopts+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')

# postgresql-common must not create a "main" cluster while installing: the entrypoint
# runs initdb into PGDATA at container start. The hook runs before postgresql-common is set up.
# shellcheck disable=SC2016 # $1 is the chroot, expanded by mmdebstrap's hook shell
no_main_cluster='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/00-shipgate.conf"'

export SHIPGATE_PG_MAJOR=$pg_major
# Essential:yes packages (bash, util-linux for setpriv, coreutils, findutils, gzip) plus
# postgresql-15 and its dependencies (postgresql-client-15: psql, pg_dump, pg_restore) and
# mawk (testcontainers' in-container port check uses awk). apt itself stays out of the image.
mmdebstrap --variant=essential --include="postgresql-$pg_major,mawk" \
  "${aptopts[@]}" "${dpkgopts[@]}" \
  --essential-hook="$no_main_cluster" \
  --customize-hook="$here/customize.sh" \
  "$suite" "$work/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security_mirror $suite-security main"
built=$SECONDS

# `docker import --change` cannot set STOPSIGNAL on Docker 20.10, so the import goes to a
# temporary tag and a one-step `docker build` (no context, legacy builder, nothing to pull)
# adds STOPSIGNAL and, last, the cache label: a failed build never carries it.
bin=/usr/lib/postgresql/$pg_major/bin
tmp_tag="shipgate-pg-image-build:$input_hash"
trap 'rm -rf "$work"; docker image rm "$tmp_tag" >/dev/null 2>&1 || true' EXIT
docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change "ENV PATH=$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change "ENV PG_MAJOR=$pg_major" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'EXPOSE 5432' \
  --change "LABEL org.opencontainers.image.description=\"PostgreSQL $pg_major from Debian $suite packages, built by shipgate scripts/pg-image/build.sh\"" \
  --message "shipgate pg-image $input_hash" \
  "$work/rootfs.tar" "$tmp_tag" >/dev/null
rm -f "$work/rootfs.tar"

version=$(docker run --rm --network none --entrypoint sh "$tmp_tag" -c '
  for tool in postgres initdb pg_ctl psql pg_dump pg_restore pg_isready setpriv awk; do
    command -v "$tool" >/dev/null || { echo "\"$tool\" is missing" >&2; exit 1; }
  done
  postgres --version') || die "smoke test of the new image failed"

previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
out=$(printf 'FROM %s\nSTOPSIGNAL SIGINT\nLABEL %s=%s\n' "$tmp_tag" "$hash_label" "$input_hash" |
  DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" - 2>&1) ||
  die "docker build (STOPSIGNAL + label) failed: $out"
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true # still used by a container: keep it
fi

size=$(docker image inspect --format '{{.Size}}' "$tag")
log "built $tag: $version, $((size / 1000000)) MB, mmdebstrap $((built - start)) s, total $((SECONDS - start)) s"
