#!/usr/bin/env bash
# Writes the seed corpora under fuzz/seeds/ from real files: certificates,
# keys and CRLs made by certgen and by openssl, route strings, and the first
# bytes real TLS clients send (the service binary and openssl s_client),
# captured on a loopback listener.
#
# Every key written here is a throwaway test key made for this corpus and
# used nowhere else. Seed files end in .pem-seed or .der-seed so that the
# repository-wide *.key ignore rule leaves them in.
#
# Needs: openssl, python3, and a Rust toolchain for certgen and service.
# Usage: fuzz/seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=fuzz/seeds
work=$(mktemp -d)
listener_pid=""
cleanup() {
    if [[ -n $listener_pid ]]; then
        kill "$listener_pid" 2>/dev/null || true
        wait "$listener_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

rm -rf "$SEEDS"
certs=$SEEDS/certs
keys=$SEEDS/throwaway-test-keys
crls=$SEEDS/crls
routes=$SEEDS/routes
hello=$SEEDS/tls-first-bytes
mkdir -p "$certs" "$keys" "$crls" "$routes" "$hello"

echo "==> building certgen and service"
cargo build --quiet --release --locked -p certgen -p service
bin=target/release

echo "==> certgen bundle"
"$bin/certgen" --out "$work/certgen" --force --days 30 >/dev/null
for name in ca proxy service; do
    cp "$work/certgen/$name.crt" "$certs/certgen-$name.pem-seed"
    openssl x509 -in "$work/certgen/$name.crt" -outform DER \
        -out "$certs/certgen-$name.der-seed"
    cp "$work/certgen/$name.key" "$keys/certgen-$name-pkcs8.pem-seed"
done
cat "$work/certgen/service.crt" "$work/certgen/ca.crt" >"$certs/certgen-chain.pem-seed"

echo "==> openssl keys"
openssl genrsa -traditional -out "$keys/openssl-rsa2048-pkcs1.pem-seed" 2048 2>/dev/null
openssl pkey -in "$keys/openssl-rsa2048-pkcs1.pem-seed" \
    -out "$keys/openssl-rsa2048-pkcs8.pem-seed"
openssl pkey -in "$keys/openssl-rsa2048-pkcs1.pem-seed" -outform DER \
    -out "$keys/openssl-rsa2048-pkcs8.der-seed"
openssl ecparam -name prime256v1 -genkey -out "$keys/openssl-p256-sec1-params.pem-seed"
openssl ec -in "$keys/openssl-p256-sec1-params.pem-seed" -outform DER \
    -out "$keys/openssl-p256-sec1.der-seed" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$keys/openssl-ed25519-pkcs8.pem-seed"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -out "$keys/openssl-p384-pkcs8.pem-seed"
openssl pkey -in "$keys/openssl-p384-pkcs8.pem-seed" -aes256 -passout pass:seed \
    -out "$keys/openssl-p384-encrypted.pem-seed"

echo "==> openssl CA, leaf certificates and CRLs"
ca=$work/openssl-ca
mkdir -p "$ca"
: >"$ca/index.txt"
echo 1000 >"$ca/crlnumber"
cat >"$ca/ca.cnf" <<CNF
[ca]
default_ca = seed_ca
[seed_ca]
database = $ca/index.txt
crlnumber = $ca/crlnumber
default_md = sha256
default_crl_days = 30
[leaf]
subjectAltName = DNS:svc.example, IP:127.0.0.1, IP:::1, URI:spiffe://example/svc, email:ops@example.com
extendedKeyUsage = clientAuth, serverAuth
basicConstraints = CA:FALSE
CNF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca/ca.key" -out "$ca/ca.crt" \
    -days 30 -subj "/CN=seed RSA CA/O=Seed" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ca/leaf.key" \
    -out "$ca/leaf.csr" -subj "/CN=svc/OU=audio/O=Seed" 2>/dev/null
openssl x509 -req -in "$ca/leaf.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -set_serial 4660 -days 30 -extfile "$ca/ca.cnf" -extensions leaf \
    -out "$ca/leaf.crt" 2>/dev/null
cp "$ca/ca.crt" "$certs/openssl-rsa-ca.pem-seed"
cp "$ca/leaf.crt" "$certs/openssl-leaf-many-sans.pem-seed"
openssl x509 -in "$ca/leaf.crt" -outform DER -out "$certs/openssl-leaf-many-sans.der-seed"
{ echo "Subject: text before the block, as openssl x509 -text leaves it"; \
  cat "$ca/leaf.crt" "$ca/ca.crt"; } >"$certs/openssl-chain-with-text.pem-seed"
cp "$keys/openssl-p256-sec1-params.pem-seed" "$certs/wrong-kind-key.pem-seed"

openssl ca -config "$ca/ca.cnf" -gencrl -keyfile "$ca/ca.key" -cert "$ca/ca.crt" \
    -out "$crls/openssl-empty.pem-seed" 2>/dev/null
openssl ca -config "$ca/ca.cnf" -revoke "$ca/leaf.crt" -keyfile "$ca/ca.key" \
    -cert "$ca/ca.crt" -crl_reason keyCompromise 2>/dev/null
openssl ca -config "$ca/ca.cnf" -gencrl -keyfile "$ca/ca.key" -cert "$ca/ca.crt" \
    -out "$crls/openssl-one-revoked.pem-seed" 2>/dev/null
openssl crl -in "$crls/openssl-one-revoked.pem-seed" -outform DER \
    -out "$crls/openssl-one-revoked.der-seed"
cat "$crls/openssl-empty.pem-seed" "$crls/openssl-one-revoked.pem-seed" \
    >"$crls/openssl-two.pem-seed"

echo "==> routes"
i=0
for route in \
    "0.0.0.0:9000=mixer:9000" \
    "127.0.0.1:0=127.0.0.2:9001" \
    "[::1]:9001=[fd00::2]:19001" \
    " 0.0.0.0:18510 = mixer-core.local:18510 " \
    "0.0.0.0:9000=[::ffff:127.0.0.1]:1" \
    "0.0.0.0:9000=mixer:99999"; do
    printf '%s' "$route" >"$routes/route-$i"
    i=$((i + 1))
done

echo "==> first bytes of real TLS clients"
# Records the first bytes one client sends to a loopback listener, then
# closes, which ends the client's handshake.
capture() {
    local out=$1
    shift
    python3 - "$out" "$work/port" <<'PY' &
import socket, sys
out, port_file = sys.argv[1], sys.argv[2]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
server.settimeout(20)
with open(port_file, "w") as f:
    f.write(str(server.getsockname()[1]))
conn, _ = server.accept()
conn.settimeout(5)
data = b""
while len(data) < 65536:
    try:
        chunk = conn.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
    if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
        break
open(out, "wb").write(data)
conn.close()
PY
    listener_pid=$!
    rm -f "$work/port"
    for _ in $(seq 1 100); do
        [[ -s $work/port ]] && break
        sleep 0.1
    done
    local port
    port=$(cat "$work/port")
    "$@" "$port" >/dev/null 2>&1 || true
    wait "$listener_pid"
    listener_pid=""
}
service_hello() {
    timeout 10 "$bin/service" --connect "localhost:$1" --count 1 --timeout 3s \
        --cert "$work/certgen/service.crt" --key "$work/certgen/service.key" \
        --ca "$work/certgen/ca.crt"
}
openssl_hello() {
    timeout 10 openssl s_client -connect "127.0.0.1:$2" -servername proxy "$1" </dev/null
}
capture "$hello/service-rustls-clienthello" service_hello
capture "$hello/openssl-tls13-clienthello" openssl_hello -tls1_3
capture "$hello/openssl-tls12-clienthello" openssl_hello -tls1_2
# The fuzz target takes the first byte as the size of each read.
for file in "$hello"/*-clienthello; do
    { printf '\xff'; cat "$file"; } >"$file.reads-255"
    { printf '\x07'; cat "$file"; } >"$file.reads-7"
    rm "$file"
done
printf '\xffGET / HTTP/1.1\r\nHost: proxy\r\n\r\n' >"$hello/http-request"
printf '\xff\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10' >"$hello/sslv2-hello-header"

du -sh "$SEEDS"
find "$SEEDS" -type f | sort
