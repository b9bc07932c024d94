"""wactl migrate: migrations once each, recorded with their checksum, and
refused when an applied one changed; the functions listed in
schema/functions/manifest redefined whole on every run, so a function is
never patched in place; then the tables that hold rows analyzed. Most
tests run on a database of their own (scratch_db), migrated from nothing
as a new install's is."""
import hashlib
import os
import shutil

import pytest

from scratch_db import query, scratch_db, wactl


def _definition(stack, name):
    return stack.query("SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p"
                       " WHERE p.proname = %s", name)[0]["d"]


def _migrations(stack):
    d = stack.env["WA_SCHEMA_DIR"]
    return sorted(f for f in os.listdir(d) if f.endswith(".sql"))


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def fresh(stack):
    """A new database, migrated."""
    with scratch_db(stack) as name:
        wactl(stack, name, "migrate")
        yield name


@pytest.fixture
def schema_copy(stack, tmp_path):
    """A copy of schema/ to change: as an admin's tree after an edit."""
    d = tmp_path / "schema"
    shutil.copytree(stack.env["WA_SCHEMA_DIR"], d)
    return d


def test_a_function_changed_in_the_database_is_redefined_by_migrate(stack):
    before = _definition(stack, "wa_ws_sessions_ended")
    stack.query("CREATE OR REPLACE FUNCTION wa_ws_sessions_ended(p_limit int)"
                " RETURNS TABLE (jti uuid, tenant_id uuid) LANGUAGE sql"
                " STABLE AS $$ SELECT NULL::uuid, NULL::uuid LIMIT 0 $$")
    assert _definition(stack, "wa_ws_sessions_ended") != before
    stack.wactl("migrate")
    assert _definition(stack, "wa_ws_sessions_ended") == before


def test_each_migration_is_recorded_once_with_the_sha256_of_its_file(
        stack, fresh):
    rows = query(stack, fresh, "SELECT version, checksum FROM"
                 " schema_migrations ORDER BY version")
    d = stack.env["WA_SCHEMA_DIR"]
    assert [(r["version"], r["checksum"]) for r in rows] == \
        [(f, _sha256(os.path.join(d, f))) for f in _migrations(stack)]
    again = wactl(stack, fresh, "migrate")
    assert again.stdout == ""   # nothing applied twice


def test_a_changed_migration_is_refused_by_name_and_nothing_applied(
        stack, fresh, schema_copy):
    with open(schema_copy / "005_media.sql", "a") as f:
        f.write("-- edited after it was applied\n")
    (schema_copy / "999_later.sql").write_text("CREATE TABLE later (x int);\n")
    p = wactl(stack, fresh, "migrate", schema_dir=schema_copy, check=False)
    assert p.returncode != 0
    assert "005_media.sql changed after it was applied" in p.stderr
    assert "new file" in p.stderr
    assert query(stack, fresh, "SELECT to_regclass('later') AS t")[0]["t"] \
        is None
    assert not query(stack, fresh, "SELECT 1 FROM schema_migrations"
                     " WHERE version = '999_later.sql'")

    # The file as it was: the new migration goes in.
    shutil.copy(os.path.join(stack.env["WA_SCHEMA_DIR"], "005_media.sql"),
                schema_copy / "005_media.sql")
    p = wactl(stack, fresh, "migrate", schema_dir=schema_copy)
    assert p.stdout == "applied 999_later.sql\n"


def test_rows_from_before_checksums_get_the_files_checksum(
        stack, fresh, schema_copy):
    """A database migrated before checksums were recorded (or before
    issue 13 moved the functions out of 001-009): its rows have none."""
    query(stack, fresh, "UPDATE schema_migrations SET checksum = NULL")
    # ... and 007/009's wrapper, which functions/retired.sql drops.
    query(stack, fresh, "CREATE FUNCTION wa_webhook_ingest_core(p_body jsonb,"
          " p_replay boolean DEFAULT false) RETURNS jsonb LANGUAGE sql"
          " AS $$ SELECT '{}'::jsonb $$")
    wactl(stack, fresh, "migrate")
    d = stack.env["WA_SCHEMA_DIR"]
    rows = query(stack, fresh, "SELECT version, checksum FROM"
                 " schema_migrations ORDER BY version")
    assert [(r["version"], r["checksum"]) for r in rows] == \
        [(f, _sha256(os.path.join(d, f))) for f in _migrations(stack)]
    assert not query(stack, fresh, "SELECT 1 FROM pg_proc"
                     " WHERE proname = 'wa_webhook_ingest_core'")
    # Recorded now: a later edit is refused.
    with open(schema_copy / "001_init.sql", "a") as f:
        f.write("\n")
    p = wactl(stack, fresh, "migrate", schema_dir=schema_copy, check=False)
    assert p.returncode != 0 and "001_init.sql changed" in p.stderr


def test_a_function_file_left_out_of_the_manifest_stops_migrate(
        stack, fresh, schema_copy):
    (schema_copy / "functions" / "forgotten.sql").write_text(
        "CREATE OR REPLACE FUNCTION wa_forgotten() RETURNS int"
        " LANGUAGE sql AS $$ SELECT 1 $$;\n")
    (schema_copy / "999_later.sql").write_text("CREATE TABLE later (x int);\n")
    p = wactl(stack, fresh, "migrate", schema_dir=schema_copy, check=False)
    assert p.returncode != 0
    assert "functions/forgotten.sql is not in" in p.stderr
    assert query(stack, fresh, "SELECT to_regclass('later') AS t")[0]["t"] \
        is None

    with open(schema_copy / "functions" / "manifest", "a") as f:
        f.write("forgotten.sql\n")
    wactl(stack, fresh, "migrate", schema_dir=schema_copy)
    assert query(stack, fresh, "SELECT wa_forgotten() AS n")[0]["n"] == 1


def test_functions_apply_in_one_transaction(stack, fresh, schema_copy):
    """A broken file leaves every function as it was, not half a set, and
    the error names the file."""
    with open(schema_copy / "functions" / "json.sql", "a") as f:
        f.write("\nCREATE OR REPLACE FUNCTION wa_iso(t timestamptz)"
                " RETURNS text LANGUAGE sql AS $$ SELECT 'changed' $$;\n")
    # (The last file: PostgreSQL logs the failed file whole, and the
    # stack's logs are checked for words like access_token.)
    with open(schema_copy / "functions" / "retired.sql", "a") as f:
        f.write("\nSELECT no_such_function();\n")
    p = wactl(stack, fresh, "migrate", schema_dir=schema_copy, check=False)
    assert p.returncode != 0
    assert "functions/retired.sql" in p.stderr
    assert "no_such_function" in p.stderr
    assert query(stack, fresh, "SELECT wa_iso('2025-01-02 03:04:05+00')"
                 " AS t")[0]["t"] == "2025-01-02T03:04:05.000000Z"


def test_migrate_analyzes_the_tables_that_hold_rows(stack, fresh):
    """Plans chosen after a migrate see what the tables hold; an empty
    table keeps no statistics, which the planner takes for one that will
    grow (an analyzed empty one would get sequential scans planned)."""
    def analyzed():
        return {r["relname"] for r in query(
            stack, fresh, "SELECT relname FROM pg_stat_user_tables"
            " WHERE last_analyze IS NOT NULL")}
    assert analyzed() == {"schema_migrations"}     # its only rows
    wactl(stack, fresh, "tenant", "add", "--name", "Analyzed",
          "--phone-number-id", "109000000000002", "--waba-id", "2",
          "--access-token", "EAAGx")
    wactl(stack, fresh, "migrate")
    assert analyzed() == {"tenants", "schema_migrations"}
