#!/usr/bin/env bash
# Starts, stops or reports a Docker engine for shipgate on machines without one running
# (CI sandboxes, fresh VMs, no systemd). Installs docker.io with apt-get when dockerd is missing.
#
#   bash scripts/dockerd.sh start    # no-op if `docker info` already answers
#   bash scripts/dockerd.sh stop     # stops only the daemon this script started
#   bash scripts/dockerd.sh status   # exit 0 if an engine answers, 3 if not
#
# Env: SHIPGATE_DOCKERD_DIR (state: log + pidfile, default /tmp/shipgate-dockerd),
#      SHIPGATE_DOCKER_STORAGE_DRIVER (skip the probe, e.g. vfs),
#      SHIPGATE_DOCKERD_TIMEOUT (seconds to wait for `docker info`, default 60).
set -euo pipefail

state=${SHIPGATE_DOCKERD_DIR:-/tmp/shipgate-dockerd}
logfile=$state/dockerd.log
pidfile=$state/dockerd.pid
data_root=/var/lib/docker
timeout=${SHIPGATE_DOCKERD_TIMEOUT:-60}

log() { printf 'dockerd: %s\n' "$*"; }
die() { printf 'dockerd: error: %s\n' "$*" >&2; exit 1; }

socket=unix:///var/run/docker.sock

# Server version of the engine at $1 (default: DOCKER_HOST, else our socket), if it answers.
engine_version() { DOCKER_HOST=${1:-${DOCKER_HOST:-$socket}} timeout 5 docker info --format '{{.ServerVersion}}' 2>/dev/null; }

# Alive and not a zombie (a killed dockerd can linger as one until init reaps it).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

our_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && alive "$pid" && printf '%s\n' "$pid"
}

install_docker() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "dockerd is not installed and installing docker.io needs root"
  log "installing docker.io mmdebstrap with apt-get"
  # Keep the package's init script from starting a dockerd with default flags (NAT, forwarding)
  # before ours: invoke-rc.d honours policy-rc.d exit code 101 ("action forbidden").
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && own_policy=1
  fi
  local ok=1
  { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io mmdebstrap >/dev/null; } || ok=0
  if [ $own_policy = 1 ]; then rm -f "$policy"; fi
  [ $ok = 1 ] || die "apt-get install docker.io mmdebstrap failed"
}

# overlay2 needs a kernel overlayfs that can stack on the data-root filesystem (it cannot
# when /var/lib/docker itself sits on overlayfs, as inside another container); vfs always
# works but copies every layer, so it is the fallback, not the default.
probe_storage_driver() {
  if [ -n "${SHIPGATE_DOCKER_STORAGE_DRIVER:-}" ]; then
    printf '%s\n' "$SHIPGATE_DOCKER_STORAGE_DRIVER"
    return
  fi
  mkdir -p "$data_root"
  local t
  t=$(mktemp -d "$data_root/.shipgate-overlay-probe.XXXXXX")
  mkdir -p "$t/lower" "$t/upper" "$t/work" "$t/merged"
  if mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    umount "$t/merged"
    printf 'overlay2\n'
  elif command -v fuse-overlayfs >/dev/null 2>&1 && [ -e /dev/fuse ]; then
    printf 'fuse-overlayfs\n'
  else
    printf 'vfs\n'
  fi
  rm -rf "$t"
}

start() {
  local version
  if version=$(engine_version); then
    log "a Docker engine already answers (server $version); nothing to do"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and starting dockerd needs root"
  install_docker
  mkdir -p "$state"
  local pid
  if pid=$(our_pid); then
    die "dockerd (pid $pid, started by this script) runs but does not answer; see $logfile or run '$0 stop'"
  fi

  local driver
  driver=$(probe_storage_driver)
  # Flags, and why:
  #  --storage-driver: probed above (overlay2 here; vfs where overlayfs cannot stack).
  #  --exec-opt native.cgroupdriver=cgroupfs: there is no systemd to delegate cgroups to.
  #  --iptables=false --ip-forward=false --ip-masq=false: containers get no NAT and no
  #    forwarding, so they can reach nothing beyond this machine; the host still reaches them
  #    over the docker0 bridge, and published ports go through docker-proxy (the userland
  #    proxy, which is what loopback connections use anyway). It also means dockerd needs no
  #    working netfilter (nft or legacy) in the kernel.
  #  --ip=127.0.0.1: published ports bind loopback only; tests reach containers on 127.0.0.1.
  #  --pidfile/--exec-root/--host: defaults spelled out so `stop` knows what it owns.
  local flags=(
    --host="$socket"
    --data-root="$data_root"
    --exec-root=/var/run/docker
    --pidfile="$pidfile"
    --storage-driver="$driver"
    --exec-opt=native.cgroupdriver=cgroupfs
    --iptables=false --ip-forward=false --ip-masq=false
    --userland-proxy=true
    --ip=127.0.0.1
  )
  rm -f "$pidfile"
  # After a SIGKILLed dockerd its containerd can linger as a zombie; dockerd would take the
  # pid in this file for a live containerd and wait for it until it gives up.
  local containerd_pid
  containerd_pid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
  if [ -n "$containerd_pid" ] && ! alive "$containerd_pid"; then
    rm -f /var/run/docker/containerd/containerd.pid
  fi
  log "starting dockerd ${flags[*]} (log: $logfile)"
  # setsid: its own session, so the caller's job control and signals do not reach it.
  setsid dockerd "${flags[@]}" </dev/null >>"$logfile" 2>&1 &
  local launcher=$! launched=$SECONDS

  local deadline=$((SECONDS + timeout)) what="did not answer \`docker info\` within ${timeout}s"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if version=$(engine_version "$socket"); then
      log "Docker engine $version is up at $socket ($driver, pid $(cat "$pidfile" 2>/dev/null || echo "$launcher"))"
      if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$socket" ]; then
        log "note: DOCKER_HOST=$DOCKER_HOST does not answer; unset it to use this engine"
      fi
      return 0
    fi
    # The launcher is gone and no dockerd wrote its pidfile: a bad flag or a crash.
    if ! alive "$launcher" && ! our_pid >/dev/null && [ $((SECONDS - launched)) -ge 3 ]; then
      what="exited"
      break
    fi
    sleep 0.5
  done
  {
    # Info-level and grpc chatter bury the actual error, so the excerpt leaves them out.
    printf 'dockerd: error: dockerd %s (storage driver %s). Last lines of %s:\n' "$what" "$driver" "$logfile"
    local excerpt
    excerpt=$(grep -v -e 'level=info' -e 'level=debug' -e 'module=grpc' "$logfile" | tail -n 15 || true)
    printf '%s\n' "${excerpt:-$(tail -n 15 "$logfile")}" | sed 's/^/  /'
    printf 'dockerd: set SHIPGATE_DOCKER_STORAGE_DRIVER=vfs if overlay2 is the problem, or SHIPGATE_PROVIDER=embedded to run without Docker.\n'
  } >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    log "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  # dockerd stops its containers and its containerd before exiting; give it time.
  local waited=0
  while alive "$pid" && [ $waited -lt 60 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  if alive "$pid"; then
    log "dockerd did not exit within 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped"
}

status() {
  local version pid
  if version=$(engine_version); then
    if pid=$(our_pid); then
      log "running: server $version, started by this script (pid $pid, log $logfile)"
    else
      log "running: server $version, not started by this script"
    fi
    return 0
  fi
  log "no Docker engine answers at ${DOCKER_HOST:-$socket}"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) printf 'usage: %s start|stop|status\n' "$0" >&2; exit 64 ;;
esac
