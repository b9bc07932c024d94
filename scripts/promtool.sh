#!/usr/bin/env bash
# promtool.sh: Prometheus's own checker for the metrics test, taken out of
# Debian's prometheus package into build/tools/ (not installed: the package
# would also install and start a Prometheus server).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST="$ROOT/build/tools"
[ -x "$DEST/promtool" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt's download user writes here
( cd "$tmp" && apt-get download -qq prometheus 2>/dev/null ||
  { apt-get update -qq && apt-get download -qq prometheus; } )
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
mkdir -p "$DEST"
install -m 755 "$tmp/x/usr/bin/promtool" "$DEST/promtool"
echo "promtool: $("$DEST/promtool" --version 2>&1 | head -1)"
