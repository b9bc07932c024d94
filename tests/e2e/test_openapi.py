"""The OpenAPI document (nginx/www/openapi.json): valid OpenAPI 3.1, served
at GET /api/v1/openapi.json, in step with the route table of fcgi/route.c,
and strict enough that an answer it does not describe fails. conftest.py
checks every answer of every other test against it."""
import json
import os
import re

import pytest
import requests

import openapi_check
from conftest import CONTRACT, ROOT

ROUTE_C = os.path.join(ROOT, "fcgi", "route.c")


def doc():
    return openapi_check.load()


def test_the_document_is_valid_openapi_3_1():
    assert openapi_check.document_problems(doc()) == []


@pytest.mark.parametrize("breakage, expect", [
    (lambda d: d.update(openapi="3.0.3"), "openapi"),
    (lambda d: d["paths"]["/api/v1/me"]["get"].pop("responses"),
     "'responses' is a required property"),
    (lambda d: d["paths"]["/api/v1/me"]["get"]["responses"].update(
        {"2000": {"description": "x"}}), "2000"),
    (lambda d: d["paths"]["/api/v1/media/{id}"].pop("parameters"),
     "path parameters"),
    (lambda d: d["components"]["schemas"]["Error"].update(type="thing"),
     "not a JSON Schema"),
    (lambda d: d["components"]["responses"]["NotFound"]["content"]
     ["application/json"]["schema"].update({"$ref": "#/components/schemas/Nope"}),
     "unresolvable $ref"),
    (lambda d: d["components"]["securitySchemes"]["tenantId"].pop("in"),
     "'in' is a required property"),
    (lambda d: d["paths"]["/api/v1/me"]["get"].update(security=[{"nope": []}]),
     "unknown security scheme"),
])
def test_the_validity_check_finds_what_breaks_openapi(breakage, expect):
    d = doc()
    breakage(d)
    problems = openapi_check.document_problems(d)
    assert any(expect in p for p in problems), problems


def test_the_document_is_served_without_credentials(stack):
    r = requests.get(stack.url("/api/v1/openapi.json"), timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == doc()
    assert r.json()["openapi"].startswith("3.1.")


# --- the route table -----------------------------------------------------------

def route_table():
    """(method, path template, flag names) of each row of route.c's table,
    its #define'd flag groups (SEND, ...) expanded."""
    with open(ROUTE_C) as f:
        text = f.read()
    defines = {name: re.findall(r"\w+", value) for name, value in re.findall(
        r"^#define\s+(\w+)\s+\(([^)]*)\)", text, re.M)}
    table = text[text.index("routes[] = {"):]
    table = table[:table.index("\n};")]
    rows = []
    for method, pattern, _handler, flags in re.findall(
            r"\{\s*REQ_([A-Z]+)\s*,\s*\"([^\"]+)\"\s*,\s*(\w+)\s*,\s*([^}]*?)\s*\}",
            table):
        names = set()
        for word in re.findall(r"\w+", flags):
            names.update(defines.get(word, []) + [word])
        rows.append((method.lower(), re.sub(r":(\w+)", r"{\1}", pattern),
                     names))
    assert len(rows) >= 30, "route.c's table did not parse: %d rows" % len(rows)
    return rows


# route.c's flags naming the API-key scopes a route takes (any one of).
SCOPES = (("SCOPE_READ", "read"), ("SCOPE_SEND", "send"))
MEMBER = [{"bearerJWT": [], "tenantId": []},
          {"sessionCookie": [], "tenantId": []}]


def test_every_route_of_route_c_is_in_the_document():
    d, missing, wrong = doc(), [], []
    rows = route_table()
    # Until the table names scopes, which key a route takes is not checked.
    keyed = any(flag == f for _, _, flags in rows for f in flags
                for flag, _ in SCOPES)
    for method, path, flags in rows:
        if path.startswith("/_internal/"):
            continue
        op = d["paths"].get(path, {}).get(method)
        if op is None:
            missing.append("%s %s" % (method.upper(), path))
            continue
        where = "%s %s" % (method.upper(), path)
        sec = op.get("security")
        if "AUTH_TENANT" in flags:
            keys = [{"apiKey": [scope]} for flag, scope in SCOPES
                    if flag in flags]
            if sec[:2] != MEMBER or (keyed and sec[2:] != keys) or any(
                    list(req) != ["apiKey"] for req in sec[2:]):
                wrong.append("%s: security %s, route.c says a member with "
                             "X-Tenant-Id, or a key with %s" % (
                                 where, sec, keys if keyed else "a scope"))
        elif "AUTH_USER" in flags:
            if sec != [{"bearerJWT": []}, {"sessionCookie": []}]:
                wrong.append("%s: security %s, route.c says a user's token"
                             % (where, sec))
        elif any(req.keys() & {"bearerJWT", "sessionCookie", "apiKey"}
                 for req in sec or []):
            wrong.append("%s: security %s, route.c says none" % (where, sec))
        if "BODY_JSON" in flags:
            body = op.get("requestBody", {}).get("content", {})
            if "application/json" not in body or "415" not in op["responses"]:
                wrong.append("%s: route.c reads a JSON body: requestBody "
                             "application/json and 415 expected" % where)
    assert missing == [], "routes missing from the document"
    assert wrong == []


def test_every_operation_of_the_document_has_a_route():
    routes = {(m, p) for m, p, _ in route_table()}
    extra = []
    for path, item in doc()["paths"].items():
        for method in openapi_check.METHODS:
            op = item.get(method)
            if op is not None and op.get("x-served-by") != "nginx" and \
                    (method, path) not in routes:
                extra.append("%s %s" % (method.upper(), path))
    assert extra == []


# --- the checker conftest.py runs on every answer ---------------------------------

def test_an_undocumented_route_method_or_status_fails(stack, tenant):
    r = requests.get(stack.url("/api/v1/me"), headers=tenant.headers,
                     timeout=10)
    assert r.status_code == 200
    args = ("GET", r.url, 200, r.headers["Content-Type"], r.content)
    CONTRACT.check_response(*args)

    d = doc()
    del d["paths"]["/api/v1/me"]
    with pytest.raises(openapi_check.ContractError, match="no route"):
        openapi_check.Contract(d).check_response(*args)

    d = doc()
    d["paths"]["/api/v1/me"]["post"] = d["paths"]["/api/v1/me"].pop("get")
    with pytest.raises(openapi_check.ContractError, match="no GET"):
        openapi_check.Contract(d).check_response(*args)

    with pytest.raises(openapi_check.ContractError, match="status 201"):
        CONTRACT.check_response("GET", r.url, 201, "application/json",
                                r.content)


def test_an_answer_of_another_shape_fails(stack, tenant):
    r = requests.get(stack.url("/api/v1/me"), headers=tenant.headers,
                     timeout=10)
    body = r.json()
    for broken in (dict(body, extra=1), {k: v for k, v in body.items()
                                         if k != "user"},
                   dict(body, tenants=[{"id": tenant.id}])):
        with pytest.raises(openapi_check.ContractError, match="does not match"):
            CONTRACT.check_response("GET", r.url, 200, "application/json",
                                    json.dumps(broken).encode())
    with pytest.raises(openapi_check.ContractError, match="Content-Type"):
        CONTRACT.check_response("GET", r.url, 200, "text/html", b"<p>")
    with pytest.raises(openapi_check.ContractError, match="Error envelope"):
        CONTRACT.check_response("GET", "/api/v1/nope", 404, "text/html",
                                b"<h1>404</h1>")
    with pytest.raises(openapi_check.ContractError, match="no body"):
        CONTRACT.check_response("DELETE", "/api/v1/media/x", 204,
                                "application/json", b"{}")


def test_frames_are_checked_against_the_frame_schema():
    CONTRACT.check_frame('{"id": 1, "event": "x", "data": {}}')
    CONTRACT.check_frame('{"id": 2, "event": "x", "data": null, '
                         '"truncated": true}')
    for bad in ('{"id": 0, "event": "x", "data": {}}',
                '{"id": 1, "data": {}}',
                '{"id": 1, "event": "x", "data": {}, "more": 1}'):
        with pytest.raises(openapi_check.ContractError):
            CONTRACT.check_frame(bad)


def test_the_data_of_each_known_event_is_held_to_its_schema():
    d = doc()
    events = [n[len("EventData."):] for n in d["components"]["schemas"]
              if n.startswith("EventData.")]
    assert len(events) >= 13
    for ev in events:
        with pytest.raises(openapi_check.ContractError, match="at data"):
            CONTRACT.check_frame(json.dumps({"id": 1, "event": ev,
                                             "data": {"x": 1}}))
        # Truncated frames carry no data, whatever the event.
        CONTRACT.check_frame(json.dumps({"id": 1, "event": ev, "data": None,
                                         "truncated": True}))
    # An event the document does not know: any data (clients ignore it).
    CONTRACT.check_frame('{"id": 1, "event": "not_an_event", "data": {"x": 1}}')
