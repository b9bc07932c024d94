"""A database of a test's own in the stack's PostgreSQL cluster, brought
up by `wactl migrate` as a new install's is: for tests that need a schema
from its first migration, or tables that start empty."""
import contextlib
import os
import secrets
import subprocess

import psycopg2
import psycopg2.extras


def _socket_dir(stack):
    return os.path.join(stack.run_dir, "run")


def dsn(stack, name, user="wa"):
    return "host=%s port=%s dbname=%s user=%s" % (
        _socket_dir(stack), stack.env["WA_PG_PORT"], name, user)


def _admin(stack):
    """The cluster's superuser (local connections are trusted)."""
    conn = psycopg2.connect(dsn(stack, "postgres", "postgres"))
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def scratch_db(stack):
    """Yields the name of a new, empty database owned by wa; dropped after,
    whoever is still connected to it."""
    name = "wa_test_" + secrets.token_hex(4)
    conn = _admin(stack)
    try:
        with conn.cursor() as c:
            c.execute("CREATE DATABASE %s OWNER wa" % name)
        yield name
    finally:
        with conn.cursor() as c:
            c.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        conn.close()


def wactl(stack, name, *args, schema_dir=None, check=True):
    """wactl with the stack's settings, on database `name`."""
    env = dict(os.environ)
    env.update(stack.env)
    env["WA_DATABASE_URL"] = dsn(stack, name)
    if schema_dir is not None:
        env["WA_SCHEMA_DIR"] = str(schema_dir)
    p = subprocess.run([stack.wactl_path, *args], env=env,
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("wactl %s failed: %s" % (args, p.stderr))
    return p


def query(stack, name, sql, *params, user="wa"):
    """Rows of a query on database `name`, as dicts (autocommit); user
    "postgres" is the cluster's superuser."""
    conn = psycopg2.connect(dsn(stack, name, user))
    try:
        conn.autocommit = True
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
            c.execute(sql, params)
            return c.fetchall() if c.description else []
    finally:
        conn.close()
