#!/usr/bin/env bash
# test.sh: runs the tests against a private stack on free ports, built with
# AddressSanitizer and UBSan (build/test/bin), in var/test.
#
#   test.sh unit    C unit tests only
#   test.sh all     unit tests, then the stack, then every e2e test, the
#                   webhook equivalence test last (it replays what the
#                   others posted)
#
# After the tests, any sanitizer report or any secret in a log
# (tests/log_secrets.py) fails the run.
#
# Extra pytest arguments: WA_PYTEST_ARGS="-k webhook -x". WA_BROWSER_TESTS=off
# skips the browser tests (tests/browser/run.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=build/test

run_units() {
	local t rc=0
	for t in "$OUT"/tests/test_*; do
		[ -x "$t" ] || continue
		echo "== $t"
		"$t" || rc=1
	done
	return $rc
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Sanitizer reports land in files; any file at the end fails the run.
sanitizer_reports() {
	local f found=0
	for f in "$WA_RUN_DIR"/log/asan.* "$WA_RUN_DIR"/log/ubsan.*; do
		[ -s "$f" ] || continue
		found=1
		echo "== sanitizer report $f" >&2
		head -60 "$f" >&2
	done
	return $found
}

run_all() {
	local rc=0 pyrc erc
	run_units || rc=1

	export WA_ENV=dev
	export WA_RUN_DIR="$ROOT/var/test"
	export WA_BIN_DIR="$ROOT/$OUT/bin"
	export WA_HTTP_PORT=${WA_TEST_HTTP_PORT:-$(free_port)}
	export WA_PUBLISH_PORT=$(free_port)
	export WA_METRICS_PORT=$(free_port)
	export WA_PG_PORT=$(free_port)
	export WA_SIM_PORT=$(free_port)
	export WA_SIMULATOR=on
	export WA_TEST_HOOKS=on
	unset WA_GRAPH_URL WA_DATABASE_URL WA_PUBLISH_URL
	export WA_APP_SECRET="test-app-secret-$RANDOM$RANDOM"
	export WA_VERIFY_TOKEN="test-verify-$RANDOM"
	export WA_JWT_SECRET="test-jwt-secret-$RANDOM$RANDOM$RANDOM"
	export WA_LOG_LEVEL=${WA_LOG_LEVEL:-info}
	export ASAN_OPTIONS="log_path=$WA_RUN_DIR/log/asan:detect_leaks=1"
	export UBSAN_OPTIONS="log_path=$WA_RUN_DIR/log/ubsan:print_stacktrace=1"

	# A fresh stack each run: old state would hide a missing migration.
	scripts/stack.sh stop >/dev/null 2>&1
	rm -rf "$WA_RUN_DIR"
	trap 'scripts/stack.sh stop >/dev/null 2>&1' EXIT
	if ! scripts/stack.sh start >"$ROOT/build/test/stack-start.log" 2>&1; then
		cat "$ROOT/build/test/stack-start.log" >&2
		tail -30 "$WA_RUN_DIR"/log/*.log >&2
		return 1
	fi
	export WA_STACK_ENV="$WA_RUN_DIR/stack.env"

	# WA_PYTEST_ARGS is split as a shell would, quotes kept: -k "a or b".
	local -a pyargs
	mapfile -t pyargs < <(/usr/bin/python3 -c 'import shlex, sys
for a in shlex.split(sys.argv[1]): print(a)' "${WA_PYTEST_ARGS:-}")
	local equiv=tests/e2e/test_webhook_equivalence.py
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e \
	    --ignore="$equiv" "${pyargs[@]}"
	pyrc=$?
	# Last, alone: every webhook the tests above posted, through both
	# ingest paths; the corpus is whole only once they have all run. Exit
	# status 5 is "no test selected" (-k): an error only when neither run
	# selected anything.
	/usr/bin/python3 -m pytest -q -p no:cacheprovider "$equiv" \
	    "${pyargs[@]}"
	erc=$?
	if [ $pyrc -eq 5 ] && [ $erc -eq 5 ]; then
		rc=1
	else
		[ $pyrc -eq 0 ] || [ $pyrc -eq 5 ] || rc=1
		[ $erc -eq 0 ] || [ $erc -eq 5 ] || rc=1
	fi

	# The inbox in headless chromium (tests/browser); WA_BROWSER_TESTS=off
	# skips it while iterating on e2e tests.
	if [ "${WA_BROWSER_TESTS:-on}" != off ]; then
		tests/browser/run.sh || rc=1
	fi

	scripts/stack.sh stop >/dev/null 2>&1
	trap - EXIT
	sanitizer_reports || { echo "sanitizer reports found" >&2; rc=1; }
	# After every test, with every log flushed: no token, password or
	# secret in any of them.
	/usr/bin/python3 tests/log_secrets.py "$WA_RUN_DIR" \
	    || { echo "secrets found in the logs" >&2; rc=1; }
	return $rc
}

case "${1:-all}" in
unit) run_units ;;
all) run_all ;;
*) echo "usage: $0 unit|all" >&2; exit 2 ;;
esac
