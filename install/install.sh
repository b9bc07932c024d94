#!/usr/bin/env bash
# install.sh: `make install`. Puts the binaries, schema, static inbox, nginx
# snippets (made from nginx/nginx.conf.in with the installed paths), the
# settings file, systemd units and a logrotate file under DESTDIR + their
# places. Files under /etc that exist already are kept (they are the
# admin's); everything else is replaced.
#
#   install.sh BINDIR_SRC        (the Makefile passes bin/ or build/test/bin)
#
# Environment: DESTDIR (staging root, default none), PREFIX (/usr/local),
# SYSCONFDIR (/etc), UNITDIR (PREFIX/lib/systemd/system for /usr and
# /usr/local, else /etc/systemd/system), PUSH_MODULE (pushstream or nchan),
# PUSHSTREAM_SO (the module make built, for pushstream), PUBLISH_PORT (8081),
# METRICS_PORT (8082).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SRC_BIN=${1:?usage: install.sh BINDIR_SRC}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
case "$PREFIX" in
/usr|/usr/local) UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system} ;;
*) UNITDIR=${UNITDIR:-$SYSCONFDIR/systemd/system} ;;
esac
PUSH_MODULE=${PUSH_MODULE:-pushstream}
PUBLISH_PORT=${PUBLISH_PORT:-8081}
METRICS_PORT=${METRICS_PORT:-8082}
BINDIR=$PREFIX/bin
DATADIR=$PREFIX/share/wa-backend
DOCDIR=$PREFIX/share/doc/wa-backend
LIBDIR=$PREFIX/lib/wa-backend
NGINXDIR=$SYSCONFDIR/nginx/wa-backend
RUNDIR=/run/wa-backend
LOGDIR=/var/log/wa-backend
D=$DESTDIR

log() { printf 'install: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

[ "$PUSH_MODULE" = pushstream ] || [ "$PUSH_MODULE" = nchan ] \
	|| die "PUSH_MODULE: pushstream or nchan"

# Our @NAME@ placeholders, filled with the installed paths; any left over
# is a mistake in a template.
fill() {	# fill < template > file
	sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@DATADIR@|$DATADIR|g" \
	    -e "s|@DOCDIR@|$DOCDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
	    -e "s|@NGINXDIR@|$NGINXDIR|g" -e "s|@NGINX_DIR@|$NGINXDIR|g" \
	    -e "s|@RUNDIR@|$RUNDIR|g" -e "s|@LOGDIR@|$LOGDIR|g" \
	    -e "s|@RUN@/run/|$RUNDIR/|g" -e "s|@RUN@/www|$DATADIR/www|g" \
	    -e "s|@PUSH@|$PUSH_MODULE|g" -e "s|@PUBLISH_PORT@|$PUBLISH_PORT|g" \
	    -e "s|@METRICS_PORT@|$METRICS_PORT|g" \
	    -e "s|@RUN@/nginx/modules/ngx_http_push_stream_module.so|$LIBDIR/ngx_http_push_stream_module.so|g"
}

put() {		# put MODE SRC DST: SRC filled, replacing DST
	mkdir -p "$(dirname "$D$3")"
	fill < "$2" > "$D$3.tmp"
	if grep -n '@[A-Z_]*@' "$D$3.tmp" >&2; then
		rm -f "$D$3.tmp"
		die "$2: placeholder left unfilled"
	fi
	chmod "$1" "$D$3.tmp"
	mv "$D$3.tmp" "$D$3"
}

secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# --- programs, schema, static files ------------------------------------------

install_files() {
	local b
	install -d "$D$BINDIR" "$D$DATADIR/schema" "$D$DOCDIR"
	for b in wa-fcgi wa-pushd wa-jobd wactl; do
		[ -x "$SRC_BIN/$b" ] || die "$SRC_BIN/$b missing: run make first"
		install -m 755 "$SRC_BIN/$b" "$D$BINDIR/$b"
	done
	install -m 644 schema/*.sql "$D$DATADIR/schema/"
	install -d "$D$DATADIR/schema/functions"
	install -m 644 schema/functions/*.sql schema/functions/manifest \
	    "$D$DATADIR/schema/functions/"
	rm -rf "$D$DATADIR/www"
	cp -r nginx/www "$D$DATADIR/www"
	chmod -R u=rwX,go=rX "$D$DATADIR/www"
	install -m 644 README.md SECURITY.md "$D$DOCDIR/"
}

# --- nginx --------------------------------------------------------------------

# nginx.conf.in, cut in two: what goes in nginx's http {} (upstreams, zones,
# the loopback publisher and metrics servers) and what goes in the admin's
# TLS server {} (the locations). Main-level lines (user, pid, events, the
# module) and the stack's own paths stay behind. The file's tab indentation
# marks its blocks: "\tserver {" ... "\t}".
nginx_split() {	# nginx_split HTTP_OUT SERVER_OUT
	awk -v http="$1" -v server="$2" '
	/^http \{$/ { in_http = 1; next }
	!in_http { next }
	/^\}$/ { in_http = 0; next }
	/^\tserver \{$/ && !seen_public { in_public = 1; seen_public = 1; next }
	in_public && /^\t\}$/ { in_public = 0; next }
	in_public {
		if ($0 ~ /^\t\t(listen|server_name) /) next
		sub(/^\t\t/, ""); print > server; next
	}
	/^\t(default_type|sendfile|access_log|[a-z_]+_temp_path) / { next }
	/^\tinclude \/etc\/nginx\/mime.types;$/ { next }
	{ sub(/^\t/, ""); print > http }
	' nginx/nginx.conf.in
}

install_nginx() {
	local tmp f
	tmp=$(mktemp -d)
	nginx_split "$tmp/http.conf.in" "$tmp/server.conf.in"
	{
		echo "# wa-backend, http level: include it inside http {} (a file in"
		echo "# sites-enabled is), once. Made by make install from"
		echo "# nginx/nginx.conf.in."
		cat "$tmp/http.conf.in"
	} > "$tmp/http.conf"
	{
		echo "# wa-backend's locations: include it inside your TLS server {}."
		echo "# Made by make install from nginx/nginx.conf.in."
		echo "access_log /var/log/nginx/wa-backend-access.log wa buffer=64k flush=1s;"
		cat "$tmp/server.conf.in"
	} > "$tmp/server.conf"
	put 644 "$tmp/http.conf" "$NGINXDIR/http.conf"
	put 644 "$tmp/server.conf" "$NGINXDIR/server.conf"
	rm -rf "$tmp"
	for f in nginx/fastcgi.conf nginx/headers.conf nginx/errors.conf \
	    nginx/push-"$PUSH_MODULE"-*.conf; do
		case "$f" in *-module.conf) continue ;; esac
		put 644 "$f" "$NGINXDIR/$(basename "$f")"
	done
	[ -f "$D$NGINXDIR/trusted-proxies.conf" ] || printf '%s\n' \
	    "# set_real_ip_from <proxy address or CIDR>; real_ip_header X-Forwarded-For;" \
	    "# real_ip_recursive on;  -- only when a TLS proxy sits in front" \
	    > "$D$NGINXDIR/trusted-proxies.conf"
	if [ "$PUSH_MODULE" = pushstream ]; then
		[ -f "${PUSHSTREAM_SO:-}" ] || die "push-stream module missing: make pushstream"
		install -d "$D$LIBDIR"
		install -m 644 "$PUSHSTREAM_SO" "$D$LIBDIR/ngx_http_push_stream_module.so"
		put 644 nginx/push-pushstream-module.conf \
		    "$SYSCONFDIR/nginx/modules-enabled/50-wa-push-stream.conf"
	fi
}

# --- settings, users, units ---------------------------------------------------

install_env() {
	local env="$SYSCONFDIR/wa-backend/wa.env" key
	if [ -f "$D$env" ]; then
		key=$(sed -n 's/^WA_PUBLISH_SECRET=//p' "$D$env")
	else
		key=$(secret)
		mkdir -p "$D$(dirname "$env")"
		( umask 077; fill < install/wa.env.in | sed \
		    -e "s|@JWT_SECRET@|$(secret)|" -e "s|@PUBLISH_SECRET@|$key|" \
		    > "$D$env" )
		log "wrote $env: fill in the required settings"
	fi
	# nginx's side of the key wa-pushd sends (WA_PUBLISH_SECRET).
	if [ ! -f "$D$NGINXDIR/publish-key.conf" ] && [ -n "$key" ]; then
		( umask 077; printf 'map $http_x_wa_publish_key $wa_publisher_ok {\n\tdefault 0;\n\t"%s" 1;\n}\n' \
		    "$key" > "$D$NGINXDIR/publish-key.conf" )
	fi
	chmod 640 "$D$env"
	[ -z "$DESTDIR" ] && chown root:wa-backend "$D$env"
	return 0
}

add_user() {
	[ -z "$DESTDIR" ] || return 0
	getent group wa-backend >/dev/null || groupadd --system wa-backend
	getent passwd wa-backend >/dev/null || useradd --system \
	    --gid wa-backend --home-dir /nonexistent --no-create-home \
	    --shell /usr/sbin/nologin --comment "WhatsApp backend" wa-backend
}

install_units() {
	local f hard
	hard=$(grep -v '^#' install/systemd/hardening.conf)
	for f in install/systemd/*.in; do
		awk -v h="$hard" '$0 == "@HARDENING@" { print h; next } { print }' \
		    "$f" > "$f.tmp.$$"
		put 644 "$f.tmp.$$" "$UNITDIR/$(basename "$f" .in)"
		rm -f "$f.tmp.$$"
	done
	put 644 install/systemd/wa-backend.target "$UNITDIR/wa-backend.target"
	put 644 install/logrotate.in "$SYSCONFDIR/logrotate.d/wa-backend"
	put 644 install/tmpfiles.conf.in "$PREFIX/lib/tmpfiles.d/wa-backend.conf"
	[ -n "$DESTDIR" ] || systemd-tmpfiles --create "$PREFIX/lib/tmpfiles.d/wa-backend.conf"
}

add_user
install_files
install_nginx
install_env
install_units
log "installed under ${DESTDIR:-/}: see README.md, Install on a server"
