# shellcheck shell=bash
# Checks of the running compose project, for scripts/compose-test.sh
# (sourced). Each check that expects a failure has a positive control run
# the same way, so a broken probe cannot pass for isolation. Probes run in
# throwaway containers of $PROBE_IMAGE (bash, getent, openssl), attached to
# one compose network, and target only containers of this project and the
# host's address on one of its networks.

# Runs bash -c "$2" in a throwaway container on compose network $1; further
# arguments go to `docker run`. Every command inside is bounded by timeout.
# Docker's embedded DNS answers the project's own names; --dns 127.0.0.1
# keeps lookups of any other name on loopback instead of forwarding them to
# the machine's resolver.
probe_on() {
    local network=$1 script=$2
    shift 2
    timeout 120 docker run --rm --network "${PROJECT}_$network" --dns 127.0.0.1 \
        --user "$CERT_UID:$CERT_GID" --label "$PROBE_LABEL" \
        "$@" "$PROBE_IMAGE" bash -euo pipefail -c "$script"
}

# Fails unless the host reaches address $1 on one of its own interfaces, so
# a probe of that address cannot leave the machine through a gateway.
require_local_route() {
    local route
    route=$(ip -o route get "$1")
    if [[ $route == *" via "* ]]; then
        echo "FAIL: the host routes $1 through a gateway ($route);" \
            "not probing it" >&2
        return 1
    fi
}

# Prints the address of compose service $1's container on network $2.
container_ip() {
    docker inspect -f \
        "{{ (index .NetworkSettings.Networks \"${PROJECT}_$2\").IPAddress }}" \
        "$(compose ps -q "$1")"
}

# Fails unless `$2` appears in the logs of compose service $1 within 30 s.
wait_for_compose_log() {
    for _ in $(seq 1 60); do
        if compose logs --no-color "$1" 2>&1 | grep -qE "$2"; then
            return 0
        fi
        sleep 0.5
    done
    echo "no line matching '$2' in the logs of $1 within 30 s:" >&2
    compose logs --no-color --tail 30 "$1" >&2
    return 1
}

# The images run as a non-root numeric user and contain none of our
# certificates or keys.
check_images() {
    local service image user container files
    for service in mixer proxy service; do
        image=mixer-proxy/$service:latest
        user=$(docker image inspect -f '{{ .Config.User }}' "$image")
        if [[ $user != 65532:65532 ]]; then
            echo "FAIL: $image runs as '$user', expected 65532:65532" >&2
            return 1
        fi
        container=$(docker create "$image")
        files=$(docker export "$container" | tar -t \
            | grep -E '(\.key|\.pem|/(ca|proxy|service)\.crt)$' || true)
        docker rm "$container" >/dev/null
        if [[ -n $files ]]; then
            echo "FAIL: $image contains key or certificate files:" >&2
            echo "$files" >&2
            return 1
        fi
        echo "    $image: user $user, no key or certificate files"
    done
}

# The proxy started as a user that does not own the 0600 key exits with an
# error naming the key. (Its start as the owner is the compose project.)
check_key_permission() {
    local mounts=(
        -v "$CERTS/proxy.crt:/certs/proxy.crt:ro"
        -v "$CERTS/proxy.key:/certs/proxy.key:ro"
        -v "$CERTS/ca.crt:/certs/ca.crt:ro"
    )
    local args=(--cert /certs/proxy.crt --key /certs/proxy.key
        --client-ca /certs/ca.crt --route 127.0.0.1:19000=127.0.0.1:19001)
    local output
    if output=$(timeout 60 docker run --rm --network none --read-only \
        --cap-drop ALL --user 10002:10002 "${mounts[@]}" \
        mixer-proxy/proxy:latest "${args[@]}" 2>&1); then
        echo "FAIL: the proxy started with a key its user cannot read" >&2
        return 1
    fi
    if ! grep -q proxy.key <<<"$output"; then
        echo "FAIL: the unreadable-key error does not name the key:" >&2
        echo "$output" >&2
        return 1
    fi
    echo "    as uid 10002 the proxy exits: $(tail -n 1 <<<"$output")"
}

# Encrypted round trips succeed on all three ports: in the logs of the
# running service, in a one-off service run with a bounded count, and from
# the host through the published ports.
check_round_trips() {
    local port
    for port in 9000 9001 18510; do
        wait_for_compose_log service "target=proxy:$port.*round trip ok"
    done
    echo "    service logs: round trips ok on proxy:9000, :9001, :18510"

    compose run --rm --no-deps -T service --count 3 --interval 200ms \
        >"$WORK/service-run.log" 2>&1 || {
        cat "$WORK/service-run.log" >&2
        echo "FAIL: a one-off service run reported failed round trips" >&2
        return 1
    }
    echo "    one-off run: $(grep 'probe finished' "$WORK/service-run.log")"

    local connect=()
    for port in 9000 9001 18510; do
        connect+=(--connect "localhost:$(published_port "$port")")
    done
    timeout 60 "$HOST_BIN/service" "${connect[@]}" --server-name proxy \
        --cert "$CERTS/service.crt" --key "$CERTS/service.key" \
        --ca "$CERTS/ca.crt" --count 2 --interval 200ms \
        >"$WORK/host-service.log" 2>&1 || {
        cat "$WORK/host-service.log" >&2
        echo "FAIL: round trips through the published ports failed" >&2
        return 1
    }
    echo "    published ports ${connect[*]}: every round trip ok"

    wait_for_compose_log proxy \
        'connection accepted client.cn="service".*tls.version=TLSv1_3'
    echo '    proxy logs: connection accepted client.cn="service" tls.version=TLSv1_3'
}

# Prints the host port that proxy port $1 is published on.
published_port() {
    compose port proxy "$1" | awk -F: '{ print $NF }'
}

# From a container on `outside` only: the mixer and the proxy's admin port
# are out of reach, and the proxy gives nothing back without a client
# certificate or to plain text.
check_from_outside() {
    local mixer_ip proxy_studio_ip
    mixer_ip=$(container_ip mixer studio)
    proxy_studio_ip=$(container_ip proxy studio)
    require_local_route "$mixer_ip"
    require_local_route "$proxy_studio_ip"
    probe_on outside "
        connect() { timeout 5 bash -c \"exec 3<>/dev/tcp/\$1/\$2\" 2>/dev/null; }
        getent hosts proxy >/dev/null || { echo 'FAIL: proxy does not resolve'; exit 1; }
        if getent hosts mixer; then echo 'FAIL: mixer resolves'; exit 1; fi
        echo '    the name mixer does not resolve (proxy does)'
        if connect $mixer_ip 9000; then
            echo 'FAIL: connected to the mixer at $mixer_ip:9000'; exit 1
        fi
        echo '    no TCP connection to the mixer at $mixer_ip:9000'
        if connect $proxy_studio_ip 9900; then
            echo 'FAIL: connected to the proxy admin port at $proxy_studio_ip'
            exit 1
        fi
        if connect proxy 9900; then
            echo 'FAIL: the proxy admin port is open on outside'; exit 1
        fi
        echo '    no TCP connection to the proxy admin port at'\
            '$proxy_studio_ip:9900 or proxy:9900'

        tls() {
            (printf '%s\n' \"\$1\"; sleep 2) | timeout 10 openssl s_client \
                -connect proxy:9000 -servername proxy -CAfile /certs/ca.crt \
                -verify_return_error -quiet -no_ign_eof \"\${@:2}\" 2>&1 || true
        }
        out=\$(tls with-cert -cert /certs/service.crt -key /certs/service.key)
        if ! grep -q '^with-cert\$' <<<\"\$out\"; then
            echo \"FAIL: control run with a certificate got no echo: \$out\"
            exit 1
        fi
        out=\$(tls without-cert)
        if grep -q without-cert <<<\"\$out\"; then
            echo 'FAIL: echo came back without a client certificate'; exit 1
        fi
        if ! grep -q 'alert certificate required' <<<\"\$out\"; then
            echo \"FAIL: no certificate_required alert: \$out\"; exit 1
        fi
        echo '    TLS without a client certificate: alert certificate required'

        exec 3<>/dev/tcp/proxy/9000
        printf 'plain-text\n' >&3
        timeout 10 cat <&3 >/tmp/reply || true
        if grep -q plain-text /tmp/reply; then
            echo 'FAIL: plain text came back through the proxy'; exit 1
        fi
        echo \"    plain text to proxy:9000: \$(wc -c </tmp/reply) bytes back, no echo\"
    " \
        -v "$CERTS/ca.crt:/certs/ca.crt:ro" \
        -v "$CERTS/service.crt:/certs/service.crt:ro" \
        -v "$CERTS/service.key:/certs/service.key:ro"

    wait_for_compose_log proxy 'connection rejected.*reason="?no_client_cert'
    wait_for_compose_log proxy 'connection rejected.*reason="?not_tls'
    echo '    proxy logs: connection rejected, reasons no_client_cert and not_tls'
}

# From a container on `studio` only: the mixer echoes, but neither the
# proxy's `outside` address nor the host's address on `outside` accepts a
# connection. An echo server on that host address, reachable from
# `outside`, is the control.
check_from_studio() {
    local proxy_outside_ip gateway listen_port
    proxy_outside_ip=$(container_ip proxy outside)
    gateway=$(docker network inspect -f \
        '{{ (index .IPAM.Config 0).Gateway }}' "${PROJECT}_outside")
    require_local_route "$proxy_outside_ip"
    require_local_route "$gateway"

    "$HOST_BIN/mixer" --listen "$gateway:0" >"$WORK/gateway-mixer.log" 2>&1 &
    GATEWAY_MIXER_PID=$!
    for _ in $(seq 1 50); do
        listen_port=$(grep -oE "listen.addr=[0-9.]+:[0-9]+" \
            "$WORK/gateway-mixer.log" | head -n 1 | awk -F: '{ print $NF }' \
            || true)
        [[ -n $listen_port ]] && break
        sleep 0.1
    done
    if [[ -z $listen_port ]]; then
        cat "$WORK/gateway-mixer.log" >&2
        echo "FAIL: the echo server on $gateway did not start" >&2
        return 1
    fi

    local echo_check="
        exec 3<>/dev/tcp/\$1/\$2
        printf 'ping\n' >&3
        [[ \$(timeout 5 head -c 5 <&3) == ping ]]"
    probe_on outside "
        echo_ok() { $echo_check; }
        echo_ok $gateway $listen_port || {
            echo 'FAIL: control got no echo from $gateway:$listen_port'; exit 1; }
        echo '    control from outside: echo from the host at $gateway:$listen_port'
    "
    probe_on studio "
        echo_ok() { $echo_check; }
        connect() { timeout 5 bash -c \"exec 3<>/dev/tcp/\$1/\$2\" 2>/dev/null; }
        echo_ok mixer 9000 || { echo 'FAIL: no echo from mixer:9000'; exit 1; }
        echo '    the mixer echoes on mixer:9000'
        exec 4<>/dev/tcp/proxy-admin/9900
        printf 'GET /readyz HTTP/1.0\r\nHost: proxy-admin\r\n\r\n' >&4
        status=\$(timeout 5 head -n 1 <&4)
        [[ \$status == *' 200 '* ]] || {
            echo \"FAIL: proxy-admin:9900/readyz returned '\$status'\"; exit 1; }
        echo \"    proxy-admin:9900/readyz: \${status%\$'\\r'}\"
        if connect $proxy_outside_ip 9000; then
            echo 'FAIL: reached the proxy at $proxy_outside_ip'; exit 1
        fi
        echo '    no TCP connection to the proxy outside address $proxy_outside_ip:9000'
        if connect $gateway $listen_port; then
            echo 'FAIL: reached the host at $gateway:$listen_port'; exit 1
        fi
        echo '    no TCP connection to the host at $gateway:$listen_port'
    "
    kill -TERM "$GATEWAY_MIXER_PID"
    wait "$GATEWAY_MIXER_PID" || true
    GATEWAY_MIXER_PID=
}

# The mixer container is replaced by one with a new address, and the proxy,
# not restarted, reaches the new one.
check_mixer_replaced() {
    local proxy_id proxy_started old_ip new_ip placeholder
    proxy_id=$(compose ps -q proxy)
    proxy_started=$(docker inspect -f '{{ .State.StartedAt }}' "$proxy_id")
    old_ip=$(container_ip mixer studio)

    compose stop -t 10 mixer >/dev/null 2>&1
    compose rm -f mixer >/dev/null 2>&1
    # Docker hands a freed address out again first; a placeholder container
    # takes it so that the new mixer gets another one.
    placeholder=$(docker run -d --network "${PROJECT}_studio" \
        --label "$PROBE_LABEL" "$RUNTIME_STANDIN" sleep 300)
    compose up -d --no-deps --wait --wait-timeout 90 mixer >/dev/null 2>&1
    docker rm -f "$placeholder" >/dev/null
    new_ip=$(container_ip mixer studio)
    if [[ $new_ip == "$old_ip" ]]; then
        echo "FAIL: the new mixer kept the address $old_ip" >&2
        return 1
    fi
    echo "    mixer address before $old_ip, after $new_ip"

    compose run --rm --no-deps -T service --count 2 --interval 200ms \
        >"$WORK/service-after-restart.log" 2>&1 || {
        cat "$WORK/service-after-restart.log" >&2
        echo "FAIL: no round trips through the proxy to the new mixer" >&2
        return 1
    }
    if [[ $(compose ps -q proxy) != "$proxy_id" ||
        $(docker inspect -f '{{ .State.StartedAt }}' "$proxy_id") != "$proxy_started" ]]; then
        echo "FAIL: the proxy was restarted" >&2
        return 1
    fi
    echo "    proxy (same container, started $proxy_started) reaches the new mixer"
}
