#!/usr/bin/env bash
# run.sh: the inbox's browser tests (headless Debian chromium driven by
# playwright-core) against the stack described by $WA_STACK_ENV (the
# stack.env a `scripts/stack.sh start` wrote). scripts/test.sh runs it after
# pytest. Screenshots land in tests/browser/screenshots/.
set -euo pipefail

cd "$(dirname "$0")"
: "${WA_STACK_ENV:?WA_STACK_ENV must name the stack.env of a running stack}"
[ -x /usr/bin/chromium ] || { echo "browser tests: /usr/bin/chromium missing (scripts/deps.sh installs it)" >&2; exit 1; }
# Installed, and from the lock file as it is now (npm keeps a copy of what
# it installed in node_modules/.package-lock.json).
if [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
	# Only npm packages: playwright-core downloads no browser.
	npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p screenshots
# A skipped (or todo) test fails the run, as in tests/e2e/skip_policy.py: a
# test that does not run hides what it would catch. The TAP copy counts.
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
rc=0
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    inbox.test.mjs || rc=$?
if grep -Eq '^# (skipped|todo) [1-9]' "$tap"; then
	echo "browser tests: skipped or todo tests are not allowed:" >&2
	grep -E '^(not )?ok .*# (SKIP|TODO)' "$tap" >&2
	rc=1
fi
exit $rc
