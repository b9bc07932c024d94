"""schema/functions/contacts.sql, called directly: a sender resolved to one
contact by phone (wa_id) or business-scoped user id (BSUID), created once,
and the profile names value.contacts[] brings."""
import json
import secrets

import pytest


@pytest.fixture
def tenant_id(stack):
    pnid = "3" + "".join(secrets.choice("0123456789") for _ in range(14))
    return stack.query("INSERT INTO tenants (name, phone_number_id, waba_id,"
                       " access_token) VALUES ('sql contacts', %s, '2', 'x')"
                       " RETURNING id", pnid)[0]["id"]


def resolve(stack, tenant_id, wa_id, user_id=None, name=None):
    return stack.query("SELECT wa_contact_resolve(%s, %s, %s, %s) AS id",
                       tenant_id, wa_id, user_id, name)[0]["id"]


def contacts(stack, tenant_id):
    return stack.query("SELECT id, wa_id, user_id, name FROM contacts"
                       " WHERE tenant_id = %s ORDER BY id", tenant_id)


def test_a_new_phone_makes_one_contact_and_finds_it_again(stack, tenant_id):
    a = resolve(stack, tenant_id, "16505550001", name="Ada")
    assert resolve(stack, tenant_id, "16505550001", name="Other") == a
    assert contacts(stack, tenant_id) == [
        {"id": a, "wa_id": "16505550001", "user_id": None, "name": "Ada"}]


def test_a_contact_known_by_bsuid_learns_its_phone(stack, tenant_id):
    a = resolve(stack, tenant_id, None, "US.u1")
    assert contacts(stack, tenant_id)[0]["wa_id"] is None
    assert resolve(stack, tenant_id, "16505550002", "US.u1") == a
    assert contacts(stack, tenant_id) == [
        {"id": a, "wa_id": "16505550002", "user_id": "US.u1", "name": None}]
    assert resolve(stack, tenant_id, "16505550002") == a
    assert resolve(stack, tenant_id, None, "US.u1") == a


def test_the_phone_wins_when_both_name_different_contacts(stack, tenant_id):
    by_phone = resolve(stack, tenant_id, "16505550003")
    by_uid = resolve(stack, tenant_id, None, "US.u2")
    assert resolve(stack, tenant_id, "16505550003", "US.u2") == by_phone
    assert by_phone != by_uid and len(contacts(stack, tenant_id)) == 2


def test_contacts_refresh_updates_names_and_bsuids_of_known_contacts_only(
        stack, tenant_id):
    a = resolve(stack, tenant_id, "16505550004", name="Old")
    b = resolve(stack, tenant_id, None, "US.u3", "Bee")
    cts = [{"wa_id": "16505550004", "user_id": "US.u4",
            "profile": {"name": "New"}},
           {"user_id": "US.u3", "profile": {"name": "Bea"}},
           {"wa_id": "16505559999", "profile": {"name": "Stranger"}},
           "not an object"]
    stack.query("SELECT wa_wh_contacts_refresh(%s, %s::jsonb)", tenant_id,
                json.dumps(cts))
    assert contacts(stack, tenant_id) == [
        {"id": a, "wa_id": "16505550004", "user_id": "US.u4", "name": "New"},
        {"id": b, "wa_id": None, "user_id": "US.u3", "name": "Bea"}]


def test_contacts_refresh_keeps_a_name_when_none_is_given(stack, tenant_id):
    a = resolve(stack, tenant_id, "16505550005", name="Kept")
    stack.query("SELECT wa_wh_contacts_refresh(%s, %s::jsonb)", tenant_id,
                json.dumps([{"wa_id": "16505550005"}]))
    assert contacts(stack, tenant_id)[0] == {
        "id": a, "wa_id": "16505550005", "user_id": None, "name": "Kept"}


def test_a_bsuid_already_taken_is_not_given_to_another_contact(
        stack, tenant_id):
    a = resolve(stack, tenant_id, None, "US.u5")
    b = resolve(stack, tenant_id, "16505550006")
    stack.query("SELECT wa_wh_contacts_refresh(%s, %s::jsonb)", tenant_id,
                json.dumps([{"wa_id": "16505550006", "user_id": "US.u5"}]))
    rows = {r["id"]: r for r in contacts(stack, tenant_id)}
    assert rows[a]["user_id"] == "US.u5" and rows[b]["user_id"] is None
