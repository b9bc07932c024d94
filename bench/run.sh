#!/usr/bin/env bash
# bench/run.sh: `make bench`. Starts a private stack (release build) plus the
# ceilings (nginx `return 200`, nginx -> bench/hello.c, pgbench on our own
# per-webhook SQL, a canned Graph API), runs every scenario of issues 8 and
# 13 on loopback with bounded counts and durations, and writes
# bench/results/<timestamp>.json plus a table on stdout (bench/report.py).
# Issue 13's: ingest on a new database (fresh), the seed stack in
# ../shared/peer beside ours in the same run (peer), ingest with a million
# messages stored (scale); every ingest run checks that each stored message
# was published without gaps (a WebSocket subscriber, the catch-up API).
#
# A scenario whose endpoint is not there (yet) is reported as skipped, with
# the reason, never as a failure; benchmarks do not fail for being slow.
#
# Knobs: BENCH_SECONDS (per measurement, default 10), BENCH_PROCS (webhook
# responder process counts to try, default "4 8 16"), BENCH_ONLY (a list of
# scenario names: fresh ceilings ingest peer statuses ws relay send media
# scale), BENCH_STATUS_MSGS (the statuses scenario's stored messages, 20000),
# BENCH_MODULES (the push modules ws and relay run on, default "pushstream
# nchan"), BENCH_KEEP=1 (leave the stack running), BENCH_PORT_BASE (default
# 18600), BENCH_PEER_ROUNDS (3), BENCH_PEER_WORKERS (1), BENCH_PEER_DIR
# (../shared/peer), BENCH_SCALE_BASE (10000), BENCH_SCALE_ROWS (1000000),
# BENCH_SCALE_VACUUM (auto: the product's autovacuum; manual: by hand),
# BENCH_SCALE_WAIT (300: the longest wait for autovacuum, in seconds).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SECS=${BENCH_SECONDS:-10}
PROCS_LIST=${BENCH_PROCS:-"1 2 4"}
ONLY=${BENCH_ONLY:-"fresh ceilings ingest peer statuses ws relay send media scale"}
MODULES=${BENCH_MODULES:-"pushstream nchan"}
BASE=${BENCH_PORT_BASE:-18600}
BIN=$ROOT/bin
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"

export WA_RUN_DIR=${WA_RUN_DIR:-$ROOT/var/bench}
export WA_ENV=dev
export WA_HTTP_PORT=$BASE
export WA_PUBLISH_PORT=$((BASE + 1))
export WA_PG_PORT=$((BASE + 2))
export WA_SIM_PORT=$((BASE + 3))
export WA_METRICS_PORT=$((BASE + 4))
CEIL_PORT=$((BASE + 10))
GRAPH_PORT=$((BASE + 11))
SLOW_PORT=$((BASE + 12))
export WA_SIMULATOR=off
export WA_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export WA_WEBHOOK_PROCS=${WA_WEBHOOK_PROCS:-2}
export WA_API_PROCS=${WA_API_PROCS:-2}
export WA_API_THREADS=${WA_API_THREADS:-32}
# The send runs drive the whole pool with one user's token: measure the
# pool, not the per-user cap that would refuse most of them.
export WA_USER_GRAPH_CONCURRENCY=${WA_USER_GRAPH_CONCURRENCY:-$WA_API_THREADS}
export WA_LOG_LEVEL=${WA_LOG_LEVEL:-warn}
DEFAULT_PROCS=$WA_WEBHOOK_PROCS

PNID=100000000000777
WABA=200000000000777
DISPLAY=15550007777
EMAIL=bench@example.com
APP_SECRET=dev-app-secret	# stack.sh's dev default
RUN_ID=$(date +%s)
T=$(mktemp -d /tmp/wa-bench.XXXXXX)
chmod 755 "$T"
BD=""		# the ceilings' directory, set by ceil_start

log() { printf "bench: %s %s\n" "$(date -u +%H:%M:%S)" "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
# skip NAME REASON: the scenario's result is a reason, not a figure.
skip() {
	log "$1: skipped: $2"
	python3 -c 'import json,sys; print(json.dumps({"skipped": sys.argv[1]}))' \
	    "$2" > "$T/$1.json"
}
# put NAME KEY JSON: adds KEY to scenario NAME's result object.
put() {
	python3 - "$T/$1.json" "$2" "$3" <<'EOF'
import json, os, sys
path, key, val = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path)) if os.path.exists(path) else {}
try:
    d[key] = json.loads(val)
except ValueError:
    d[key] = val
json.dump(d, open(path, "w"))
EOF
}
jget() {	# jget JSON KEY: a top-level value of a JSON object
	python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v.get(sys.argv[2], ""))' "$1" "$2"
}

cleanup() {
	[ -z "${PEER_STATE:-}" ] || peer_stop
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		ceil_stop
		scripts/stack.sh stop >/dev/null 2>&1
	fi
	rm -rf "$T"
}

# Stops what ceil_start started (also a previous run's, kept with BENCH_KEEP).
ceil_stop() {
	local f
	[ -n "$BD" ] || BD=$(readlink -f "$WA_RUN_DIR")/bench
	for f in "$BD/graph.pid" "$BD/nginx.pid" "$BD/hello.pid"; do
		[ -f "$f" ] && kill $(cat "$f") 2>/dev/null
		rm -f "$f"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the stack ------------------------------------------------------------

stack_env() {	# lines KEY=VALUE, unquoted: not for `.`
	local line
	while IFS= read -r line; do
		[[ $line == WA_*=* ]] && export "$line"
	done < "$WA_RUN_DIR/stack.env"
}

# As the cluster's superuser (the postgres user when we are root).
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_wa() { psql -X -q -v ON_ERROR_STOP=1 -h "$WA_RUN_DIR/run" -p "$WA_PG_PORT" -U wa -d wa "$@"; }
q() { psql_wa -tAc "$1"; }

stack_start() {
	log "starting the stack in $WA_RUN_DIR (fresh database)"
	scripts/stack.sh stop >/dev/null 2>&1
	# A fresh cluster each run: figures do not drift with old rows.
	rm -rf "$(readlink -f "$WA_RUN_DIR")/pg"
	scripts/stack.sh start >"$T/stack.log" 2>&1 || {
		tail -20 "$T/stack.log" >&2
		return 1
	}
	stack_env
	WACTL=$WA_RUN_DIR/bin/wactl
	TID=$("$WACTL" tenant add --name Bench --phone-number-id $PNID \
	    --waba-id $WABA --display-phone $DISPLAY --access-token bench-token)
	printf 'bench-password\n' | "$WACTL" user add --email $EMAIL \
	    --password-stdin --tenant "$TID" --role owner --if-missing >/dev/null
	JWT=$("$WACTL" token --email $EMAIL --tenant "$TID")
	[ -n "$TID" ] && [ -n "$JWT" ] || { log "no bench tenant"; return 1; }
	log "tenant $TID"
	DB_USED=0	# sc_fresh and sc_scale want a database nothing used
}

fcgi_restart() {	# fcgi_restart WEBHOOK_PROCS
	WA_WEBHOOK_PROCS=$1 scripts/stack.sh stop-part fcgi >/dev/null 2>&1
	WA_WEBHOOK_PROCS=$1 scripts/stack.sh start-part fcgi >/dev/null 2>&1
	sleep 0.3
}

# --- the ceilings' nginx, hello pool and Graph APIs -------------------------

ceil_start() {
	local user="" own=()
	BD=$(readlink -f "$WA_RUN_DIR")/bench
	mkdir -p "$BD/tmp" "$BD/files"
	chmod 755 "$BD" "$BD/files"
	if [ "$(id -u)" -eq 0 ]; then
		user="user www-data;"
		chown www-data "$BD/tmp"
		own=(-u www-data -g www-data -U www-data -G www-data)
	fi
	# 100 MB of incompressible bytes: the media scenario's file.
	if [ ! -f "$BD/files/media.bin" ] || \
	    [ "$(stat -c %s "$BD/files/media.bin")" != 104857600 ]; then
		head -c 104857600 /dev/urandom > "$BD/files/media.bin"
	fi
	chmod 644 "$BD/files/media.bin"
	MEDIA_SHA=$(sha256sum "$BD/files/media.bin" | cut -c1-64)
	sed -e "s|@USER@|$user|" -e "s|@DIR@|$BD|g" \
	    -e "s|@CEIL_PORT@|$CEIL_PORT|g" -e "s|@GRAPH_PORT@|$GRAPH_PORT|g" \
	    -e "s|@MEDIA_SHA@|$MEDIA_SHA|g" -e "s|@MEDIA_SIZE@|104857600|g" \
	    bench/nginx-bench.conf.in > "$BD/nginx.conf"
	ceil_stop
	sleep 0.3
	nginx -p "$BD" -c "$BD/nginx.conf" -e "$BD/nginx-error.log" || return 1
	hello_start "$DEFAULT_PROCS"
	setsid "$BIN/wa-bench" graph -p "$SLOW_PORT" -D 200 \
	    </dev/null >>"$BD/graph.log" 2>&1 &
	echo $! > "$BD/graph.pid"
	sleep 0.3
}

hello_start() {	# hello_start PROCS
	local own=()
	if [ -f "$BD/hello.pid" ]; then
		kill $(cat "$BD/hello.pid") 2>/dev/null
		rm -f "$BD/hello.pid"
		sleep 0.2
	fi
	rm -f "$BD/hello.sock"
	[ "$(id -u)" -eq 0 ] && own=(-u www-data -g www-data -U www-data -G www-data)
	spawn-fcgi -s "$BD/hello.sock" -M 0660 "${own[@]}" -F "$1" \
	    -P "$BD/hello.pid" -- "$WA_RUN_DIR/bin/wa-hello" >/dev/null
}

# --- process accounting ------------------------------------------------------

# Clock ticks (utime + stime) of the given pids.
ticks() {
	local t=0 p s
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }	# past "pid (comm) "
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo $t
}
HZ=$(getconf CLK_TCK)
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
pool_pids() { cat "$WA_RUN_DIR/run/fcgi-$1.pid" 2>/dev/null; }
nginx_pids() { local m; m=$(cat "$WA_RUN_DIR/run/nginx.pid"); echo "$m" $(children "$m"); }
pg_pids() {
	local m; m=$(head -1 "$(readlink -f "$WA_RUN_DIR")/pg/data/postmaster.pid")
	echo "$m" $(children "$m")
}
pushd_pid() { cat "$WA_RUN_DIR/run/pushd.pid" 2>/dev/null; }
# status_max FIELD PID...: the largest value of a /proc/<pid>/status field
# (kB) among the given pids.
status_max() {
	local f=$1 m=0 p v
	shift
	for p in "$@"; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo $m
}
hwm() { status_max VmHWM "$@"; }	# peak RSS
# Private memory now: VmHWM also counts the shared libraries' pages.
anon() { status_max RssAnon "$@"; }
rss() { status_max VmRSS "$@"; }

# --- load helpers -------------------------------------------------------------

WH_SPEC() { echo "$APP_SECRET:$PNID:$DISPLAY:$WABA:$1"; }

# One signed webhook through the public port: the HTTP status.
probe_webhook() {
	local out
	out=$("$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "probe${RUN_ID}x")" -c 1 -n 1 -d 5 2>/dev/null)
	python3 -c 'import json,sys; s=json.loads(sys.argv[1])["status"]
print(next((k for k in ("2xx","4xx","5xx","3xx") if s[k]), "error"))' "$out" 2>/dev/null || echo error
}

# acked_check PSQL PREFIX ACKED_FILE [CONDITION]: JSON of what a database
# holds for a run's acked ids: ours (CONDITION names the tenant), or the
# seed stack's (one tenant, no column for it).
acked_check() {
	local cond=${4:-true}
	$1 -tA <<SQL
CREATE TEMP TABLE acked (wamid text);
\copy acked FROM '$3'
SELECT json_build_object(
  'acked', (SELECT count(*) FROM acked),
  'acked_distinct', (SELECT count(DISTINCT wamid) FROM acked),
  'missing', (SELECT count(*) FROM acked a WHERE NOT EXISTS (
      SELECT 1 FROM messages m WHERE $cond AND m.wamid = a.wamid)),
  'rows', (SELECT count(*) FROM messages m WHERE $cond
      AND m.wamid LIKE 'wamid.$2%'),
  'distinct_rows', (SELECT count(DISTINCT m.wamid) FROM messages m
      WHERE $cond AND m.wamid LIKE 'wamid.$2%'));
SQL
}

# verify_ingest PREFIX ACKED_FILE: JSON of what our database holds.
verify_ingest() { acked_check psql_wa "$1" "$2" "m.tenant_id = '$TID'"; }

# --- scenarios --------------------------------------------------------------

sc_ceilings() {
	local r
	log "ceiling: nginx return 200 ($SECS s, 32 connections)"
	r=$("$BIN/wa-bench" load -p "$CEIL_PORT" -u /ceiling -c 32 -d "$SECS")
	put ceilings nginx_return_200 "$r"
	# The same with wrk: shows whether our generator limits the ceiling.
	if command -v wrk >/dev/null; then
		r=$(wrk -t1 -c32 -d"${SECS}s" "http://127.0.0.1:$CEIL_PORT/ceiling" 2>&1 \
		    | awk '/Requests\/sec/ { print $2 }')
		put ceilings nginx_return_200_wrk_rps "${r:-0}"
	fi
	log "ceiling: nginx -> wa-hello x$DEFAULT_PROCS"
	r=$("$BIN/wa-bench" load -p "$CEIL_PORT" -u /hello -c 32 -d "$SECS")
	put ceilings fcgi_hello "$r"
	put ceilings fcgi_hello_procs "$DEFAULT_PROCS"
	pg_ceiling
}

# pgbench on the exact statement fcgi/webhook.c runs for one body.
pg_ceiling() {
	local sql script="$T/webhook.pgbench" c r
	sql=$(python3 bench/webhook_sql.py fcgi/webhook.c 2>"$T/sql.err")
	if [ -z "$sql" ]; then
		put ceilings pgbench "{\"skipped\": \"$(head -1 "$T/sql.err")\"}"
		return
	fi
	python3 bench/webhook_sql.py --pgbench fcgi/webhook.c "$PNID" "$DISPLAY" \
	    "$WABA" "pgb${RUN_ID}x" > "$script" || return
	put ceilings pgbench_sql "$sql"
	# Which of the SQL functions the time goes to (evidence, not a fix).
	psql -X -q -h "$WA_RUN_DIR/run" -p "$WA_PG_PORT" -U postgres -d wa \
	    -c "ALTER SYSTEM SET track_functions = 'all'" \
	    -c "SELECT pg_reload_conf()" -c "SELECT pg_stat_reset()" >/dev/null
	for c in 8 16 32; do
		log "ceiling: pgbench -c $c on the webhook statement"
		r=$(pgbench -n -h "$WA_RUN_DIR/run" -p "$WA_PG_PORT" -U wa -c "$c" \
		    -j 2 -T "$SECS" -f "$script" wa 2>&1)
		if ! grep -q '^tps' <<<"$r"; then
			put ceilings "pgbench_c$c" "{\"error\": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1][-300:]))' "$r")}"
			continue
		fi
		put ceilings "pgbench_c$c" "$(awk '/^tps/ { tps=$3 } /latency average/ { lat=$4 }
		    END { printf "{\"tps\": %s, \"latency_avg_ms\": %s}", tps, lat }' <<<"$r")"
	done
	put ceilings pg_function_profile "$(psql -X -h "$WA_RUN_DIR/run" \
	    -p "$WA_PG_PORT" -U postgres -d wa -tAc "SELECT coalesce(json_agg(f), '[]')
	    FROM (SELECT funcname, calls, round((total_time / calls)::numeric, 3)
	    AS total_ms_per_call, round((self_time / calls)::numeric, 3)
	    AS self_ms_per_call FROM pg_stat_user_functions WHERE calls > 0
	    ORDER BY self_time DESC LIMIT 10) f")"
	psql -X -q -h "$WA_RUN_DIR/run" -p "$WA_PG_PORT" -U postgres -d wa \
	    -c "ALTER SYSTEM RESET track_functions" -c "SELECT pg_reload_conf()" >/dev/null
}

# Per-table scan counters (pg_stat_user_tables) of the tables ingest
# writes, as one JSON object: the witness of a plan that reads every row.
# Approximate over a run: a busy backend reports its counters each second.
scan_counts() {
	q "SELECT coalesce(json_object_agg(relname, json_build_object(
	    'seq_scan', seq_scan, 'seq_tup_read', seq_tup_read,
	    'idx_scan', coalesce(idx_scan, 0))), '{}')
	    FROM pg_stat_user_tables
	    WHERE relname IN ('messages', 'contacts', 'events')"
}

# The tenant's highest event number: where a run's catch-up check starts.
last_seq() {
	q "SELECT coalesce(max(seq), 0) FROM events WHERE tenant_id = '$TID'"
}

# warm_up PREFIX: 2 s of webhooks, unmeasured (connections, plans, caches).
warm_up() {
	"$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "$1")" -c 32 -d 2 >/dev/null 2>&1
}

# err_json FILE: a JSON error object holding FILE's last 300 characters.
err_json() {
	python3 -c 'import json,sys; print(json.dumps({"error": open(sys.argv[1]).read()[-300:] or "no output"}))' "$1"
}

# ingest_run LABEL PROCS SECS: one measured webhook run at 32 connections
# (closed loop), with one WebSocket subscriber on the tenant all along.
# Then: exactly one row per acked id; every stored message's event
# numbered without gaps, at the subscriber and in the catch-up API
# (bench/gapcheck.py); CPU per webhook from /proc (responders, nginx,
# every PostgreSQL process; wa-pushd apart); scans of the written tables.
ingest_run() {
	local label=$1 procs=$2 secs=$3 pfx="in${RUN_ID}${1}x" acked seen
	local wp np pp dp w0 n0 p0 d0 w1 n1 p1 d1 r v g s0 s1 after
	acked=$T/acked-$label.txt
	seen=$T/seen-$label.txt
	wp=$(pool_pids webhook); np=$(nginx_pids); pp=$(pg_pids); dp=$(pushd_pid)
	after=$(last_seq)
	s0=$(scan_counts)
	w0=$(ticks $wp); n0=$(ticks $np); p0=$(ticks $pp); d0=$(ticks $dp)
	r=$("$BIN/wa-bench" ws -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "$pfx")" -c 32 -d "$secs" -S 1 -P "/ws/$TID" \
	    -K "$JWT" -A "$acked" -F "$seen" 2>"$T/ingest.err")
	w1=$(ticks $wp); n1=$(ticks $np); p1=$(ticks $pp); d1=$(ticks $dp)
	s1=$(scan_counts)
	if [ -z "$r" ]; then
		err_json "$T/ingest.err" | tee "$T/ingest-$label.json"
		return
	fi
	v=$(verify_ingest "$pfx" "$acked")
	g=$(/usr/bin/python3 bench/gapcheck.py "$WA_RUN_DIR/run" "$WA_PG_PORT" \
	    "$TID" "$pfx" "$seen" "$after" "$WA_HTTP_PORT" "$JWT" 2>"$T/gap.err")
	[ -n "$g" ] || g=$(err_json "$T/gap.err")
	python3 - "$r" "$v" "$g" "$s0" "$s1" "$procs" "$((w1 - w0))" \
	    "$((n1 - n0))" "$((p1 - p0))" "$((d1 - d0))" "$HZ" "$(hwm $wp)" \
	    "$(anon $wp)" > "$T/ingest-$label.json" <<'PY'
import json, sys
ws, v, g = (json.loads(x) for x in sys.argv[1:4])
s0, s1 = json.loads(sys.argv[4]), json.loads(sys.argv[5])
procs, wt, nt, pt, dt, hz, hwm, anon = (int(x) for x in sys.argv[6:14])
r = ws.pop("post")
n = max(r["ok"], 1)
us = lambda t: round(t / hz / n * 1e6, 1)
r.update({"procs": procs, "db": v, "ws": ws, "publish": g,
          "exactly_once": v["missing"] == 0 and v["rows"] == v["distinct_rows"]
          and v["rows"] == v["acked_distinct"],
          "published_without_gaps": bool(g.get("ok")) and ws["lost"] == 0
          and ws["duplicated"] == 0 and ws["id_gaps"] == 0,
          "cpu_us_per_webhook": {"responder": us(wt), "nginx": us(nt),
                                 "postgres": us(pt), "total": us(wt + nt + pt),
                                 "pushd": us(dt)},
          "scans": {t: {k: s1[t][k] - s0.get(t, {}).get(k, 0) for k in s1[t]}
                    for t in s1},
          "responder_peak_rss_kb": hwm, "responder_rss_anon_kb": anon})
print(json.dumps(r))
PY
	cat "$T/ingest-$label.json"
}

sc_ingest() {
	local st p r best=0 bestp=""
	st=$(probe_webhook)
	if [ "$st" != 2xx ]; then
		skip ingest "POST /webhook answered $st to a signed text message (not implemented yet?)"
		return
	fi
	for p in $PROCS_LIST; do
		log "ingest: $p webhook responders, 32 connections, $SECS s"
		fcgi_restart "$p"
		# Warm-up: connections, prepared statements, caches.
		warm_up "warm${RUN_ID}p${p}x"
		r=$(ingest_run "p$p" "$p" "$SECS")
		put ingest "procs_$p" "$r"
		rps=$(jget "$r" rps)
		rps=${rps:-0}
		if python3 -c "import sys; sys.exit(0 if $rps > $best else 1)"; then
			best=$rps; bestp=$p
		fi
	done
	put ingest best_procs "${bestp:-0}"
	fcgi_restart "$DEFAULT_PROCS"
	IDLE_P99=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' \
	    "$T/ingest-p$DEFAULT_PROCS.json" 2>/dev/null)
}

# The general path (issue 13's next step): status webhooks ("sent"), one
# per outgoing message stored beforehand in SQL (wa-bench -s), as Meta's
# receipts for a broadcast arrive. Figures: rate, latency, CPU per webhook,
# and every acknowledged status applied to its message.
sc_statuses() {
	local pfx="st${RUN_ID}x" n=${BENCH_STATUS_MSGS:-20000}
	local wp np pp w0 n0 p0 w1 n1 p1 r applied
	log "statuses: $n outgoing messages stored in SQL"
	# Triggers off (replica role): this is a restore, not a send.
	as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$WA_RUN_DIR/run" \
	    -p "$WA_PG_PORT" -d wa <<SQL || { skip statuses "preload failed"; return; }
SET session_replication_role = replica;
INSERT INTO contacts (tenant_id, wa_id, name)
SELECT '$TID', '1999' || lpad(g::text, 7, '0'), 'Bench ' || g
FROM generate_series(0, 999) g
ON CONFLICT (tenant_id, wa_id) WHERE wa_id IS NOT NULL DO NOTHING;
INSERT INTO messages (tenant_id, contact_id, wamid, direction, type, text,
    status)
SELECT c.tenant_id, c.id, 'wamid.${pfx}out' || g, 'out', 'text',
    'broadcast ' || g, 'accepted'
FROM generate_series(0, $n - 1) g JOIN contacts c ON c.tenant_id = '$TID'
    AND c.wa_id = '1999' || lpad((g % 1000)::text, 7, '0');
ANALYZE messages;
SQL
	warm_up "warm${RUN_ID}stx"
	log "statuses: status webhooks, 32 connections, $SECS s"
	wp=$(pool_pids webhook); np=$(nginx_pids); pp=$(pg_pids)
	w0=$(ticks $wp); n0=$(ticks $np); p0=$(ticks $pp)
	r=$("$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "$pfx")" -s -c 32 -d "$SECS" 2>"$T/statuses.err")
	w1=$(ticks $wp); n1=$(ticks $np); p1=$(ticks $pp)
	if [ -z "$r" ]; then
		err_json "$T/statuses.err" > "$T/statuses.json"
		return
	fi
	applied=$(q "SELECT count(*) FROM messages WHERE tenant_id = '$TID'
	    AND wamid LIKE 'wamid.${pfx}out%' AND status = 'sent'")
	python3 - "$r" "${applied:-0}" "$((w1 - w0))" "$((n1 - n0))" \
	    "$((p1 - p0))" "$HZ" "$n" > "$T/statuses.json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
applied, wt, nt, pt, hz, n = (int(x) for x in sys.argv[2:8])
ok = max(r["ok"], 1)
us = lambda t: round(t / hz / ok * 1e6, 1)
r.update({"messages": n, "applied": applied,
          "cpu_us_per_webhook": {"responder": us(wt), "nginx": us(nt),
                                 "postgres": us(pt), "total": us(wt + nt + pt)}})
print(json.dumps(r))
PY
}

# ws_run NAME RATE SUBS SECS
ws_run() {
	local r
	r=$("$BIN/wa-bench" ws -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "ws${RUN_ID}$WA_PUSH_MODULE$1x")" -r "$2" -d "$4" \
	    -c 64 -S "$3" \
	    -P "/ws/$TID" -K "$JWT" ${WS_EVENT:+-E "$WS_EVENT"} 2>"$T/ws.err")
	if [ -z "$r" ]; then
		put "$WS" "$1" "{\"error\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-300:]))' "$T/ws.err")}"
		return
	fi
	put "$WS" "$1" "$r"
}

sc_ws() {
	local st
	st=$(probe_webhook)
	if [ "$st" != 2xx ]; then
		skip "$WS" "POST /webhook answered $st (no ingestion to relay)"
		return
	fi
	if ! pid_ok "$(pushd_pid)"; then
		skip "$WS" "wa-pushd is not running (see $WA_RUN_DIR/log/wa-pushd.log)"
		return
	fi
	# Every responder thread's database session compiles and plans the
	# ingest functions on its first webhooks: not what a latency figure
	# of a running service is about.
	log "ws ($WA_PUSH_MODULE): warming up (2 s of webhooks)"
	"$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "warm${RUN_ID}${WA_PUSH_MODULE}x")" -c 32 -d 2 \
	    >/dev/null 2>&1
	quiesce
	log "ws ($WA_PUSH_MODULE): 10 subscribers, 200 webhooks/s, 5 s"
	ws_run small 200 10 5
	quiesce
	log "ws ($WA_PUSH_MODULE): 100 subscribers, 1000 webhooks/s, $SECS s"
	ws_run large 1000 100 "$SECS"
	put "$WS" pushd_peak_rss_kb "$(hwm $(pushd_pid))"
	# Zero lost whatever the number of responder processes.
	local most
	most=$(printf '%s\n' $PROCS_LIST | sort -n | tail -1)
	if [ -n "$most" ] && [ "$most" != "$DEFAULT_PROCS" ]; then
		log "ws ($WA_PUSH_MODULE): 10 subscribers, 200 webhooks/s, 5 s, $most responders"
		fcgi_restart "$most"
		"$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
		    -W "$(WH_SPEC "warm${RUN_ID}${WA_PUSH_MODULE}p$most")" \
		    -c 32 -d 2 >/dev/null 2>&1
		quiesce
		ws_run "small_p$most" 200 10 5
		put "$WS" "small_p${most}_procs" "$most"
		fcgi_restart "$DEFAULT_PROCS"
	fi
}

pid_ok() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Before a latency scenario: the relay idle (earlier scenarios' events all
# published), dead rows vacuumed and dirty pages written, so a checkpoint
# or autovacuum left over from a throughput run does not land in it.
quiesce() {
	for _ in $(seq 1 300); do
		[ "$(q "SELECT NOT EXISTS (SELECT 1 FROM event_counters n
		    LEFT JOIN event_cursors c USING (tenant_id)
		    WHERE n.last_seq > coalesce(c.published, 0))")" = t ] &&
		    break
		sleep 0.1
	done
	psql_wa -c "VACUUM (ANALYZE) events, messages, contacts" >/dev/null
	as_pg psql -X -q -h "$WA_RUN_DIR/run" -p "$WA_PG_PORT" -d wa \
	    -c CHECKPOINT >/dev/null 2>&1 || log "CHECKPOINT refused"
}

sc_relay() {
	local n=${BENCH_RELAY_EVENTS:-20000} rounds=${BENCH_RELAY_ROUNDS:-3}
	local frame r d i pp p0 p1 runs="" directs=""
	if ! pid_ok "$(pushd_pid)"; then
		skip "$RELAY" "wa-pushd is not running"
		return
	fi
	if [ "$(q "SELECT to_regclass('event_cursors') IS NOT NULL")" != t ]; then
		skip "$RELAY" "no event_cursors table (schema/003_realtime.sql missing)"
		return
	fi
	quiesce
	pp=$(pushd_pid)
	frame='{"id":1,"event":"bench.relay","data":{"i":1,"text":"relay benchmark event 1"}}'
	# Rounds of each, interleaved, so a neighbour's burst on this shared
	# box lands on both; the medians are compared.
	for i in $(seq 1 "$rounds"); do
		log "relay ($WA_PUSH_MODULE) $i/$rounds: $n events inserted in bulk"
		p0=$(ticks $pp)
		r=$(/usr/bin/python3 bench/relay_run.py "$WA_RUN_DIR/run" \
		    "$WA_PG_PORT" "$TID" "$n")
		p1=$(ticks $pp)
		[ -n "$r" ] || r='{"error": "bench/relay_run.py failed"}'
		runs="$runs${runs:+,}$(python3 -c 'import json,sys; d=json.loads(sys.argv[1])
if "events" in d: d["cpu_us_per_event"]=round(int(sys.argv[2])/int(sys.argv[3])/d["events"]*1e6,1)
print(json.dumps(d))' "$r" "$((p1 - p0))" "$HZ")"
		# The same frames POSTed straight to the publisher, one
		# connection like wa-pushd's, with its key and an Event-Id.
		[ "$i" = 1 ] && frame=$(q "SELECT wa_event_frame(seq, name, data)
		    FROM events WHERE tenant_id = '$TID'
		    ORDER BY seq DESC LIMIT 1")
		log "relay ($WA_PUSH_MODULE) $i/$rounds: direct POSTs, 1 connection"
		d=$("$BIN/wa-bench" load -p "$WA_PUBLISH_PORT" -m POST \
		    -u "/pub?id=$TID" -H 'Content-Type: application/json' \
		    -H "X-WA-Publish-Key: $WA_PUBLISH_SECRET" -H 'Event-Id: 1' \
		    -B "$frame" -c 1 -n "$n" -d 30)
		[ -n "$d" ] || d='{}'
		directs="$directs${directs:+,}$d"
	done
	put "$RELAY" rounds "[$runs]"
	put "$RELAY" direct_rounds "[$directs]"
	put "$RELAY" pushd "$(python3 -c 'import json,statistics,sys
rs=json.loads(sys.argv[1]); ok=[r for r in rs if "events_per_s" in r]
if len(ok) < len(rs): print(json.dumps(next(r for r in rs if "error" in r)))
else: print(json.dumps({"events": ok[0]["events"], "rounds": len(ok),
    "events_per_s": statistics.median(r["events_per_s"] for r in ok),
    "cpu_us_per_event": statistics.median(r["cpu_us_per_event"] for r in ok)}))' "[$runs]")"
	put "$RELAY" direct "$(python3 -c 'import json,statistics,sys
ds=[d for d in json.loads(sys.argv[1]) if d.get("rps")]
print(json.dumps({"rps": statistics.median(d["rps"] for d in ds)} if ds else {}))' "[$directs]")"
	put "$RELAY" pushd_peak_rss_kb "$(hwm $pp)"
	put "$RELAY" pushd_rss_anon_kb "$(anon $pp)"
}

# Restarts nginx and wa-pushd with push module $1 (pushstream or nchan),
# as the e2e tests' push_module fixture does; later restarts keep it.
use_module() {
	[ "$WA_PUSH_MODULE" = "$1" ] && return 0
	log "push module: $1 (nginx and wa-pushd restarted)"
	export WA_PUSH_MODULE=$1
	scripts/stack.sh stop-part nginx >/dev/null 2>&1
	scripts/stack.sh stop-part pushd >/dev/null 2>&1
	scripts/stack.sh start-part pushd >/dev/null 2>&1 &&
	    scripts/stack.sh start-part nginx >/dev/null 2>&1
}

send_body='{"to":"19990000001","text":"benchmark send"}'
# Under load each send names one of the 1,000 webhook senders (wa-bench
# puts one in for {R}): one recipient would serialize every send on its
# contact row, which measures the row lock, not us.
send_load_body='{"to":"{R}","text":"benchmark send"}'

sc_send() {
	local st r g
	st=$(curl -s -o "$T/send.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $JWT" -H "X-Tenant-Id: $TID" \
	    -H 'Content-Type: application/json' -d "$send_body" \
	    "http://127.0.0.1:$WA_HTTP_PORT/api/v1/send/text")
	if [ "${st:0:1}" != 2 ]; then
		skip send "POST /api/v1/send/text answered $st: $(head -c 200 "$T/send.out")"
		return
	fi
	# Every recipient writes first: their 24-hour windows are open.
	"$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
	    -W "$(WH_SPEC "win${RUN_ID}x")" -c 32 -n 1000 -d 30 >/dev/null 2>&1
	quiesce
	log "send: canned Graph endpoint alone (nginx, 32 connections)"
	g=$("$BIN/wa-bench" load -p "$GRAPH_PORT" -m POST \
	    -u "/v21.0/$PNID/messages" -H 'Content-Type: application/json' \
	    -H 'Authorization: Bearer bench-token' -B '{"messaging_product":"whatsapp","to":"19990000001","type":"text","text":{"body":"benchmark send"}}' \
	    -c 32 -d "$SECS")
	put send graph_instant "$g"
	log "send: /api/v1/send/text against the instant Graph, 32 connections"
	r=$(send_load 32 "$SECS")
	put send instant "$r"
	put send overhead_ms "$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); g=json.loads(sys.argv[2])
print(json.dumps({"p50": round(a["p50_ms"]-g["p50_ms"],3), "p99": round(a["p99_ms"]-g["p99_ms"],3)}))' "$r" "$g")"
	# One connection: the time our code adds without queueing.
	r=$(send_load 1 "$((SECS / 2 > 0 ? SECS / 2 : 1))")
	g=$("$BIN/wa-bench" load -p "$GRAPH_PORT" -m POST \
	    -u "/v21.0/$PNID/messages" -H 'Content-Type: application/json' \
	    -B '{"to":"19990000001"}' -c 1 -d 2)
	put send instant_c1 "$r"
	put send graph_instant_c1 "$g"
	put send overhead_c1_ms "$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); g=json.loads(sys.argv[2])
print(json.dumps({"p50": round(a["p50_ms"]-g["p50_ms"],3), "p99": round(a["p99_ms"]-g["p99_ms"],3)}))' "$r" "$g")"

	log "send: against a Graph that answers after 200 ms, 64 clients"
	stack_regraph "http://127.0.0.1:$SLOW_PORT"
	send_load 64 "$((SECS + 4))" > "$T/slow.json" &
	local sp=$!
	sleep 2
	if [ "$(probe_webhook)" = 2xx ]; then
		log "send: webhook ingest while those sends are in flight"
		r=$("$BIN/wa-bench" load -p "$WA_HTTP_PORT" -u /webhook \
		    -W "$(WH_SPEC "iso${RUN_ID}x")" -c 32 -d "$SECS")
		put send ingest_during_slow_sends "$r"
		[ -n "${IDLE_P99:-}" ] && put send ingest_idle_p99_ms "$IDLE_P99"
	else
		put send ingest_during_slow_sends '{"skipped": "POST /webhook not available"}'
	fi
	wait $sp
	put send slow_200ms_c64 "$(cat "$T/slow.json")"
	# Each API request slot (process x thread) holds one send for 200 ms.
	put send api_slots "$((WA_API_PROCS * WA_API_THREADS))"
	stack_regraph "http://127.0.0.1:$GRAPH_PORT"
}

send_load() {	# send_load CONNS SECS
	"$BIN/wa-bench" load -p "$WA_HTTP_PORT" -m POST -u /api/v1/send/text \
	    -H "Authorization: Bearer $JWT" -H "X-Tenant-Id: $TID" \
	    -H 'Content-Type: application/json' -B "$send_load_body" \
	    -c "$1" -d "$2"
}

# The responders read WA_GRAPH_URL at start: restart them with another.
stack_regraph() {
	WA_GRAPH_URL=$1 scripts/stack.sh stop-part fcgi >/dev/null 2>&1
	WA_GRAPH_URL=$1 scripts/stack.sh start-part fcgi >/dev/null 2>&1
	sleep 0.3
}

sc_media() {
	local st f="$BD/files/media.bin" up id r0 r1 h0 h1 ap rdown
	st=$(curl -s -o "$T/media.out" -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer $JWT" -H "X-Tenant-Id: $TID" \
	    -F "file=@/etc/hostname;type=application/pdf" \
	    "http://127.0.0.1:$WA_HTTP_PORT/api/v1/upload/media")
	if [ "${st:0:1}" != 2 ]; then
		skip media "POST /api/v1/upload/media answered $st: $(head -c 200 "$T/media.out")"
		return
	fi
	log "media: ceiling: 100 MB through nginx alone"
	put media ceiling_upload "$(curl -s -o /dev/null -w '{"seconds": %{time_total}, "bytes_per_s": %{speed_upload}}' \
	    -X POST --data-binary "@$f" -H 'Content-Type: application/pdf' \
	    "http://127.0.0.1:$CEIL_PORT/sink")"
	put media ceiling_download "$(curl -s -o /dev/null -w '{"seconds": %{time_total}, "bytes_per_s": %{speed_download}}' \
	    "http://127.0.0.1:$CEIL_PORT/files/media.bin")"
	ap=$(pool_pids api)
	r0=$(rss $ap); h0=$(hwm $ap)
	log "media: upload 100 MB"
	up=$(curl -s -o "$T/media.out" -w '{"status": %{http_code}, "seconds": %{time_total}, "bytes_per_s": %{speed_upload}}' \
	    -X POST -H "Authorization: Bearer $JWT" -H "X-Tenant-Id: $TID" \
	    -F "file=@$f;type=application/pdf;filename=bench.pdf" \
	    "http://127.0.0.1:$WA_HTTP_PORT/api/v1/upload/media")
	h1=$(hwm $ap)
	put media upload "$up"
	put media upload_response "$(head -c 300 "$T/media.out")"
	put media upload_rss_growth_kb "$((h1 - h0))"
	id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("data",d); print(d.get("id") or d.get("media_id") or "")' "$T/media.out" 2>/dev/null)
	if [ -z "$id" ]; then
		put media download '{"skipped": "no media id in the upload answer"}'
		return
	fi
	log "media: download 100 MB"
	h0=$(hwm $ap)
	rdown=$(curl -s -o "$T/media.dl" -w '{"status": %{http_code}, "seconds": %{time_total}, "bytes_per_s": %{speed_download}, "bytes": %{size_download}}' \
	    -H "Authorization: Bearer $JWT" -H "X-Tenant-Id: $TID" \
	    "http://127.0.0.1:$WA_HTTP_PORT/api/v1/media/$id")
	h1=$(hwm $ap)
	put media download "$rdown"
	put media download_intact "$([ "$(sha256sum < "$T/media.dl" | cut -c1-64)" = "$MEDIA_SHA" ] && echo true || echo false)"
	put media download_rss_growth_kb "$((h1 - h0))"
	put media responder_rss_before_kb "$r0"
	rm -f "$T/media.dl"
}

# --- the seed stack beside ours (issue 13) ------------------------------------

# The seed specification's Python stack, rebuilt as a peer in ../shared/peer
# (its README): FastAPI + pywa + asyncpg, one worker, durable commits.
PEER_DIR=${BENCH_PEER_DIR:-$(cd "$ROOT/.." && pwd)/shared/peer}
PEER_STATE=""

# Stops what peer_start started, by the pids run_peer.sh recorded, and
# deletes its cluster.
peer_stop() {
	[ -n "$PEER_STATE" ] || return 0
	PEER_STATE=$PEER_STATE "$PEER_DIR/stop_peer.sh" --purge >/dev/null 2>&1
	PEER_STATE=""
}

peer_start() {
	local e
	PEER_STATE=$(readlink -f "$WA_RUN_DIR")/peer
	# A cluster of its own, new each run, like ours.
	PEER_STATE=$PEER_STATE "$PEER_DIR/stop_peer.sh" --purge >/dev/null 2>&1
	PEER_STATE=$PEER_STATE PYWA_DIR=$PEER_STATE/pywa "$PEER_DIR/run_peer.sh" \
	    --workers "${BENCH_PEER_WORKERS:-1}" --sync-commit on --truncate \
	    >"$T/peer-start.log" 2>&1 || return 1
	e=$PEER_STATE/peer.env
	PEER_HTTP=$(sed -n 's/^HTTP_PORT=//p' "$e")
	PEER_PG=$(sed -n 's/^PG_PORT=//p' "$e")
	PEER_SOCK=$(sed -n 's/^PG_SOCK=//p' "$e")
	PEER_SECRET=$(sed -n 's/^PEER_APP_SECRET=//p' "$e")
	PEER_PNID=$(sed -n 's/^PHONE_NUMBER_ID=//p' "$e")
	[ -n "$PEER_HTTP" ] && [ -n "$PEER_PG" ]
}

peer_q() { psql -X -q -v ON_ERROR_STOP=1 -h "$PEER_SOCK" -p "$PEER_PG" -U postgres -d peer "$@"; }
# The peer's processes: uvicorn and its PostgreSQL, each with its children.
peer_pids() {
	local m
	for m in $(cat "$PEER_STATE/app.pid" "$PEER_STATE/pg.pid" 2>/dev/null); do
		echo "$m" $(children "$m")
	done
}

# verify_peer PREFIX ACKED_FILE: verify_ingest's figures on the peer.
verify_peer() { acked_check peer_q "$1" "$2"; }

# peer_run LABEL: the peer under the same load as ingest_run's (wa-bench,
# the same bodies signed with its secret, 32 connections, closed loop).
peer_run() {
	local label=$1 pfx="pr${RUN_ID}${1}x" acked=$T/acked-$1.txt pp p0 p1 r v
	pp=$(peer_pids)
	p0=$(ticks $pp)
	r=$("$BIN/wa-bench" load -p "$PEER_HTTP" -u /webhook \
	    -W "$PEER_SECRET:$PEER_PNID:$DISPLAY:$WABA:$pfx" -c 32 -d "$SECS" \
	    -A "$acked" 2>"$T/peer.err")
	p1=$(ticks $pp)
	if [ -z "$r" ]; then
		err_json "$T/peer.err"
		return
	fi
	v=$(verify_peer "$pfx" "$acked")
	python3 - "$r" "$v" "$((p1 - p0))" "$HZ" <<'PY'
import json, sys
r, v = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t, hz = int(sys.argv[3]), int(sys.argv[4])
r.update({"db": v, "exactly_once": v["missing"] == 0 and
          v["rows"] == v["distinct_rows"] and v["rows"] == v["acked_distinct"],
          "cpu_us_per_webhook": {"total": round(t / hz / max(r["ok"], 1) * 1e6, 1)}})
print(json.dumps(r))
PY
}

sc_peer() {
	local i r rounds=${BENCH_PEER_ROUNDS:-3} peers="" ours=""
	if [ ! -d "$PEER_DIR" ]; then
		skip peer "no seed stack at $PEER_DIR (../shared/peer): nothing to compare with"
		return
	fi
	if ! /usr/bin/python3 -c 'import fastapi, uvicorn, asyncpg, uvloop, httptools, websockets' 2>/dev/null; then
		skip peer "the seed stack's Debian packages are missing (scripts/deps.sh --bench, which make bench runs, installs them)"
		return
	fi
	if [ "$(probe_webhook)" != 2xx ]; then
		skip peer "POST /webhook does not answer 2xx here"
		return
	fi
	log "peer: starting the seed stack ($PEER_DIR, ${BENCH_PEER_WORKERS:-1} worker, durable commits)"
	if ! peer_start; then
		skip peer "the seed stack did not start: $(tail -1 "$T/peer-start.log")"
		peer_stop
		return
	fi
	"$BIN/wa-bench" load -p "$PEER_HTTP" -u /webhook \
	    -W "$PEER_SECRET:$PEER_PNID:$DISPLAY:$WABA:pwarm${RUN_ID}x" -c 32 -d 2 \
	    >/dev/null 2>&1
	warm_up "warm${RUN_ID}peerx"
	# Rounds interleaved, so a neighbour's burst on this shared box lands
	# on both; report.py compares the medians.
	for i in $(seq 1 "$rounds"); do
		log "peer: round $i/$rounds: the seed stack, 32 connections, $SECS s"
		r=$(peer_run "peer_r$i")
		peers="$peers${peers:+,}$r"
		log "peer: round $i/$rounds: ours ($DEFAULT_PROCS responders, 1 subscriber), 32 connections, $SECS s"
		r=$(ingest_run "ours_r$i" "$DEFAULT_PROCS" "$SECS")
		ours="$ours${ours:+,}$r"
	done
	peer_stop
	put peer peer_rounds "[$peers]"
	put peer ours_rounds "[$ours]"
	put peer workers "${BENCH_PEER_WORKERS:-1}"
}

# --- a fresh start, and ingest at scale (issue 13) -----------------------------

# Ingest in the first seconds of a new install (new cluster and database,
# responders just started, no warm-up), then the same processes warmed up,
# then the same data after the whole stack stopped and started again.
sc_fresh() {
	local r
	if [ "$DB_USED" = 1 ]; then
		log "fresh: a new cluster (earlier scenarios used this one)"
		stack_start || { skip fresh "the stack did not start again"; return; }
	fi
	log "fresh: ingest on the new database at once, no warm-up, $SECS s"
	r=$(ingest_run fresh "$DEFAULT_PROCS" "$SECS")
	put fresh first "$r"
	log "fresh: the same processes, after a 2 s warm-up, $SECS s"
	warm_up "warm${RUN_ID}fsx"
	r=$(ingest_run fresh_same "$DEFAULT_PROCS" "$SECS")
	put fresh warm_same "$r"
	log "fresh: the same data after the stack stopped and started, $SECS s"
	scripts/stack.sh stop >/dev/null 2>&1
	if ! scripts/stack.sh start >"$T/stack.log" 2>&1; then
		put fresh warm_restarted '{"error": "the stack did not start again"}'
		return
	fi
	stack_env
	warm_up "warm${RUN_ID}frx"
	r=$(ingest_run fresh_restarted "$DEFAULT_PROCS" "$SECS")
	put fresh warm_restarted "$r"
}

# Ingest with BENCH_SCALE_BASE messages stored, then BENCH_SCALE_ROWS: the
# history preloaded in SQL (bench/preload.py: contacts, messages, their
# events numbered), then autovacuum left to catch up with the product's own
# settings (BENCH_SCALE_VACUUM=manual: VACUUM (ANALYZE) by hand instead).
sc_scale() {
	local n r l st mode=${BENCH_SCALE_VACUUM:-auto}
	local base=${BENCH_SCALE_BASE:-10000} big=${BENCH_SCALE_ROWS:-1000000}
	if [ "$DB_USED" = 1 ]; then
		log "scale: a new cluster (earlier scenarios used this one)"
		stack_start || { skip scale "the stack did not start again"; return; }
	fi
	put scale sizes "[$base, $big]"
	for n in $base $big; do
		log "scale: storing $n messages (SQL)"
		l=$(/usr/bin/python3 bench/preload.py load "$WA_RUN_DIR/run" \
		    "$WA_PG_PORT" "$TID" "$n" 20)
		put scale "preload_$n" "$l"
		if [ "$(jget "$l" error)" != "" ]; then
			log "scale: preload failed: $(jget "$l" error)"
			return
		fi
		log "scale: autovacuum ($mode), at most ${BENCH_SCALE_WAIT:-300} s"
		st=$(/usr/bin/python3 bench/preload.py settle "$WA_RUN_DIR/run" \
		    "$WA_PG_PORT" "$mode" "${BENCH_SCALE_WAIT:-300}")
		put scale "settle_$n" "$st"
		log "scale: ingest with $n messages stored, $SECS s"
		warm_up "warm${RUN_ID}s${n}x"
		r=$(ingest_run "s$n" "$DEFAULT_PROCS" "$SECS")
		put scale "at_$n" "$r"
	done
}

machine() {
	python3 - "$@" <<'EOF'
import json, os, platform, subprocess
model = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip(); break
mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = int(line.split()[1]) // 1024
def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              shell=True).stdout.strip().splitlines()[0]
    except Exception:
        return ""
print(json.dumps({"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem,
    "kernel": platform.release(),
    "nginx": ver("nginx -v 2>&1"), "postgres": ver("pgbench --version"),
    "load_avg_at_start": os.getloadavg()}))
EOF
}

# --- main -------------------------------------------------------------------

for b in wa-fcgi wa-pushd wactl wa-hello wa-bench; do
	[ -x "$BIN/$b" ] || { log "$BIN/$b missing: run make bench"; exit 1; }
done
machine > "$T/machine.json"
stack_start || { log "the stack did not start"; exit 1; }
WS_EVENT=${BENCH_WS_EVENT:-}
run_scenario() {	# run_scenario NAME [RESULT_NAME]
	if want "$1"; then
		"sc_$1"
		DB_USED=1
	else
		skip "${2:-$1}" "not selected (BENCH_ONLY)"
	fi
}
# First, while the database is new and the responders have served nothing.
run_scenario fresh
ceil_start || { log "the ceilings' nginx did not start"; exit 1; }
run_scenario ceilings
run_scenario ingest
run_scenario peer
run_scenario statuses
# The real-time scenarios once per push module, in the same run, so each
# module's relay sits beside a direct publish to that module.
DEFAULT_MODULE=$WA_PUSH_MODULE
for m in $MODULES; do
	WS=ws_$m RELAY=relay_$m
	if ! { want ws || want relay; }; then
		skip "$WS" "not selected (BENCH_ONLY)"
		skip "$RELAY" "not selected (BENCH_ONLY)"
		continue
	fi
	if ! use_module "$m"; then
		skip "$WS" "the stack did not restart with $m"
		skip "$RELAY" "the stack did not restart with $m"
		continue
	fi
	run_scenario ws "$WS"
	run_scenario relay "$RELAY"
done
use_module "$DEFAULT_MODULE"
run_scenario send
run_scenario media
# Last: it leaves a million messages behind.
run_scenario scale
echo "$MODULES" > "$T/modules.txt"
OUT=$RESULTS/$STAMP.json
python3 bench/report.py "$T" "$OUT" "$STAMP"
log "results: $OUT"
