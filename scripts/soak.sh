#!/usr/bin/env bash
# Soak test on loopback. Builds release binaries and runs the 1 GiB
# integrity test. Then starts the mixer and the proxy and keeps connection
# churn, bulk SHA-256 checked echo streams and idle links going for
# DURATION, while the soak binary samples the proxy's memory, open
# descriptors and threads into a CSV file.
#
# Fails on any byte that differs, any failed connection, a proxy that
# died or logged an error, or a resource whose last quarter exceeds its
# first quarter by more than the tolerance in crates/soak/src/main.rs.
# Stops everything it started, by PID.
#
# Usage: scripts/soak.sh DURATION        (such as 90s or 10m)
# Environment: SOAK_INTEGRITY=0 skips the 1 GiB test; SOAK_PORT (19100)
# sets the proxy port, and the mixer listens on 127.0.0.2 at the same port.
# Output: target/soak/ (samples.csv, summary.txt, proxy.log, mixer.log).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 ]]; then
    echo "usage: scripts/soak.sh DURATION   (such as 90s or 10m)" >&2
    exit 2
fi
DURATION=$1
PORT=${SOAK_PORT:-19100}
PROXY_ADDR=127.0.0.1:$PORT
MIXER_ADDR=127.0.0.2:$PORT
OUT=target/soak
mkdir -p "$OUT"

echo "==> machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "==> building release binaries"
cargo build --release --locked -p certgen -p mixer -p proxy -p soak
bin=target/release

if [[ ${SOAK_INTEGRITY:-1} != 0 ]]; then
    echo "==> 1 GiB each way through the proxy, four parallel streams"
    cargo test --release --locked -p proxy --test integrity -- --ignored
fi

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

# Waits up to 20 seconds for a line matching $2 in log file $1.
wait_for_log() {
    for _ in $(seq 1 200); do
        if grep -q "$2" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    return 1
}

"$bin/certgen" --out "$OUT/certs" --force --days 2 >/dev/null

"$bin/mixer" --listen "$MIXER_ADDR" >"$OUT/mixer.log" 2>&1 &
pids+=($!)
wait_for_log "$OUT/mixer.log" "listening.*$MIXER_ADDR"

"$bin/proxy" --route "$PROXY_ADDR=$MIXER_ADDR" --handshake-timeout 5s \
    --cert "$OUT/certs/proxy.crt" --key "$OUT/certs/proxy.key" \
    --client-ca "$OUT/certs/ca.crt" >"$OUT/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_for_log "$OUT/proxy.log" "proxy ready"

echo "==> soak for $DURATION (proxy PID $proxy_pid, samples in $OUT/samples.csv)"
status=0
"$bin/soak" --connect "$PROXY_ADDR" --server-name localhost \
    --cert "$OUT/certs/service.crt" --key "$OUT/certs/service.key" \
    --ca "$OUT/certs/ca.crt" --duration "$DURATION" \
    --proxy-pid "$proxy_pid" --samples "$OUT/samples.csv" \
    2>"$OUT/soak.log" | tee "$OUT/summary.txt" || status=$?

if ! kill -0 "$proxy_pid" 2>/dev/null; then
    echo "FAILED: the proxy exited during the soak; see $OUT/proxy.log" >&2
    status=1
fi
# ERROR is for the proxy's own faults; peers cause WARN at most.
errors=$(grep -c " ERROR " "$OUT/proxy.log" || true)
warnings=$(grep -c " WARN " "$OUT/proxy.log" || true)
echo "proxy log: $errors errors, $warnings warnings" | tee -a "$OUT/summary.txt"
if [[ $errors -ne 0 ]]; then
    echo "FAILED: the proxy logged errors; see $OUT/proxy.log" >&2
    status=1
fi
echo "==> load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"

stop_all
trap - EXIT
if [[ $status -eq 0 ]]; then
    echo "==> OK: no byte differed and no resource kept growing"
else
    echo "==> FAILED (status $status); see $OUT/" >&2
fi
exit "$status"
