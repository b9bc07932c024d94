"""wactl migrate: migrations once each; the functions of schema/functions/
redefined whole on every run, so a function is never patched in place."""


def _definition(stack, name):
    return stack.query("SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p"
                       " WHERE p.proname = %s", name)[0]["d"]


def test_a_function_changed_in_the_database_is_redefined_by_migrate(stack):
    before = _definition(stack, "wa_ws_sessions_ended")
    stack.query("CREATE OR REPLACE FUNCTION wa_ws_sessions_ended(p_limit int)"
                " RETURNS TABLE (jti uuid, tenant_id uuid) LANGUAGE sql"
                " STABLE AS $$ SELECT NULL::uuid, NULL::uuid LIMIT 0 $$")
    assert _definition(stack, "wa_ws_sessions_ended") != before
    stack.wactl("migrate")
    assert _definition(stack, "wa_ws_sessions_ended") == before
