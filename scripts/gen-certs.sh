#!/usr/bin/env bash
# Creates certs/ca.crt, certs/proxy.{crt,key} and certs/service.{crt,key}:
# an EC P-256 CA and two leaf certificates signed by it, with
# subjectAltNames for the compose service names and loopback. Keys are
# written with mode 0600. Existing files are kept unless --force is given.
#
# Usage: scripts/gen-certs.sh [--force] [--out DIR] [--days N]
#                             [--proxy-name NAME]...
set -euo pipefail
cd "$(dirname "$0")/.."

exec cargo run --quiet --release --locked -p certgen -- "$@"
