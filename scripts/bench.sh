#!/usr/bin/env bash
# Measures the proxy and nginx side by side on loopback: the same
# certificates (EC P-256 CA, RSA-2048 leaves), the same mixer behind both,
# the same mixer-bench client (TLS 1.3, X25519, AES-128-GCM, a full mTLS
# handshake per connection). Servers: nginx 1 worker (stream module,
# ssl_verify_client on), the proxy with --worker-threads 1, and the proxy
# with its default thread count.
#
# Each round restarts the servers, then runs every mode against every
# server in turn: idle first (on fresh processes), then handshakes, echo,
# upload, download and latency. Server CPU time (utime + stime from
# /proc/PID/stat) and RSS (VmRSS) are sampled around each run.
# scripts/bench-summary.py turns the samples into four figures per server,
# a table of medians with the ratios to nginx, results.json and bench.png.
#
# Usage: scripts/bench.sh [--quick] [--rounds N] [--results DIR]
#   --quick     one round of sub-second runs (a smoke check, about 30 s)
#   --rounds N  rounds to run (default 3)
#   --results   where to write results (default target/bench/<UTC time>)
# Installs nginx, libnginx-mod-stream and python3-matplotlib with apt-get
# when they are missing (needs root). All traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
ROUNDS=3
RESULTS="target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; ROUNDS=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --results) RESULTS="$2"; shift ;;
        *) echo "unknown argument $1; see the usage in $0" >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    DURATION=300ms; IDLE_HOLD=300ms; IDLE_CONNECTIONS=50
else
    DURATION=10s; IDLE_HOLD=3s; IDLE_CONNECTIONS=1000
fi
ONE_WAY_DURATION=$([[ $QUICK == 1 ]] && echo 300ms || echo 5s)
HANDSHAKE_WORKERS=4
ECHO_CONNECTIONS=2
LATENCY_RATE=2000

# Loopback ports: mixer and backend, then one block of three per server
# (echo, sink, source).
HOST=127.0.0.1
BASE_PORT=${BENCH_BASE_PORT:-28400}
MIXER_PORT=$BASE_PORT
SINK_PORT=$((BASE_PORT + 1))
SOURCE_PORT=$((BASE_PORT + 2))
SERVERS=(nginx proxy-1t proxy)
declare -A FIRST_PORT=([nginx]=$((BASE_PORT + 10)) [proxy-1t]=$((BASE_PORT + 20)) [proxy]=$((BASE_PORT + 30)))

install_missing() {
    local packages=()
    command -v nginx >/dev/null || packages+=(nginx)
    [[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || packages+=(libnginx-mod-stream)
    /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || packages+=(python3-matplotlib)
    command -v openssl >/dev/null || packages+=(openssl)
    command -v ss >/dev/null || packages+=(iproute2)
    if [[ ${#packages[@]} -eq 0 ]]; then
        return
    fi
    if [[ $(id -u) != 0 ]]; then
        echo "missing packages: ${packages[*]}; install them with apt-get or run this script as root" >&2
        exit 1
    fi
    echo "==> installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${packages[@]}" >/dev/null
}

make_certificates() {
    local dir=$1
    cat >"$dir/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = mixer-bench CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 2 \
        -config "$dir/ca.cnf" -out "$dir/ca.crt"

    local name usage
    for name in server client; do
        usage=$([[ $name == server ]] && echo serverAuth || echo clientAuth)
        cat >"$dir/$name.ext" <<EOF
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = $usage
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
        openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" \
            -subj "/CN=mixer-bench $name" -out "$dir/$name.csr" 2>/dev/null
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 \
            -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
    done
}

write_nginx_config() {
    local dir=$1 port=${FIRST_PORT[nginx]}
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 16384; }
stream {
    access_log off;
    # Carries a client's end of stream to the upstream while the other
    # direction goes on, as the proxy does; echo and upload runs need it.
    proxy_half_close on;
    ssl_certificate $dir/server.crt;
    ssl_certificate_key $dir/server.key;
    ssl_client_certificate $dir/ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    server { listen $HOST:$port ssl; proxy_pass $HOST:$MIXER_PORT; }
    server { listen $HOST:$((port + 1)) ssl; proxy_pass $HOST:$SINK_PORT; }
    server { listen $HOST:$((port + 2)) ssl; proxy_pass $HOST:$SOURCE_PORT; }
}
EOF
}

# PIDs this script started, stopped on exit.
pids=()
declare -A SERVER_PID=()
BENCH_PID=""
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_all() {
    local pid
    for pid in $BENCH_PID "${SERVER_PID[@]}" "${pids[@]}"; do
        stop_pid "$pid"
    done
    [[ -n ${WORK:-} ]] && rm -rf "$WORK"
}
trap stop_all EXIT

# Waits up to 10 seconds for a listener on $1.
wait_for_port() {
    local _
    for _ in $(seq 1 100); do
        if ss -Hltn "sport = :$1" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing is listening on port $1 after 10 s; see the logs in $WORK" >&2
    return 1
}

start_server() {
    local name=$1 port=${FIRST_PORT[$1]} routes=() offset upstream
    case $name in
        nginx)
            nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
            ;;
        proxy*)
            for offset in 0 1 2; do
                upstream=$((offset == 0 ? MIXER_PORT : offset == 1 ? SINK_PORT : SOURCE_PORT))
                routes+=(--route "$HOST:$((port + offset))=$HOST:$upstream")
            done
            local threads=()
            [[ $name == proxy-1t ]] && threads=(--worker-threads 1)
            RUST_LOG=warn "$BIN/proxy" "${routes[@]}" "${threads[@]}" \
                --cert "$WORK/server.crt" --key "$WORK/server.key" \
                --client-ca "$WORK/ca.crt" >>"$WORK/$name.log" 2>&1 &
            ;;
    esac
    SERVER_PID[$name]=$!
    for offset in 0 1 2; do
        wait_for_port $((port + offset))
    done
}

# Prints the PIDs of server $1: the process and, for nginx, its workers.
server_pids() {
    local pid=${SERVER_PID[$1]}
    echo "$pid"
    ps -o pid= --ppid "$pid" || true
}

# Prints "CPU ticks  RSS kB" summed over the processes of server $1.
sample() {
    local ticks=0 rss=0 pid stat kb
    for pid in $(server_pids "$1"); do
        stat=$(cut -d')' -f2- "/proc/$pid/stat")
        ticks=$((ticks + $(awk '{print $12 + $13}' <<<"$stat")))
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
        rss=$((rss + kb))
    done
    echo "$ticks $rss"
}

# Runs mixer-bench mode $2 against server $1 in round $3 and appends
# "round server mode ticks_before ticks_after rss_before rss_during
# rss_after" to samples.tsv. The idle mode samples rss_during while its
# connections are open. Other modes copy rss_after into it.
run_mode() {
    local server=$1 mode=$2 round=$3 port=${FIRST_PORT[$1]}
    local json="$RESULTS/runs/$round-$server-$mode.json"
    local common=(--server-name localhost --cert "$WORK/client.crt"
        --key "$WORK/client.key" --ca "$WORK/ca.crt" --json "$json" --label "$server")
    local args
    case $mode in
        handshakes) args=(handshakes --connect "$HOST:$port" --duration "$DURATION"
            --workers "$HANDSHAKE_WORKERS") ;;
        echo) args=(throughput --direction echo --connect "$HOST:$port"
            --duration "$DURATION" --connections "$ECHO_CONNECTIONS") ;;
        upload) args=(throughput --direction upload --connect "$HOST:$((port + 1))"
            --duration "$ONE_WAY_DURATION") ;;
        download) args=(throughput --direction download --connect "$HOST:$((port + 2))"
            --duration "$ONE_WAY_DURATION") ;;
        latency) args=(latency --connect "$HOST:$port" --duration "$DURATION"
            --rate "$LATENCY_RATE" --message-size 64) ;;
        idle) args=(idle --connect "$HOST:$port" --duration "$IDLE_HOLD"
            --connections "$IDLE_CONNECTIONS" --ready-file "$WORK/ready") ;;
    esac

    local before during after log="$RESULTS/runs/$round-$server-$mode.txt"
    rm -f "$WORK/ready"
    before=$(sample "$server")
    "$BIN/mixer-bench" "${args[@]}" "${common[@]}" >"$log" 2>&1 &
    BENCH_PID=$!
    during=""
    if [[ $mode == idle ]]; then
        local _
        for _ in $(seq 1 1200); do
            [[ -f $WORK/ready ]] && break
            kill -0 "$BENCH_PID" 2>/dev/null || break
            sleep 0.1
        done
        during=$(sample "$server" | cut -d' ' -f2)
    fi
    if ! wait "$BENCH_PID"; then
        BENCH_PID=""
        echo "mixer-bench $mode against $server failed:" >&2
        cat "$log" >&2
        exit 1
    fi
    BENCH_PID=""
    after=$(sample "$server")
    [[ -n $during ]] || during=${after#* }
    echo "$round $server $mode ${before% *} ${after% *} ${before#* } $during ${after#* }" \
        >>"$RESULTS/samples.tsv"
    printf '    %-9s %-10s done\n' "$server" "$mode"
}

install_missing
echo "==> building mixer, proxy and mixer-bench (release)"
cargo build --release --locked -p mixer -p proxy -p bench
BIN=target/release

mkdir -p "$RESULTS/runs"
: >"$RESULTS/samples.tsv"
WORK=$(mktemp -d)
make_certificates "$WORK"
write_nginx_config "$WORK"
ulimit -n 65536 2>/dev/null || true

{
    echo "date=$(date -u +"%Y-%m-%d %H:%M UTC")"
    echo "nproc=$(nproc)"
    echo "cpu=$(lscpu | awk -F': +' '/^Model name/ {print $2; exit}')"
    echo "kernel=$(uname -r)"
    echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "openssl=$(openssl version)"
    echo "rustc=$(rustc --version)"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rounds=$ROUNDS"
    echo "quick=$QUICK"
    echo "clk_tck=$(getconf CLK_TCK)"
} >"$RESULTS/machine.env"

echo "==> starting mixer and backend on $HOST"
RUST_LOG=warn "$BIN/mixer" --listen "$HOST:$MIXER_PORT" >"$WORK/mixer.log" 2>&1 &
pids+=($!)
RUST_LOG=warn "$BIN/mixer-bench" backend --sink "$HOST:$SINK_PORT" \
    --source "$HOST:$SOURCE_PORT" >"$WORK/backend.log" 2>&1 &
pids+=($!)
for port in "$MIXER_PORT" "$SINK_PORT" "$SOURCE_PORT"; do
    wait_for_port "$port"
done

MODES=(idle handshakes echo upload download latency)
for round in $(seq 1 "$ROUNDS"); do
    echo "==> round $round of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for server in "${SERVERS[@]}"; do
        start_server "$server"
    done
    # The server order turns each round, so no server always runs first.
    order=()
    for i in "${!SERVERS[@]}"; do
        order+=("${SERVERS[$(((i + round - 1) % ${#SERVERS[@]}))]}")
    done
    for mode in "${MODES[@]}"; do
        for server in "${order[@]}"; do
            run_mode "$server" "$mode" "$round"
        done
    done
    for server in "${SERVERS[@]}"; do
        stop_pid "${SERVER_PID[$server]}"
        unset "SERVER_PID[$server]"
    done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.env"

echo "==> summary (results in $RESULTS)"
/usr/bin/python3 scripts/bench-summary.py "$RESULTS"
