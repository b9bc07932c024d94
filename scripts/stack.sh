#!/usr/bin/env bash
# stack.sh: sets up and controls the whole local stack: a private PostgreSQL
# cluster, the Graph API simulator (dev, when no real Graph URL is set), two
# wa-fcgi pools under spawn-fcgi, wa-pushd, wa-jobd and nginx. A keeper
# (wa-keeper, scripts/keeper.sh) replaces a responder, wa-pushd or wa-jobd
# that dies.
#
#   stack.sh run | start | stop | status | env
#   stack.sh start-part|stop-part pg|sim|fcgi|pushd|jobd|nginx   (tests use these)
#
# All runtime state lives in $WA_RUN_DIR (default var/ in the checkout).  When
# the checkout sits where the postgres user or nginx's workers cannot enter
# (say /root/...), var/ becomes a symlink to /var/tmp/wa-backend-<hash>, and
# binaries and static files are copied there, so every process can reach them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# Logs and whatever else the stack writes: not for other users' eyes. Every
# directory another user must enter is chmod'ed explicitly below.
umask 027
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1
PG_OSUSER=postgres
APP_OSUSER=www-data
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# --- where runtime state goes -------------------------------------------------

can_enter() {	# can_enter USER DIR
	[ $IS_ROOT -eq 0 ] && return 0
	runuser -u "$1" -- test -x "$2" 2>/dev/null
}

resolve_var_dir() {
	local var="$ROOT/var" alt
	if [ -L "$var" ] || [ -d "$var" ]; then
		VAR_DIR=$(readlink -f "$var")
		return
	fi
	if can_enter "$PG_OSUSER" "$ROOT" && can_enter "$APP_OSUSER" "$ROOT"; then
		mkdir -p "$var"
	else
		alt=/var/tmp/wa-backend-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)
		mkdir -p "$alt"
		ln -sfn "$alt" "$var"
		log "checkout not reachable by $PG_OSUSER/$APP_OSUSER: state in $alt (var -> it)"
	fi
	VAR_DIR=$(readlink -f "$var")
	chmod 755 "$VAR_DIR"
}

# --- configuration ------------------------------------------------------------

load_config() {
	resolve_var_dir
	RUN=${WA_RUN_DIR:-$VAR_DIR}
	case "$RUN" in /*) ;; *) RUN="$ROOT/$RUN" ;; esac
	(umask 022; mkdir -p "$RUN")
	RUN=$(readlink -f "$RUN")
	# A stack started earlier keeps its settings unless the caller overrides.
	if [ -f "$RUN/stack.env" ] && [ "${1:-}" != fresh ]; then
		local line key
		while IFS= read -r line; do
			key=${line%%=*}
			[ -z "${!key+x}" ] && export "$line"
		done < "$RUN/stack.env"
	fi
	export WA_ENV=${WA_ENV:-production}
	export WA_HTTP_PORT=${WA_HTTP_PORT:-8080}
	export WA_PUBLISH_PORT=${WA_PUBLISH_PORT:-8081}
	# Prometheus's /metrics, on loopback only (nginx.conf.in).
	export WA_METRICS_PORT=${WA_METRICS_PORT:-8082}
	export WA_PG_PORT=${WA_PG_PORT:-5433}
	export WA_SIM_PORT=${WA_SIM_PORT:-8090}
	# Without a database of the admin's own, run the private cluster.
	if [ -z "${WA_DATABASE_URL:-}" ]; then
		export WA_PRIVATE_PG=on
		export WA_DATABASE_URL="host=$RUN/run port=$WA_PG_PORT dbname=wa user=wa"
	fi
	export WA_PRIVATE_PG=${WA_PRIVATE_PG:-off}
	export WA_PUBLISH_URL=${WA_PUBLISH_URL:-"http://127.0.0.1:$WA_PUBLISH_PORT/pub"}
	export WA_GRAPH_VERSION=${WA_GRAPH_VERSION:-v21.0}
	export WA_LOG_LEVEL=${WA_LOG_LEVEL:-info}
	export WA_WEBHOOK_PROCS=${WA_WEBHOOK_PROCS:-2}
	export WA_API_PROCS=${WA_API_PROCS:-2}
	# Threads per process. A webhook process stores the bodies its threads
	# hold in batches, one commit for as many as arrive meanwhile: more
	# threads, larger batches (a webhook thread connects to the database
	# only for bodies the batched path leaves to the general one). An API
	# request may wait hundreds of ms on Meta, so that pool needs request
	# slots too (each API thread holds one database connection).
	export WA_WEBHOOK_THREADS=${WA_WEBHOOK_THREADS:-${WA_FCGI_THREADS:-24}}
	export WA_API_THREADS=${WA_API_THREADS:-${WA_FCGI_THREADS:-32}}
	# wa-jobd's workers: jobs (Graph calls) in flight at once, one database
	# connection each.
	export WA_JOBD_THREADS=${WA_JOBD_THREADS:-16}
	export WA_SEND_MPS=${WA_SEND_MPS:-80}
	export WA_SEND_RECIPIENT_GAP_MS=${WA_SEND_RECIPIENT_GAP_MS:-1000}
	export WA_PUSH_MODULE=${WA_PUSH_MODULE:-pushstream}
	[ "$WA_PUSH_MODULE" = push-stream ] && WA_PUSH_MODULE=pushstream
	# The key wa-pushd shows nginx's publisher; kept across restarts so
	# a part restarted alone still matches the others.
	if [ -z "${WA_PUBLISH_SECRET:-}" ]; then
		WA_PUBLISH_SECRET=$(sed -n 's/^WA_PUBLISH_SECRET=//p' \
		    "$RUN/stack.env" 2>/dev/null || true)
		[ -n "$WA_PUBLISH_SECRET" ] || WA_PUBLISH_SECRET=$(head -c 32 \
		    /dev/urandom | od -An -tx1 | tr -d ' \n')
	fi
	export WA_PUBLISH_SECRET
	# TLS proxies whose X-Forwarded-For nginx believes (addresses or
	# CIDRs, space or comma separated); none by default.
	export WA_TRUSTED_PROXIES=${WA_TRUSTED_PROXIES:-}
	# Every responder's counters, summed by a scrape (fcgi/metrics.c).
	export WA_METRICS_FILE=${WA_METRICS_FILE:-$RUN/run/metrics}
	export WA_BIN_DIR=${WA_BIN_DIR:-$ROOT/bin}
	export WA_SCHEMA_DIR=${WA_SCHEMA_DIR:-$ROOT/schema}
	if [ "$WA_ENV" = dev ]; then
		export WA_APP_SECRET=${WA_APP_SECRET:-dev-app-secret}
		export WA_VERIFY_TOKEN=${WA_VERIFY_TOKEN:-dev-verify-token}
		export WA_JWT_SECRET=${WA_JWT_SECRET:-dev-jwt-secret}
		# No real Graph endpoint configured: play Meta with the simulator.
		if [ -z "${WA_GRAPH_URL:-}" ]; then
			export WA_SIMULATOR=${WA_SIMULATOR:-on}
		fi
	fi
	export WA_SIMULATOR=${WA_SIMULATOR:-off}
	if [ "$WA_SIMULATOR" = on ]; then
		export WA_GRAPH_URL=${WA_GRAPH_URL:-"http://127.0.0.1:$WA_SIM_PORT"}
	fi
	export WA_GRAPH_URL=${WA_GRAPH_URL:-https://graph.facebook.com}
	export WA_RUN_DIR=$RUN
}

write_env() {
	local f="$RUN/stack.env"
	( umask 077; env | grep -E '^WA_[A-Z0-9_]+=' | sort > "$f.tmp" )
	mv "$f.tmp" "$f"
	chmod 600 "$f"
}

# --- helpers ------------------------------------------------------------------

as_pg()  { if [ $IS_ROOT -eq 1 ]; then runuser -u "$PG_OSUSER" -- "$@"; else "$@"; fi; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

wait_port() {	# wait_port PORT SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

kill_pidfile() {	# kill_pidfile FILE...: TERM, then KILL after 5 s
	local pids="" f p i
	# One at a time: spawn-fcgi's pid file has no final newline.
	# A keeper's file comes first: it stops replacing before its
	# processes get their TERM.
	for f in "$@"; do
		[ -f "$f" ] && pids="$pids $(cat "$f")"
	done
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for ((i = 0; i < 100; i++)); do
		local any=0
		for p in $pids; do pid_alive "$p" && any=1; done
		[ $any -eq 0 ] && break
		sleep 0.05
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$@"
}

live_pids() {	# live_pids FILE: how many of its pids run
	local p n=0
	for p in $(cat "$1" 2>/dev/null); do pid_alive "$p" && n=$((n + 1)); done
	echo $n
}

wait_pids() {	# wait_pids FILE N: until N of its pids run (5 s at most)
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(live_pids "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	log "$(basename "$1" .pid): $(live_pids "$1") of $2 processes running"
	return 1
}

app_log() {	# app_log FILE: a log file a process running as www-data writes
	touch "$1"
	chmod 640 "$1"
	[ $IS_ROOT -eq 1 ] && chown "$APP_OSUSER" "$1"
	return 0
}

prepare_dirs() {
	mkdir -p "$RUN"/{run,log,bin,nginx,pg}
	chmod 755 "$RUN" "$RUN/bin" "$RUN/nginx"
	# Sockets (PostgreSQL's, the responders') and pid files. The private
	# cluster trusts whoever reaches its socket, so only postgres (the
	# owner) and the app user (the group) may enter.
	chmod 750 "$RUN/run"
	# Logs: written by www-data (responders, wa-pushd, their sanitizer
	# reports) and root (nginx's master, the simulator, the keepers); read
	# by root and, as Debian's logs are, the adm group (new files take the
	# directory's group). Nobody else enters.
	chmod 750 "$RUN/log"
	if [ $IS_ROOT -eq 1 ]; then
		chown "$PG_OSUSER" "$RUN/pg"
		chown "$PG_OSUSER:$APP_OSUSER" "$RUN/run"
		chown "$APP_OSUSER:$(getent group adm >/dev/null && echo adm || echo root)" "$RUN/log"
		chmod 2750 "$RUN/log"
	fi
	# What an older stack left readable to all.
	find "$RUN/log" -type f -perm /o=rwx -exec chmod o-rwx {} +
	# Copies, so a rebuild never swaps a binary under a running process and
	# unprivileged users can reach them wherever the checkout is.
	local b
	for b in wa-fcgi wa-pushd wa-jobd wactl wa-hello; do
		[ -x "$WA_BIN_DIR/$b" ] || die "$WA_BIN_DIR/$b missing: run make first"
		install -m 755 "$WA_BIN_DIR/$b" "$RUN/bin/$b"
	done
	install -m 755 scripts/keeper.sh "$RUN/bin/wa-keeper"
	rm -rf "$RUN/www"
	[ -d nginx/www ] && cp -r nginx/www "$RUN/www" && chmod -R a+rX "$RUN/www"
	return 0
}

# --- PostgreSQL ---------------------------------------------------------------

pg_start() {
	local data="$RUN/pg/data"
	[ "$WA_PRIVATE_PG" = on ] || return 0
	if [ ! -f "$data/PG_VERSION" ]; then
		log "initdb $data"
		as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 \
		    --locale=C.UTF-8 --auth-local=trust --auth-host=reject >/dev/null
		cat >> "$data/postgresql.conf" <<PGCONF
# wa-backend: unix socket only; durable commits (webhooks are acknowledged
# only after COMMIT).
listen_addresses = ''
unix_socket_permissions = 0777
max_connections = 200
shared_buffers = 256MB
synchronous_commit = on
# Full-page images compressed with lz4: pglz (what "on" means) cost more
# CPU per webhook than the rows themselves. Checkpoints at most every 15
# minutes: each one makes the next write to every page log a whole page.
wal_compression = lz4
max_wal_size = 2GB
checkpoint_timeout = 15min
# A new install fills empty tables fast: look for tables to analyze every
# 10 s (not 60), so the first statistics come while they still matter.
autovacuum_naptime = 10s
# Flash storage: an index probe costs little more than a sequential read.
random_page_cost = 1.1
log_min_messages = warning
PGCONF
	fi
	if as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		return 0
	fi
	as_pg "$PGBIN/pg_ctl" -D "$data" -l "$RUN/pg/postgres.log" -w -t 60 \
	    -o "-p $WA_PG_PORT -k $RUN/run" start >/dev/null \
	    || { tail -20 "$RUN/pg/postgres.log" >&2; die "postgres did not start"; }
	local q="psql -X -q -h $RUN/run -p $WA_PG_PORT -U postgres -d postgres -tAc"
	if [ "$(as_pg $q "SELECT 1 FROM pg_roles WHERE rolname='wa'")" != 1 ]; then
		as_pg $q "CREATE ROLE wa LOGIN"
		as_pg $q "CREATE DATABASE wa OWNER wa"
	fi
}

pg_stop() {
	local data="$RUN/pg/data"
	[ "$WA_PRIVATE_PG" = on ] || return 0
	[ -f "$data/postmaster.pid" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# --- the Graph API simulator --------------------------------------------------

sim_start() {
	[ "$WA_SIMULATOR" = on ] || return 0
	[ -f tests/graphsim/graphsim.py ] || { log "no simulator in this checkout"; return 0; }
	pid_alive "$(cat "$RUN/run/graphsim.pid" 2>/dev/null)" && return 0
	local args=(--port "$WA_SIM_PORT" --app-secret "$WA_APP_SECRET"
	    --webhook-url "http://127.0.0.1:$WA_HTTP_PORT/webhook"
	    --media-dir "$RUN/graphsim-media")
	# The demo tenant's number; tests register their own tenants' numbers
	# through the simulator's control API.
	[ "$WA_ENV" = dev ] && args+=(--number "$DEMO_PNID:$DEMO_TOKEN:$DEMO_DISPLAY")
	setsid /usr/bin/python3 tests/graphsim/graphsim.py "${args[@]}" \
	    >>"$RUN/log/graphsim.log" 2>&1 &
	echo $! > "$RUN/run/graphsim.pid"
	wait_port "$WA_SIM_PORT" 10 || die "graph simulator did not start (log/graphsim.log)"
}

sim_stop() { kill_pidfile "$RUN/run/graphsim.pid"; }

# --- wa-fcgi pools ------------------------------------------------------------

# spawn-fcgi binds the pool's socket and starts a keeper on it, which starts
# the responders (they inherit the socket) and replaces any that dies.
# fcgi-NAME.pid lists the responders, fcgi-NAME.keeper.pid the keeper.
fcgi_pool_start() {	# fcgi_pool_start NAME PROCS THREADS
	local name=$1 procs=$2 threads=$3 sock="$RUN/run/$1.sock" own=()
	local pids="$RUN/run/fcgi-$1.pid" keeper="$RUN/run/fcgi-$1.keeper.pid"
	local prog=("$RUN/bin/wa-fcgi") logf="$RUN/log/wa-fcgi-$1.log"
	if pid_alive "$(cat "$keeper" 2>/dev/null)"; then
		wait_pids "$pids" "$procs" || true
		return 0
	fi
	pid_alive "$(head -n1 "$pids" 2>/dev/null)" && return 0
	rm -f "$sock" "$pids"
	app_log "$logf"
	if [ $IS_ROOT -eq 1 ]; then
		own=(-U "$APP_OSUSER" -G "$APP_OSUSER")
		prog=(setpriv --reuid="$APP_OSUSER" --regid="$APP_OSUSER" \
		    --init-groups -- "${prog[@]}")
	fi
	WA_POOL=$name WA_FCGI_THREADS=$threads WA_LOG_FILE="$logf" \
	    spawn-fcgi -s "$sock" -M 0660 "${own[@]}" -F 1 -P "$keeper" -- \
	    "$RUN/bin/wa-keeper" "$procs" 0 "$pids" -- "${prog[@]}" >/dev/null \
	    || die "spawn-fcgi $name failed (log/wa-fcgi-$name.log)"
	if ! wait_pids "$pids" "$procs"; then
		kill_pidfile "$keeper" "$pids"
		die "wa-fcgi $name does not stay up (log/wa-fcgi-$name.log)"
	fi
}

fcgi_start() {
	# The responders cannot create files in run/ when we are root.
	touch "$WA_METRICS_FILE"
	chmod 600 "$WA_METRICS_FILE"
	[ $IS_ROOT -eq 1 ] && chown "$APP_OSUSER" "$WA_METRICS_FILE"
	fcgi_pool_start webhook "$WA_WEBHOOK_PROCS" "$WA_WEBHOOK_THREADS"
	fcgi_pool_start api "$WA_API_PROCS" "$WA_API_THREADS"
}

fcgi_stop() {
	kill_pidfile "$RUN/run/fcgi-webhook.keeper.pid" "$RUN/run/fcgi-webhook.pid"
	kill_pidfile "$RUN/run/fcgi-api.keeper.pid" "$RUN/run/fcgi-api.pid"
}

# --- wa-pushd -----------------------------------------------------------------

# wa-pushd under a keeper too: pushd.pid is wa-pushd, pushd.keeper.pid the
# keeper. A dead one is replaced after a second, by when a standby wa-pushd,
# if an admin runs one (it retries the relay lock every 0.5 s), has taken
# over.
pushd_start() {
	local cmd=("$RUN/bin/wa-pushd") logf="$RUN/log/wa-pushd.log"
	local keeper="$RUN/run/pushd.keeper.pid"
	if pid_alive "$(cat "$keeper" 2>/dev/null)"; then
		wait_pids "$RUN/run/pushd.pid" 1 || true
		return 0
	fi
	pid_alive "$(cat "$RUN/run/pushd.pid" 2>/dev/null)" && return 0
	rm -f "$RUN/run/pushd.pid"
	# wa-pushd reopens its log on SIGHUP as www-data: it must own it.
	app_log "$logf"
	if [ $IS_ROOT -eq 1 ]; then
		cmd=(setpriv --reuid="$APP_OSUSER" --regid="$APP_OSUSER" \
		    --init-groups -- "${cmd[@]}")
	fi
	# setsid execs, so $! is the keeper itself.
	WA_LOG_FILE="$logf" setsid "$RUN/bin/wa-keeper" 1 1 "$RUN/run/pushd.pid" \
	    -- "${cmd[@]}" </dev/null >>"$logf" 2>&1 &
	echo $! > "$keeper"
	wait_pids "$RUN/run/pushd.pid" 1 || true
}

pushd_stop() { kill_pidfile "$RUN/run/pushd.keeper.pid" "$RUN/run/pushd.pid"; }

# --- wa-jobd ------------------------------------------------------------------

# wa-jobd, the job worker, under a keeper like wa-pushd: jobd.pid is
# wa-jobd, jobd.keeper.pid the keeper. A dead one is replaced after a
# second; the new one reports the attempts the dead one left unfinished.
jobd_start() {
	local cmd=("$RUN/bin/wa-jobd") logf="$RUN/log/wa-jobd.log"
	local keeper="$RUN/run/jobd.keeper.pid"
	if pid_alive "$(cat "$keeper" 2>/dev/null)"; then
		wait_pids "$RUN/run/jobd.pid" 1 || true
		return 0
	fi
	pid_alive "$(cat "$RUN/run/jobd.pid" 2>/dev/null)" && return 0
	rm -f "$RUN/run/jobd.pid"
	app_log "$logf"
	if [ $IS_ROOT -eq 1 ]; then
		cmd=(setpriv --reuid="$APP_OSUSER" --regid="$APP_OSUSER" \
		    --init-groups -- "${cmd[@]}")
	fi
	WA_LOG_FILE="$logf" setsid "$RUN/bin/wa-keeper" 1 1 "$RUN/run/jobd.pid" \
	    -- "${cmd[@]}" </dev/null >>"$logf" 2>&1 &
	echo $! > "$keeper"
	wait_pids "$RUN/run/jobd.pid" 1 || true
}

jobd_stop() { kill_pidfile "$RUN/run/jobd.keeper.pid" "$RUN/run/jobd.pid"; }

# --- nginx --------------------------------------------------------------------

# push-stream, as make built it for this nginx's version, copied beside the
# config (push-pushstream-module.conf loads it from there): nginx reaches it
# wherever the checkout is, and a rebuild never changes it under nginx.
pushstream_install() {
	local v so dst="$RUN/nginx/modules/ngx_http_push_stream_module.so"
	v=$(nginx -v 2>&1 | sed -n 's|^nginx version: nginx/||p')
	so="$ROOT/build/nginx/$v/ngx_http_push_stream_module.so"
	[ -f "$so" ] || die "push-stream module for nginx $v missing ($so): run make pushstream, or use WA_PUSH_MODULE=nchan"
	mkdir -p "$RUN/nginx/modules"
	install -m 644 "$so" "$dst.tmp"
	mv "$dst.tmp" "$dst"
}

# Descriptors nginx's workers can have: 131072, or the hard limit when that
# is lower (a container's), which root may not raise either.
nofile_limit() {
	local hard
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ] || [ "$hard" -gt 131072 ]; then
		echo 131072
	else
		echo "$hard"
	fi
}

nginx_conf() {
	local conf="$RUN/nginx/nginx.conf" user="" push nofile
	mkdir -p "$RUN/nginx/tmp"
	[ $IS_ROOT -eq 1 ] && user="user $APP_OSUSER;" && chown "$APP_OSUSER" "$RUN/nginx/tmp"
	case "$WA_PUSH_MODULE" in
	nchan) push=nchan ;;
	pushstream|push-stream) push=pushstream; pushstream_install ;;
	*) die "WA_PUSH_MODULE: nchan or pushstream" ;;
	esac
	nofile=$(nofile_limit)
	sed -e "s|@RUN@|$RUN|g" -e "s|@USER@|$user|g" \
	    -e "s|@HTTP_PORT@|$WA_HTTP_PORT|g" \
	    -e "s|@PUBLISH_PORT@|$WA_PUBLISH_PORT|g" \
	    -e "s|@METRICS_PORT@|$WA_METRICS_PORT|g" \
	    -e "s|@PUSH@|$push|g" -e "s|@NGINX_DIR@|$RUN/nginx|g" \
	    -e "s|@NOFILE@|$nofile|g" \
	    -e "s|@CONNECTIONS@|$((nofile < 65536 ? nofile : 65536))|g" \
	    nginx/nginx.conf.in > "$conf"
	# The publisher's key, readable by nginx's master (root) only.
	rm -f "$RUN/nginx/publish-key.conf"
	( umask 077; printf 'map $http_x_wa_publish_key $wa_publisher_ok {\n\tdefault 0;\n\t"%s" 1;\n}\n' \
	    "$WA_PUBLISH_SECRET" > "$RUN/nginx/publish-key.conf" )
	for f in nginx/*.conf; do
		sed -e "s|@RUN@|$RUN|g" -e "s|@NGINX_DIR@|$RUN/nginx|g" "$f" \
		    > "$RUN/nginx/$(basename "$f")"
	done
	trusted_proxies_conf > "$RUN/nginx/trusted-proxies.conf"
	nginx -p "$RUN/nginx" -c "$conf" -t -q 2>"$RUN/log/nginx-test.log" \
	    || { cat "$RUN/log/nginx-test.log" >&2; die "nginx config invalid"; }
}

# set_real_ip_from per WA_TRUSTED_PROXIES entry: only those may say, in
# X-Forwarded-For, which client they forward (for the per-address limits).
trusted_proxies_conf() {
	local p any=0
	echo "# from WA_TRUSTED_PROXIES (scripts/stack.sh)"
	for p in ${WA_TRUSTED_PROXIES//,/ }; do
		[[ $p =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ ]] \
		    || die "WA_TRUSTED_PROXIES: '$p' is not an address or CIDR"
		echo "set_real_ip_from $p;"
		any=1
	done
	[ $any -eq 1 ] || return 0
	echo "real_ip_header X-Forwarded-For;"
	echo "real_ip_recursive on;"
}

nginx_start() {
	pid_alive "$(cat "$RUN/run/nginx.pid" 2>/dev/null)" && return 0
	nginx_conf
	# Descriptors for worker_connections (nginx.conf.in); its workers
	# raise their own limit when the master runs as root.
	( ulimit -n "$(nofile_limit)"
	  exec nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" )
	wait_port "$WA_HTTP_PORT" 10 || die "nginx did not listen on $WA_HTTP_PORT"
}

nginx_stop() { kill_pidfile "$RUN/run/nginx.pid"; }

# --- demo data ----------------------------------------------------------------

DEMO_EMAIL=demo@example.com
DEMO_PASSWORD=demo-password
DEMO_PNID=100000000000001
DEMO_TOKEN=dev-access-token
DEMO_DISPLAY=15550001111

demo_data() {
	[ "$WA_ENV" = dev ] || return 0
	local wactl="$RUN/bin/wactl" tid
	tid=$("$wactl" tenant list | awk -F'\t' -v p="$DEMO_PNID" '$3 == p { print $1 }')
	if [ -z "$tid" ]; then
		tid=$(printf '%s\n' "$DEMO_TOKEN" | "$wactl" tenant add \
		    --name "Demo Shop" --phone-number-id "$DEMO_PNID" \
		    --waba-id 200000000000001 --display-phone "$DEMO_DISPLAY" \
		    --access-token-file -)
	fi
	printf '%s\n' "$DEMO_PASSWORD" | "$wactl" user add --email "$DEMO_EMAIL" \
	    --password-stdin --tenant "$tid" --role owner --if-missing >/dev/null
	DEMO_TENANT=$tid
}

# --- commands -----------------------------------------------------------------

start_all() {
	prepare_dirs
	write_env
	pg_start
	"$RUN/bin/wactl" migrate
	demo_data
	sim_start
	fcgi_start
	pushd_start
	jobd_start
	nginx_start
	curl -fsS -o /dev/null "http://127.0.0.1:$WA_HTTP_PORT/healthz" \
	    || die "stack started but /healthz fails: see $RUN/log"
}

stop_all() {
	nginx_stop
	jobd_stop
	pushd_stop
	fcgi_stop
	sim_stop
	pg_stop
}

banner() {
	cat <<BANNER

  WhatsApp backend running at  http://127.0.0.1:$WA_HTTP_PORT/
  Webhook (give this to Meta): http://127.0.0.1:$WA_HTTP_PORT/webhook
  Metrics (loopback only):     http://127.0.0.1:$WA_METRICS_PORT/metrics
  Graph API:                   $WA_GRAPH_URL $( [ "$WA_SIMULATOR" = on ] && echo "(simulator)")
BANNER
	[ "$WA_ENV" = dev ] && cat <<BANNER
  Demo login:                  $DEMO_EMAIL / $DEMO_PASSWORD  (tenant ${DEMO_TENANT:-?})
BANNER
	cat <<BANNER
  State and logs:              $RUN
  Settings:                    $RUN/stack.env

BANNER
}

part() {	# part start|stop NAME
	case "$2" in
	pg|sim|fcgi|pushd|jobd|nginx) "${2}_$1" ;;
	*) die "unknown part $2" ;;
	esac
}

cmd=${1:-}
case "$cmd" in
start)
	load_config fresh
	start_all
	banner
	;;
run)
	load_config fresh
	TAIL_PID=
	# A background job of a script ignores SIGINT, so the log tail is
	# stopped by pid.
	trap 'echo; log "stopping"; [ -n "$TAIL_PID" ] && kill "$TAIL_PID";
	    stop_all; exit 0' INT TERM
	start_all
	banner
	echo "  Ctrl-C stops everything."
	tail -n0 -F "$RUN"/log/*.log 2>/dev/null &
	TAIL_PID=$!
	wait
	;;
stop)
	load_config
	stop_all
	;;
status)
	load_config
	for f in "$RUN"/run/*.pid; do
		[ -f "$f" ] || continue
		alive=0; for p in $(cat "$f"); do pid_alive "$p" && alive=$((alive+1)); done
		printf '%-24s %s running\n' "$(basename "$f" .pid)" "$alive"
	done
	;;
env)
	load_config
	cat "$RUN/stack.env"
	;;
start-part|stop-part)
	load_config
	part "${cmd%-part}" "${2:-}"
	;;
*)
	echo "usage: $0 run|start|stop|status|env|start-part NAME|stop-part NAME" >&2
	exit 2
	;;
esac
