#!/usr/bin/env bash
# Runs the whole system on loopback, without Docker: the mixer on
# 127.0.0.2, the proxy on 127.0.0.1 (ports 9000, 9001 and 18510 on both),
# and the service sending ROUNDS round trips on each port through the
# proxy over mutual TLS. Creates certificates first if certs/ has none.
# Stops everything it started, and exits with the service's status.
# Ports 9000, 9001 and 18510 must be free on 127.0.0.1 and 127.0.0.2.
#
# Usage: scripts/run-local.sh            (ROUNDS=3 INTERVAL=1s by default)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
INTERVAL=${INTERVAL:-1s}
PORTS=(9000 9001 18510)
MIXER_HOST=127.0.0.2
PROXY_HOST=127.0.0.1
LOG_DIR=target/run-local
mkdir -p "$LOG_DIR"

if [[ ! -f certs/ca.crt || ! -f certs/proxy.key || ! -f certs/service.key ]]; then
    echo "==> no certificates in certs/; creating them"
    scripts/gen-certs.sh
fi

echo "==> building mixer, proxy and service (release)"
cargo build --release --locked -p mixer -p proxy -p service
bin=${CARGO_TARGET_DIR:-target}/release

pids=()
stop_all() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT

# Waits up to 20 seconds for a line matching $2 in log file $1, written by
# process $3; fails at once if that process exits first.
wait_for_log() {
    for _ in $(seq 1 200); do
        if grep -q "$2" "$1" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$3" 2>/dev/null; then
            echo "$(basename "$1" .log) exited during start-up:" >&2
            cat "$1" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    return 1
}

mixer_listen=()
proxy_routes=()
service_targets=()
for port in "${PORTS[@]}"; do
    mixer_listen+=(--listen "$MIXER_HOST:$port")
    proxy_routes+=(--route "$PROXY_HOST:$port=$MIXER_HOST:$port")
    service_targets+=(--connect "localhost:$port")
done

echo "==> starting mixer on $MIXER_HOST (log: $LOG_DIR/mixer.log)"
"$bin/mixer" "${mixer_listen[@]}" >"$LOG_DIR/mixer.log" 2>&1 &
pids+=($!)
wait_for_log "$LOG_DIR/mixer.log" "listening.*$MIXER_HOST:${PORTS[-1]}" "$!"

echo "==> starting proxy on $PROXY_HOST (log: $LOG_DIR/proxy.log)"
"$bin/proxy" "${proxy_routes[@]}" \
    --cert certs/proxy.crt --key certs/proxy.key --client-ca certs/ca.crt \
    >"$LOG_DIR/proxy.log" 2>&1 &
pids+=($!)
wait_for_log "$LOG_DIR/proxy.log" "proxy ready" "$!"

echo "==> service: $ROUNDS rounds on ports ${PORTS[*]} through the proxy"
status=0
"$bin/service" "${service_targets[@]}" \
    --cert certs/service.crt --key certs/service.key --ca certs/ca.crt \
    --count "$ROUNDS" --interval "$INTERVAL" || status=$?

echo "==> stopping proxy and mixer"
stop_all
trap - EXIT

echo "==> proxy connection log:"
grep "connection closed" "$LOG_DIR/proxy.log" || true
if [[ $status -eq 0 ]]; then
    echo "==> OK: every encrypted round trip came back intact"
else
    echo "==> FAILED: the service reported failed round trips (status $status)" >&2
fi
exit "$status"
