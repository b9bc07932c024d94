#!/usr/bin/env bash
# build-pushstream.sh: builds nginx's push-stream module as a dynamic module
# (ngx_http_push_stream_module.so) that the installed nginx can load.
#
#   build-pushstream.sh OUT.so
#
# Debian does not package the module, so it is built against the upstream
# nginx source of the same version as `nginx -v` (`--with-compat` gives it
# the module signature of Debian's binary) with the module's patches in
# nginx/patches/. The sources come from ../shared/vendor/ beside the
# checkout when it is there, else from upstream; either way they must match
# the checksums below. The work tree is build/nginx/src (kept for `make
# modules` again after a patch changes); the Makefile target caches OUT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: build-pushstream.sh OUT.so}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
VENDOR=$ROOT/../shared/vendor
WORK=$ROOT/build/nginx/src
DL=$ROOT/build/nginx/download

PS_VERSION=0.6.0	# tag 0.6.0, commit b1c1a08
PS_SHA256=1c328cd591e0c01576b01fd0a643baa781cfdbc114e5acca61cf1eeef9d38b80
PS_URL=https://github.com/wandenberg/nginx-push-stream-module/archive/refs/tags/$PS_VERSION.tar.gz

# nginx.org's tarball of each version we can build for; Debian's
# nginx_<version>.orig.tar.gz is the same file.
nginx_sha256() {
	case "$1" in
	1.22.1) echo 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31 ;;
	*) return 1 ;;
	esac
}

log() { printf 'build-pushstream: %s\n' "$*" >&2; }
die() { printf 'build-pushstream: error: %s\n' "$*" >&2; exit 1; }

# fetch NAME SHA256 URL VENDORED...: the path of a verified copy of NAME,
# the first vendored file that exists, else a download into $DL.
fetch() {
	local name=$1 sum=$2 url=$3 f
	shift 3
	for f in "$@" "$DL/$name"; do
		[ -f "$f" ] || continue
		echo "$sum  $f" | sha256sum -c --quiet - >/dev/null 2>&1 \
		    || die "$f: sha256 is not the pinned $sum"
		echo "$f"
		return
	done
	log "downloading $url"
	mkdir -p "$DL"
	curl -fsSL --retry 2 -o "$DL/$name.part" "$url" \
	    || die "cannot download $url (no network? put the file in $VENDOR)"
	echo "$sum  $DL/$name.part" | sha256sum -c --quiet - >/dev/null 2>&1 \
	    || { rm -f "$DL/$name.part"; die "$url: sha256 is not the pinned $sum"; }
	mv "$DL/$name.part" "$DL/$name"
	echo "$DL/$name"
}

command -v nginx >/dev/null || die "nginx is not installed (make deps)"
NGINX_VERSION=$(nginx -v 2>&1 | sed -n 's|^nginx version: nginx/\([0-9.]*\).*|\1|p')
[ -n "$NGINX_VERSION" ] || die "cannot read the version of nginx -v"
NGINX_SHA256=$(nginx_sha256 "$NGINX_VERSION") \
    || die "installed nginx is $NGINX_VERSION, and this script pins the source of 1.22.1 only: add its version and nginx.org sha256 to nginx_sha256() (a module built from other sources would not load), or use WA_PUSH_MODULE=nchan"

nginx_tgz=$(fetch "nginx-$NGINX_VERSION.tar.gz" "$NGINX_SHA256" \
    "https://nginx.org/download/nginx-$NGINX_VERSION.tar.gz" \
    "$VENDOR/nginx_$NGINX_VERSION.orig.tar.gz" \
    "$VENDOR/nginx-$NGINX_VERSION.tar.gz")
ps_tgz=$(fetch "nginx-push-stream-module-$PS_VERSION.tar.gz" "$PS_SHA256" \
    "$PS_URL" "$VENDOR/nginx-push-stream-module-$PS_VERSION.tar.gz")

# A fresh tree each build: the patches apply to pristine sources.
log "nginx $NGINX_VERSION + push-stream $PS_VERSION in $WORK"
rm -rf "$WORK"
mkdir -p "$WORK"
tar -xzf "$nginx_tgz" -C "$WORK"
tar -xzf "$ps_tgz" -C "$WORK"
module=$WORK/nginx-push-stream-module-$PS_VERSION
for p in "$ROOT"/nginx/patches/push-stream-*.patch; do
	[ -f "$p" ] || continue
	patch -d "$module" -p1 --forward --quiet < "$p" \
	    || die "patch $(basename "$p") does not apply"
done

# The options that change the module ABI are those of Debian's build that
# --with-compat does not cover: threads and SSL (nginx -V).
cd "$WORK/nginx-$NGINX_VERSION"
./configure --with-compat --with-threads --with-http_ssl_module \
    --add-dynamic-module="$module" >"$WORK/configure.log" 2>&1 \
    || { tail -20 "$WORK/configure.log" >&2; die "configure failed (libpcre2-dev, zlib1g-dev, libssl-dev: make deps)"; }
make -j"$(nproc)" modules >"$WORK/make.log" 2>&1 \
    || { tail -30 "$WORK/make.log" >&2; die "make modules failed"; }

mkdir -p "$(dirname "$OUT")"
install -m 644 objs/ngx_http_push_stream_module.so "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "built $OUT"
