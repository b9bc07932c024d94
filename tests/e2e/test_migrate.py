"""wactl migrate: migrations once each; the functions of schema/functions/
redefined whole on every run, so a function is never patched in place."""
import os

from conftest import ROOT


def _definition(stack, name):
    return stack.query("SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p"
                       " WHERE p.proname = %s", name)[0]["d"]


def test_migrate_again_applies_no_migration_and_every_function_file(stack):
    files = [f for f in os.listdir(os.path.join(ROOT, "schema", "functions"))
             if f.endswith(".sql")]
    out = stack.wactl("migrate").stdout
    assert [l for l in out.splitlines() if l.startswith("applied ")] == [], out
    assert "functions: %d file(s) applied" % len(files) in out, out


def test_a_function_changed_in_the_database_is_redefined_by_migrate(stack):
    before = _definition(stack, "wa_ws_sessions_ended")
    stack.query("CREATE OR REPLACE FUNCTION wa_ws_sessions_ended(p_limit int)"
                " RETURNS TABLE (jti uuid, tenant_id uuid) LANGUAGE sql"
                " STABLE AS $$ SELECT NULL::uuid, NULL::uuid LIMIT 0 $$")
    assert _definition(stack, "wa_ws_sessions_ended") != before
    stack.wactl("migrate")
    assert _definition(stack, "wa_ws_sessions_ended") == before
