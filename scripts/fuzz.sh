#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time, starting from the
# committed seed corpora in fuzz/seeds/ and the corpus kept from earlier
# runs in fuzz/corpus/ (not committed). A crash stops the script with a
# non-zero status; libFuzzer leaves the input in fuzz/artifacts/TARGET/.
#
# cargo fuzz needs unstable compiler flags (-Zsanitizer=address and the
# sanitizer-coverage passes). RUSTC_BOOTSTRAP=1 lets the stable compiler
# accept them, so no nightly toolchain is needed; checked with rustc 1.95.0
# and cargo-fuzz 0.13.2.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-30}
if ! [[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]]; then
    echo "invalid SECONDS_PER_TARGET '$SECONDS_PER_TARGET': expected a whole number of seconds" >&2
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> cargo-fuzz is missing; installing it"
    cargo install cargo-fuzz --locked
fi

# Target name and the seed folder it starts from.
TARGETS=(
    "cert_chain certs"
    "private_key throwaway-test-keys"
    "crl crls"
    "route routes"
    "tls_first_bytes tls-first-bytes"
)

echo "==> building fuzz targets"
(cd fuzz && cargo fuzz build)

status=0
for entry in "${TARGETS[@]}"; do
    read -r target seeds <<<"$entry"
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus"
    inputs=("$corpus" "fuzz/seeds/$seeds")
    if [[ -d fuzz/regressions/$target ]]; then
        inputs+=("fuzz/regressions/$target")
    fi
    # Paths are relative to fuzz/, where cargo fuzz runs.
    inputs=("${inputs[@]/#/../}")

    echo "==> $target for ${SECONDS_PER_TARGET}s"
    log=fuzz/artifacts/$target.log
    mkdir -p fuzz/artifacts
    if (cd fuzz && cargo fuzz run "$target" "${inputs[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1) >"$log" 2>&1; then
        grep -a "DONE" "$log" | tail -1 || true
        grep -a -E "stat::number_of_executed_units" "$log" || true
    else
        status=1
        echo "FAILED: $target; log in $log, crashing input in fuzz/artifacts/$target/" >&2
        grep -a -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -10 >&2 || true
    fi
done
exit "$status"
