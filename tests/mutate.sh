#!/usr/bin/env bash
# mutate.sh: `make test-mutate`. Shows that the tests guard each security
# rule: the rule is disabled in a copy of the tree (one at a time), the
# copy is rebuilt and its stack started, and the e2e tests about that rule
# must then fail. One line per rule: the tests that failed, or SURVIVED
# when none did. Exits 1 when a rule survived, a mutation no longer
# applies (the code moved: update its text here) or the unmutated tests
# fail (the control: a failure there would pass for a kill).
#
# Not part of `make test` or CI: it costs a rebuild and a stack per rule.
# The real tree is only read; the copy lives in a temporary directory.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wa-mutate.XXXXXX")
LOGS="$ROOT/build/mutate"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$LOGS"

# rule name | e2e tests (pytest -k) | mutations, applied by mutation()
RULES=(
	"webhook-signature|test_webhook_security"
	"tenant-membership|test_auth or test_messages or each_others or other_tenant or other_tenants or refused_before_upgrade"
	"csrf-origin|cookie"
	"ws-tenant|test_security_realtime or websocket"
	"exactly-once|test_webhook_ingest"
	"publisher-key|publish"
	"ws-ticket-tenant|refused_before_upgrade"
	"ws-revocation|test_security_realtime"
	"per-user-cap|test_security_limits"
	"key-scope|test_api_keys"
	"key-revocation|test_api_keys"
	"key-tenant|test_api_keys"
	"key-own-cap|test_api_keys"
)

# Replaces the one occurrence of old with new in the copy's file.
replace() {
	/usr/bin/python3 - "$WORK/$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
n = text.count(old)
if n != 1:
    sys.exit("%s: the text to mutate occurs %d times, not once:\n%s"
             % (path, n, old))
open(path, "w").write(text.replace(old, new))
EOF
}

mutation() {
	case "$1" in
	webhook-signature)	# any well-formed signature is taken
		replace fcgi/webhook.c \
		    'if (!webhook_sig_ok(conf.app_secret, buf_str(&r->body),' \
		    'if (0 && !webhook_sig_ok(conf.app_secret, buf_str(&r->body),' ;;
	tenant-membership)	# every user is a member of every tenant
		replace fcgi/auth.c '"SELECT m.role FROM users u"' \
		    '"SELECT coalesce(m.role, '"'owner'"') FROM users u"' ;;
	csrf-origin)		# any Origin (or none) passes
		replace fcgi/auth.c \
		    $'\tif (origin == NULL || *origin == \'\\0\')\n\t\treturn 0;' \
		    $'\treturn 1;\n\tif (origin == NULL)\n\t\treturn 0;' ;;
	ws-tenant)		# the tenant the raw URI spells is checked, not
				# the one nginx subscribes to; no raw-URI guard
		replace fcgi/ws_auth.c \
		    $'\tif (tenant == NULL || *tenant == \'\\0\' ||\n\t    raw_uri_names(uri, tenant) != 0)\n\t\treturn reply_error(r, 403, "forbidden", "bad channel");' \
		    $'\tchar raw_tenant[65];\n\n\t(void)raw_uri_names;\n\tif (uri != NULL && strncmp(uri, "/ws/", 4) == 0) {\n\t\tsnprintf(raw_tenant, sizeof(raw_tenant), "%.*s",\n\t\t    (int)strcspn(uri + 4, "/?"), uri + 4);\n\t\ttenant = raw_tenant;\n\t}' &&
		replace nginx/nginx.conf.in \
		    'if ($request_uri !~ "^/ws/[A-Za-z0-9_-]{1,64}(\?|$)") {' \
		    'if ($request_uri = "/never") {' ;;
	exactly-once)		# no unique (tenant_id, wamid) on messages
		replace schema/001_init.sql $',\n\tUNIQUE (tenant_id, wamid)\n);' \
		    $'\n);' &&
		replace schema/functions/messages.sql \
		    'ON CONFLICT (tenant_id, wamid) DO NOTHING' \
		    'ON CONFLICT DO NOTHING' &&
		replace schema/functions/ingest_batch.sql \
		    'ON CONFLICT (tenant_id, wamid) DO NOTHING' \
		    'ON CONFLICT DO NOTHING' ;;
	publisher-key)		# nginx's publisher takes requests without the key
		replace nginx/nginx.conf.in 'if ($wa_publisher_ok != 1) {' \
		    'if ($wa_publisher_ok = "never") {' ;;
	ws-ticket-tenant)	# a ticket opens a socket to any tenant
		replace schema/functions/ws_tickets.sql \
		    'OR v.token_expires <= now() OR v.tenant_id <> p_tenant' \
		    'OR v.token_expires <= now()' ;;
	ws-revocation)		# a logout leaves the token's sockets open
		replace schema/functions/ws_sessions.sql \
		    $'\t\tOR EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.jti = s.jti)\n' \
		    '' ;;
	per-user-cap)		# no cap on one user's requests waiting on Meta
		replace fcgi/user_slots.c $'\tcap_per_user = (int)cap;' \
		    $'\tcap_per_user = (int)cap + (1 << 20);' ;;
	key-scope)		# an API key may call any route a key may
		replace fcgi/route.c 'route_key_may(rt->flags, r->key_scopes)' \
		    'route_key_may(rt->flags, ~0u)' ;;
	key-revocation)		# a revoked key still works
		replace schema/functions/api_keys.sql \
		    'WHERE a.key_hash = p_hash AND a.revoked_at IS NULL;' \
		    'WHERE a.key_hash = p_hash;' ;;
	key-tenant)		# X-Tenant-Id naming another tenant is ignored
		replace fcgi/auth.c 'strcasecmp(tenant, r->tenant_id) != 0)' \
		    'strcasecmp(tenant, r->tenant_id) != 0 && 0)' ;;
	key-own-cap)		# every key shares one Graph cap (user id "")
		replace fcgi/route.c '? r->key_id : r->user_id;' \
		    '? r->user_id : r->user_id;' ;;
	control) ;;
	*) echo "mutate.sh: no mutation for $1" >&2; return 1 ;;
	esac
}

# Builds the copy and runs the e2e tests matching $2 on its own stack;
# prints the failed tests' ids. Returns 2 when it did not build or run.
run_copy() {
	local name=$1 select=$2 log="$LOGS/$1.log"
	(
		cd "$WORK" || exit 2
		make --no-print-directory FLAVOR=test build >"$log" 2>&1 ||
		    exit 2
		unset WA_TEST_HTTP_PORT
		WA_BROWSER_TESTS=off \
		WA_PYTEST_ARGS="-rfE -k '$select'" \
		    scripts/test.sh all >>"$log" 2>&1
		exit 0
	) || return 2
	grep -q -E '^[0-9]+ (passed|failed|error)' \
	    "$log" || return 2
	sed -n -E 's/^(FAILED|ERROR) ([^ ]+).*/\2/p' "$log" |
	    sed 's/.*:://' | sort -u
}

# The copy: the tree as it is now (uncommitted changes included), its
# test build too so only mutated files recompile; no unit tests in it
# (theirs would be the unmutated binaries), no old stack state.
tar -C "$ROOT" --exclude=./var --exclude=./.git \
    --exclude=./tests/browser/node_modules --exclude=./build/mutate \
    --exclude=./build/test/tests -cf - . | tar -C "$WORK" -xf -

all_tests=""
for r in "${RULES[@]}"; do
	all_tests="${all_tests:+$all_tests or }${r#*|}"
done

status=0
echo "mutate.sh: each rule disabled in turn; logs in build/mutate/"
# The control: unmutated, every selected test passes.
failed=$(run_copy control "$all_tests")
rc=$?
if [ $rc -ne 0 ] || [ -n "$failed" ]; then
	echo "control          FAILED unmutated: ${failed:-did not run}" \
	    "(build/mutate/control.log)"
	exit 1
fi
echo "control          all selected tests pass unmutated"

for r in "${RULES[@]}"; do
	name=${r%%|*}
	select=${r#*|}
	if ! mutation "$name" >"$LOGS/$name.log" 2>&1; then
		printf '%-16s MUTATION DOES NOT APPLY (%s)\n' "$name" \
		    "build/mutate/$name.log"
		status=1
		continue
	fi
	failed=$(run_copy "$name" "$select")
	rc=$?
	if [ $rc -ne 0 ]; then
		printf '%-16s DID NOT BUILD OR RUN (%s)\n' "$name" \
		    "build/mutate/$name.log"
		status=1
	elif [ -z "$failed" ]; then
		printf '%-16s SURVIVED: no test failed (-k %s)\n' "$name" \
		    "$select"
		status=1
	else
		printf '%-16s killed by: %s\n' "$name" "$(echo $failed)"
	fi
	# Back to the real tree's files (a fresh mtime: make rebuilds).
	for f in fcgi/webhook.c fcgi/auth.c fcgi/ws_auth.c fcgi/user_slots.c \
	    fcgi/route.c nginx/nginx.conf.in schema/001_init.sql \
	    schema/functions/messages.sql schema/functions/ingest_batch.sql \
	    schema/functions/ws_sessions.sql schema/functions/ws_tickets.sql \
	    schema/functions/api_keys.sql; do
		cmp -s "$ROOT/$f" "$WORK/$f" || cp "$ROOT/$f" "$WORK/$f"
	done
done
exit $status
