#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the stack and the tests need,
# but only those that are missing (a second run costs one dpkg query).
# `deps.sh --bench` (make bench) adds what the seed stack `../shared/peer/`
# needs to run beside ours, when that folder exists; `make test` never asks.
set -euo pipefail

pkgs=(
	build-essential pkg-config
	libfcgi-dev spawn-fcgi libcurl4-openssl-dev libjson-c-dev libpq-dev
	libssl-dev libjwt-dev libsodium-dev
	# nginx's push-stream module is built from source (build-pushstream.sh)
	libpcre2-dev zlib1g-dev patch
	postgresql postgresql-contrib nginx libnginx-mod-nchan
	libcmocka-dev python3-pytest python3-requests python3-websocket
	python3-psycopg2
	# checks every e2e answer against the OpenAPI document (draft 2020-12)
	python3-jsonschema
	clang libclang-rt-14-dev wrk curl procps
	# tests/e2e/test_install.py: systemd-analyze verify, a TLS site's cert
	systemd openssl
	chromium fonts-noto-color-emoji
)
if [ "${1:-}" = --bench ] && [ -d "$(dirname "$0")/../../shared/peer" ]; then
	# its README's list: FastAPI, uvicorn and asyncpg under /usr/bin/python3
	pkgs+=(python3-fastapi python3-uvicorn python3-asyncpg python3-httpx
	    python3-uvloop python3-httptools python3-websockets postgresql-15 bc)
fi

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
# The browser tests' runner: Debian's node and npm, unless a node is there.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
	exec "$(dirname "$0")/promtool.sh"
fi

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postinst may start a system-wide cluster or nginx where systemd
# runs; ours are private and on their own ports, so they do not collide.
exec "$(dirname "$0")/promtool.sh"
