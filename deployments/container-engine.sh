#!/usr/bin/env bash
# Starts what the container path needs on this kind of machine when it is not running:
#   - a Docker engine without a bridge network (no bridge, no iptables here: build and run
#     with --network host),
#   - a local image registry on 127.0.0.1:5000 standing in for ECR (Debian's docker-registry).
# Installs docker.io / docker-registry / debootstrap from Debian when missing (needs root).
# Prints the PIDs it started to $STATE_DIR/*.pid so a caller can stop exactly those.
# Usage: deployments/container-engine.sh [start|stop]
set -euo pipefail
STATE_DIR=${MUSIC_ETL_ENGINE_STATE:-/var/lib/music-etl-engine}
REGISTRY_ADDR=${MUSIC_ETL_REGISTRY_ADDR:-127.0.0.1:5000}
mkdir -p "$STATE_DIR"

install_missing() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})); then
        echo "engine: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }
registry_up() { curl -fsS -m 5 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

start_engine() {
    engine_up && return 0
    echo "engine: starting dockerd (no bridge, host networking only)"
    nohup dockerd --bridge=none --iptables=false --ip-masq=false --storage-driver=overlay2 \
        >"$STATE_DIR/dockerd.log" 2>&1 &
    echo $! >"$STATE_DIR/dockerd.pid"
    for _ in $(seq 120); do engine_up && return 0; sleep 1; done
    echo "engine: dockerd did not come up; last lines of $STATE_DIR/dockerd.log:" >&2
    tail -5 "$STATE_DIR/dockerd.log" >&2
    return 1
}

start_registry() {
    registry_up && return 0
    echo "engine: starting the local registry on $REGISTRY_ADDR"
    mkdir -p "$STATE_DIR/registry"
    cat >"$STATE_DIR/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YML
    nohup docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 &
    echo $! >"$STATE_DIR/registry.pid"
    for _ in $(seq 60); do registry_up && return 0; sleep 1; done
    echo "engine: registry did not come up; see $STATE_DIR/registry.log" >&2
    return 1
}

stop_started() {
    for name in registry dockerd; do
        if [[ -f "$STATE_DIR/$name.pid" ]]; then
            kill "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null || true
            rm -f "$STATE_DIR/$name.pid"
        fi
    done
}

case "${1:-start}" in
    start) install_missing; start_engine; start_registry ;;
    stop) stop_started ;;
    *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
