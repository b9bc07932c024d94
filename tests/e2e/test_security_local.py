"""Other local users (issue 14): they reach neither the database nor any
secret or log of the stack. As root the stack runs PostgreSQL as postgres
and everything else as www-data; `nobody` stands for any other user."""
import os
import subprocess

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="optional: needs root (one user runs the "
    "whole stack otherwise, so there is no other user to keep out)")


def _as(user, *cmd):
    return subprocess.run(["runuser", "-u", user, "--"] + list(cmd),
                          capture_output=True, text=True, timeout=20)


def _psql(stack, user):
    return _as(user, "psql", "-X", "-h", os.path.join(stack.run_dir, "run"),
               "-p", stack.env["WA_PG_PORT"], "-U", "wa", "-d", "wa",
               "-tAc", "SELECT 42")


def test_another_local_user_cannot_reach_the_database(stack):
    # The control: the app user gets in, so the refusal below is the
    # directory's, not a wrong address.
    ok = _psql(stack, "www-data")
    assert ok.returncode == 0 and ok.stdout.strip() == "42", ok.stderr
    denied = _psql(stack, "nobody")
    assert denied.returncode != 0
    assert "42" not in denied.stdout
    assert "ermission denied" in denied.stderr, denied.stderr


def test_another_local_user_reads_no_secret_and_no_log(stack):
    run = stack.run_dir
    for path in (os.path.join(run, "stack.env"),
                 os.path.join(run, "nginx", "publish-key.conf"),
                 os.path.join(run, "log", "nginx-access.log"),
                 os.path.join(run, "log", "wa-pushd.log")):
        assert os.path.exists(path), path
        r = _as("nobody", "cat", path)
        assert r.returncode != 0 and r.stdout == "", path
