"""A skipped test fails the run (issue 19): a test that does not run hides
whatever regression it was written to catch, and a run that reports
"passed" with skips in it reads like a clean one.

The only skips allowed are those naming a missing optional tool, listed in
ALLOWED below (the start of the skip's reason -> why it may be missing).
Loaded by conftest.py (pytest_plugins); xfail counts as a skip too.
"""
import pytest

ALLOWED = {
    "optional: needs root":
        "Started by an ordinary user, the whole stack runs as that user: "
        "there is no other local user to keep out (test_security_local.py). "
        "make test as root (as CI runs it) runs these.",
}

_refused = []


def allowed(reason):
    """The ALLOWED entry a skip reason starts with, or None."""
    reason = reason.removeprefix("Skipped: ")
    for prefix in ALLOWED:
        if reason.startswith(prefix):
            return prefix
    return None


def _reason(report):
    if hasattr(report, "wasxfail"):
        return "xfail: " + (report.wasxfail or "no reason given")
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_runtest_logreport(report):
    if not report.skipped:
        return
    reason = _reason(report)
    if hasattr(report, "wasxfail") or allowed(reason) is None:
        _refused.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if _refused and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not _refused:
        return
    tr = terminalreporter
    tr.section("skips not allowed (tests/e2e/skip_policy.py)", red=True)
    for nodeid, reason in _refused:
        tr.line("%s: %s" % (nodeid, reason), red=True)
    tr.line("A skip fails the run unless its reason starts with one of: %s"
            % "; ".join(repr(p) for p in ALLOWED), red=True)
