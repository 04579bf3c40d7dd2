#!/usr/bin/env bash
# Runs compose.yaml for real on a Docker engine of its own and checks it:
#   1. docker-compose config and hadolint on the three Dockerfiles;
#   2. builds the images from source on local stand-in base images (no
#      registry is reachable), checks their user and contents, and starts
#      the project;
#   3. waits for health, then checks encrypted round trips on all three
#      ports;
#   4. from a container on `outside`: the mixer is out of reach, and the
#      proxy gives nothing back without a client certificate or to plain
#      text;
#   5. from a container on `studio`: nothing outside is reachable;
#   6. replaces the mixer container and checks the proxy reaches it;
#   7. takes everything down and stops the engine, pass or fail.
# Needs root (it starts dockerd and installs packages). Without root, or
# where dockerd cannot start, it prints why and exits 0 having tested
# nothing.
#
# Usage: scripts/compose-test.sh
# Env:   COMPOSE_TEST_CACHE      cache of base-image roots, crates and tools
#                                [/var/tmp/mixer-proxy-compose-test]
#        COMPOSE_TEST_DATA_ROOT  the engine's data root, kept between runs so
#                                that images and build layers are reused
#                                [a new temporary folder each run]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/compose-test/engine.sh
source scripts/compose-test/stand-ins.sh
source scripts/compose-test/checks.sh

PROJECT=mixer-proxy-test
PROBE_LABEL=mixer-proxy-test=probe
CACHE_DIR=${COMPOSE_TEST_CACHE:-/var/tmp/mixer-proxy-compose-test}
# The proxy and service run as this owner of the 0600 keys, a user that
# exists nowhere else, to show no other permission is needed.
CERT_UID=10001
CERT_GID=10001
# Not the default name, so that a project started from compose.yaml by hand
# on the same host does not clash with this one.
STUDIO_BRIDGE=mp-test-studio

skip() {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    echo "!!! SKIPPED: compose test NOT run: $*" >&2
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    exit 0
}

# docker-compose on this project, killed after $COMPOSE_TIMEOUT seconds.
COMPOSE_TIMEOUT=300
compose() {
    timeout "$COMPOSE_TIMEOUT" \
        "$VENV/bin/docker-compose" -p "$PROJECT" -f compose.yaml "$@"
}

started=$SECONDS
step_started=$SECONDS
step() {
    echo "    ($((SECONDS - step_started)) s)"
    step_started=$SECONDS
    echo "==> $*"
}

GATEWAY_MIXER_PID=
HOST_RULE_ADDED=
cleanup() {
    local status=$?
    echo "==> 7. cleaning up"

    if [[ -n $GATEWAY_MIXER_PID ]]; then
        kill -TERM "$GATEWAY_MIXER_PID" 2>/dev/null || true
        wait "$GATEWAY_MIXER_PID" 2>/dev/null || true
    fi
    if [[ -n ${ENGINE_PID:-} ]]; then
        if ((status != 0)); then
            echo "--- last compose logs:"
            compose logs --no-color --tail 20 2>&1 || true
        fi
        COMPOSE_TIMEOUT=120 compose down -v --remove-orphans --timeout 10 \
            >/dev/null 2>&1 || true
        local leftover
        leftover=$(docker ps -aq 2>/dev/null || true)
        if [[ -n $leftover ]]; then
            echo "removing leftover containers: $leftover"
            # shellcheck disable=SC2086 # one argument per container id
            docker rm -f $leftover >/dev/null 2>&1 || true
        fi

        stop_engine
    fi
    if [[ -n $HOST_RULE_ADDED ]]; then
        iptables -D INPUT -i "$STUDIO_BRIDGE" -j DROP || true
    fi
    rm -rf "$WORK"

    echo "    total $((SECONDS - started)) s"
    if ((status == 0)); then
        echo "==> OK: compose test passed"
    else
        echo "==> FAILED: compose test (status $status)" >&2
    fi
    exit "$status"
}

if ((EUID != 0)); then
    skip "it must run as root to start its own dockerd"
fi
mkdir -p "$CACHE_DIR"
WORK=$(mktemp -d /tmp/compose-test.XXXXXX)
trap cleanup EXIT

echo "==> 0. tools and a private Docker engine"
install_tools
if ! start_engine; then
    rm -rf "$WORK"
    trap - EXIT
    skip "dockerd cannot start on this machine (log above)"
fi
echo "    engine $(docker version -f '{{ .Server.Version }}') on $DOCKER_HOST"

step "1. compose config and hadolint"
compose config -q
"$VENV/bin/hadolint" docker/mixer.Dockerfile docker/proxy.Dockerfile \
    docker/service.Dockerfile
echo "    compose.yaml valid; no hadolint findings"

step "2. images from source on local base images, then compose up"
import_stand_ins
echo "    base images ready after $((SECONDS - step_started)) s"
export BUILDER_IMAGE=$BUILDER_STANDIN RUNTIME_IMAGE=$RUNTIME_STANDIN
PROBE_IMAGE=$BUILDER_STANDIN
# One build first: the other two images reuse its layers from the cache
# instead of compiling the workspace three times at once.
COMPOSE_TIMEOUT=900 compose build mixer >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log" >&2
    exit 1
}
compose build proxy service >>"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log" >&2
    exit 1
}
echo "    images built after $((SECONDS - step_started)) s"
check_images

HOST_BIN=$WORK/bin
mkdir -p "$HOST_BIN"
for binary in mixer service; do
    container=$(docker create "mixer-proxy/$binary:latest")
    docker cp "$container:/usr/local/bin/$binary" "$HOST_BIN/$binary"
    docker rm "$container" >/dev/null
done

CERTS=$WORK/certs
scripts/gen-certs.sh --out "$CERTS" >/dev/null
chown -R "$CERT_UID:$CERT_GID" "$CERTS"
check_key_permission

export MIXER_PROXY_CERTS=$CERTS MIXER_PROXY_UID=$CERT_UID \
    MIXER_PROXY_GID=$CERT_GID MIXER_PROXY_PUBLISH_ADDR=127.0.0.1 \
    MIXER_PROXY_PORT_9000='' MIXER_PROXY_PORT_9001='' MIXER_PROXY_PORT_18510='' \
    MIXER_PROXY_STUDIO_BRIDGE=$STUDIO_BRIDGE
# The host firewall rule of docs/COMPOSE.md: without it, containers on the
# internal network still reach the host's own addresses.
iptables -I INPUT -i "$STUDIO_BRIDGE" -j DROP
HOST_RULE_ADDED=1
compose up -d --wait --wait-timeout 180 >"$WORK/up.log" 2>&1 || {
    cat "$WORK/up.log" >&2
    exit 1
}

step "3. health and encrypted round trips"
compose ps --format '{{.Service}}: {{.Status}}' | sed 's/^/    /'
check_round_trips

step "4. from a container on outside only"
check_from_outside

step "5. from a container on studio only"
check_from_studio

step "6. replacing the mixer under a running proxy"
check_mixer_replaced

step "all checks passed"
