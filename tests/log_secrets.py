"""Finds secrets in a stack's logs: scripts/test.sh runs it once the stack
has stopped (every buffer flushed) after the whole e2e and browser suite, and
fails the run on any finding.

    log_secrets.py RUN_DIR      exit 1 and one line per finding

What counts: anything shaped like a JWT, an API key or a Meta access token, a query or
field that names a token, a bearer credential, a test user's password, and
the stack's own secrets (from RUN_DIR/stack.env).
"""
import os
import re
import sys

SHAPES = [
    ("JWT", re.compile(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")),
    ("token parameter", re.compile(rb"token=", re.I)),
    ("access_token", re.compile(rb"access_token", re.I)),
    ("bearer credential", re.compile(rb"Bearer\s+[A-Za-z0-9._~+/-]{8,}")),
    ("Meta access token", re.compile(rb"EAAG[A-Za-z0-9]{16,}")),
    # An API key, whole or in part: more than the 8 hex digits of its
    # prefix (wak_1a2b3c4d), which only names it.
    ("API key", re.compile(rb"wak_[0-9a-fA-F]{9,}")),
    ("test password", re.compile(rb"pw-[0-9a-f]{16}")),
]
# The stack's own secrets, and the dev demo's.
NAMED = ("WA_APP_SECRET", "WA_JWT_SECRET", "WA_VERIFY_TOKEN")
DEV = (b"dev-access-token", b"demo-password")


def _stack_env(run_dir):
    env = {}
    try:
        with open(os.path.join(run_dir, "stack.env")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                env[k] = v
    except OSError:
        pass
    return env


def log_files(run_dir):
    """Every file under log/, and any other *.log in the run directory
    (PostgreSQL's, say), but not the database's own files."""
    for top, dirs, files in os.walk(run_dir):
        rel = os.path.relpath(top, run_dir)
        if rel.split(os.sep)[0] in ("www", "bin") or \
                rel.startswith(os.path.join("pg", "data")):
            dirs[:] = []
            continue
        for name in files:
            if rel.split(os.sep)[0] == "log" or name.endswith(".log"):
                yield os.path.join(top, name)


def findings(run_dir):
    env = _stack_env(run_dir)
    literal = [(k, env[k].encode()) for k in NAMED if len(env.get(k, "")) >= 6]
    literal += [("dev secret", s) for s in DEV]
    for path in sorted(log_files(run_dir)):
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                what = [name for name, rx in SHAPES if rx.search(line)]
                what += [name for name, s in literal if s in line]
                if what:
                    yield path, n, what, line


def main(argv):
    if len(argv) != 2:
        print("usage: log_secrets.py RUN_DIR", file=sys.stderr)
        return 2
    bad = 0
    for path, n, what, line in findings(argv[1]):
        bad += 1
        if bad <= 20:
            print("%s:%d: %s: %s" % (path, n, ", ".join(what),
                                     line[:160].decode("utf-8", "replace").rstrip()),
                  file=sys.stderr)
    if bad:
        print("%d log lines carry secrets" % bad, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
