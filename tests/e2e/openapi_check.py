"""Checks HTTP answers and WebSocket frames against the OpenAPI document
(nginx/www/openapi.json), and the document against OpenAPI 3.1's rules.

conftest.py installs check_response() under every `requests` call and
raw_request() aimed at the stack's public port, so every answer an e2e test
gets must be one the document describes: a route, method or status missing
from it fails the test that met it. Bodies are checked with Debian's
python3-jsonschema (draft 2020-12, the dialect of OpenAPI 3.1).
"""
import json
import os
import re
from urllib.parse import urlsplit

import jsonschema
from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC_PATH = os.path.join(ROOT, "nginx", "www", "openapi.json")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# What a path no route of the document matches may get: nginx's own errors
# (404 for no route, 400/414 for what it cannot parse, 403 for a /ws path
# that does not spell its channel, its limits), always as the Error envelope.
UNROUTED_STATUSES = {400, 403, 404, 405, 408, 413, 414, 429, 500, 502, 503,
                     504}
# Paths of the API surface; anything else on the public port is the inbox's
# static files (nginx/www), not API.
API_PREFIXES = ("/api/", "/ws/", "/webhook", "/healthz", "/_internal/",
                "/_error/")


# (METHOD, path template, status) of every answer checked in this run.
SEEN = set()


class ContractError(AssertionError):
    pass


def load(path=DOC_PATH):
    with open(path) as f:
        return json.load(f)


def _template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    rx = "".join("[^/]+" if p.startswith("{") else re.escape(p)
                 for p in parts)
    return re.compile("^" + rx + "$")


def _is_json(ctype):
    base = (ctype or "").split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _deepest(error):
    """Of an anyOf/oneOf error, the branch's error deepest in the value:
    "'phone' is a required property at data", not "is not valid under any
    of the given schemas"."""
    while error.context:
        error = max(error.context, key=lambda e: (len(e.absolute_path),
                                                  e.validator != "type"))
    return error


class Contract:
    """The document, ready to check answers against."""

    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
        # Literal paths first, so /a/b wins over /a/{x}.
        self.paths = sorted(
            ((_template_regex(t), t) for t in doc["paths"]),
            key=lambda p: ("{" in p[1], -len(p[1])))
        self._validators = {}

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            v = Draft202012Validator(schema, resolver=self.resolver)
            self._validators[key] = v
        return v

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            obj = self.resolver.resolve(obj["$ref"])[1]
        return obj

    def template_of(self, path):
        for rx, t in self.paths:
            if rx.match(path):
                return t
        return None

    def validate(self, schema, value, what):
        errors = list(self.validator(schema).iter_errors(value))
        if errors:
            e = _deepest(jsonschema.exceptions.best_match(errors))
            raise ContractError("%s does not match the document: %s at %s "
                                "(%d error(s))\n%s" % (
                                    what, e.message,
                                    "/".join(map(str, e.absolute_path)) or
                                    "the top", len(errors),
                                    json.dumps(value)[:2000]))

    def check_error(self, status, ctype, body, what):
        if not body:
            return
        if not _is_json(ctype):
            raise ContractError("%s: %d answered %s, not the JSON Error "
                                "envelope" % (what, status, ctype))
        self.validate({"$ref": "#/components/schemas/Error"},
                      json.loads(body), what)

    def check_response(self, method, url, status, ctype, body):
        """Raises ContractError unless the document describes this answer."""
        path = urlsplit(url).path or "/"
        method = method.lower()
        what = "%s %s -> %d" % (method.upper(), path, status)
        template = self.template_of(path)
        if template is None:
            if not path.startswith(API_PREFIXES) and not _is_json(ctype):
                return		# the inbox's static files
            if status not in UNROUTED_STATUSES:
                raise ContractError("%s: no route of the document matches "
                                    "this path" % what)
            self.check_error(status, ctype, body, what)
            return
        item = self.doc["paths"][template]
        op = item.get(method)
        if op is None and method == "head":
            op, body = item.get("get"), b""
        if op is None:
            if status not in (405, 404, 400, 413, 414, 429):
                raise ContractError("%s: the document has no %s on %s" % (
                    what, method.upper(), template))
            self.check_error(status, ctype, body, what)
            return
        SEEN.add((method.upper(), template, status))
        responses = op["responses"]
        r = responses.get(str(status)) or responses.get("%dXX" % (status // 100))
        if r is None:
            raise ContractError("%s: status %d is not among the document's "
                                "for %s %s (%s)" % (
                                    what, status, method.upper(), template,
                                    ", ".join(sorted(responses))))
        r = self.deref(r)
        content = r.get("content", {})
        if not body:
            return
        if not content:
            raise ContractError("%s: the document says no body, got %d "
                                "bytes of %s" % (what, len(body), ctype))
        base = (ctype or "").split(";")[0].strip().lower()
        media = content.get(base) or content.get(base.split("/")[0] + "/*") \
            or content.get("*/*")
        if media is None:
            raise ContractError("%s: Content-Type %s is not among the "
                                "document's (%s)" % (what, ctype,
                                                     ", ".join(content)))
        if _is_json(base) and "schema" in media:
            try:
                value = json.loads(body)
            except ValueError as e:
                raise ContractError("%s: not JSON: %s" % (what, e))
            self.validate(media["schema"], value, what)

    def check_frame(self, text):
        """A WebSocket text message: one Frame."""
        SEEN.add(("GET", "/ws/{tenant_id}", 101))
        self.validate({"$ref": "#/components/schemas/Frame"},
                      json.loads(text), "WebSocket frame")


def summary(terminalreporter):
    """Which of the document's operations no test saw succeed: their
    answers' schemas went unchecked in this run."""
    if not SEEN:
        return
    doc = load()
    ops = [(m.upper(), t) for t, item in doc["paths"].items()
           for m in METHODS if m in item]
    ok = {(m, t) for m, t, st in SEEN if 200 <= st < 300 or st == 101}
    unseen = ["%s %s" % op for op in ops if op not in ok]
    terminalreporter.write_line(
        "openapi: %d kind(s) of answer (method, route, status) checked against "
        "the document's %d operations; %d operation(s) never seen succeed%s"
        % (
            len(SEEN), len(ops), len(unseen),
            (": " + ", ".join(unseen)) if unseen else ""))


# --- the document itself, as OpenAPI 3.1 -------------------------------------

def _walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))


# The structure OpenAPI 3.1 requires of the objects this document uses
# (spec sections 4.8.x); Schema Objects are checked by the draft 2020-12
# meta-schema itself, below.
_EXT = {"^x-": {}}
_REF = {"type": "object", "required": ["$ref"],
        "properties": {"$ref": {"type": "string"}, "summary": {"type": "string"},
                       "description": {"type": "string"}},
        "additionalProperties": False}
_STR = {"type": "string"}


def _closed(props, required=()):
    return {"type": "object", "properties": props, "required": list(required),
            "patternProperties": _EXT, "additionalProperties": False}


def _or_ref(name):
    return {"if": {"required": ["$ref"]}, "then": _REF,
            "else": {"$ref": "#/$defs/" + name}}


OAS31_STRUCTURE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "schema": {"type": ["object", "boolean"]},
        "header": _closed({"description": _STR, "required": {"type": "boolean"},
                           "schema": {"$ref": "#/$defs/schema"}}),
        "media": _closed({"schema": {"$ref": "#/$defs/schema"},
                          "example": {}, "examples": {"type": "object"},
                          "encoding": {"type": "object"}}),
        "content": {"type": "object",
                    "propertyNames": {"pattern": r"^[a-z*]+/[-+.a-z0-9*]+$"},
                    "additionalProperties": {"$ref": "#/$defs/media"}},
        "response": _closed({
            "description": _STR,
            "headers": {"type": "object",
                        "additionalProperties": _or_ref("header")},
            "content": {"$ref": "#/$defs/content"},
            "links": {"type": "object"}}, ["description"]),
        "parameter": {
            **_closed({"name": _STR,
                       "in": {"enum": ["query", "header", "path", "cookie"]},
                       "description": _STR, "required": {"type": "boolean"},
                       "deprecated": {"type": "boolean"},
                       "allowEmptyValue": {"type": "boolean"},
                       "style": _STR, "explode": {"type": "boolean"},
                       "schema": {"$ref": "#/$defs/schema"},
                       "content": {"$ref": "#/$defs/content"},
                       "example": {}}, ["name", "in"]),
            "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
            "if": {"properties": {"in": {"const": "path"}}},
            "then": {"properties": {"required": {"const": True}},
                     "required": ["required"]}},
        "operation": _closed({
            "tags": {"type": "array", "items": _STR}, "summary": _STR,
            "description": _STR, "operationId": _STR,
            "parameters": {"type": "array", "items": _or_ref("parameter")},
            "requestBody": _or_ref("requestBody"),
            "responses": {"type": "object", "minProperties": 1,
                          "propertyNames": {"pattern":
                                            "^([1-5](XX|[0-9]{2})|default)$"},
                          "additionalProperties": _or_ref("response")},
            "security": {"$ref": "#/$defs/security"},
            "deprecated": {"type": "boolean"}}, ["responses"]),
        "requestBody": _closed({"description": _STR,
                                "content": {"$ref": "#/$defs/content"},
                                "required": {"type": "boolean"}},
                               ["content"]),
        "security": {"type": "array", "items": {
            "type": "object", "additionalProperties":
            {"type": "array", "items": _STR}}},
        "pathItem": _closed({
            "summary": _STR, "description": _STR,
            "parameters": {"type": "array", "items": _or_ref("parameter")},
            **{m: {"$ref": "#/$defs/operation"} for m in METHODS}}),
        "securityScheme": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"enum": ["apiKey", "http", "mutualTLS",
                                             "oauth2", "openIdConnect"]}},
            "allOf": [
                {"if": {"properties": {"type": {"const": "apiKey"}}},
                 "then": {"required": ["name", "in"], "properties": {
                     "in": {"enum": ["query", "header", "cookie"]}}}},
                {"if": {"properties": {"type": {"const": "http"}}},
                 "then": {"required": ["scheme"]}}]},
    },
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.1\.\d+(-.+)?$"},
        "info": _closed({"title": _STR, "summary": _STR, "description": _STR,
                         "termsOfService": _STR, "version": _STR,
                         "contact": {"type": "object"},
                         "license": {"type": "object"}},
                        ["title", "version"]),
        "jsonSchemaDialect": _STR,
        "servers": {"type": "array", "items": _closed(
            {"url": _STR, "description": _STR,
             "variables": {"type": "object"}}, ["url"])},
        "paths": {"type": "object",
                  "patternProperties": {"^/": {"$ref": "#/$defs/pathItem"},
                                        "^x-": {}},
                  "additionalProperties": False},
        "components": _closed({
            "schemas": {"type": "object",
                        "additionalProperties": {"$ref": "#/$defs/schema"}},
            "responses": {"type": "object",
                          "additionalProperties": _or_ref("response")},
            "parameters": {"type": "object",
                           "additionalProperties": _or_ref("parameter")},
            "headers": {"type": "object",
                        "additionalProperties": _or_ref("header")},
            "requestBodies": {"type": "object",
                              "additionalProperties": _or_ref("requestBody")},
            "securitySchemes": {"type": "object", "additionalProperties":
                                {"$ref": "#/$defs/securityScheme"}}}),
        "security": {"$ref": "#/$defs/security"},
        "tags": {"type": "array", "items": _closed(
            {"name": _STR, "description": _STR}, ["name"])},
    },
    "patternProperties": _EXT,
    "additionalProperties": False,
}


def document_problems(doc):
    """Every way doc breaks OpenAPI 3.1 (structure, Schema Objects, $refs,
    path templating, security requirements); [] when it is valid."""
    problems = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                for e in Draft202012Validator(OAS31_STRUCTURE).iter_errors(doc)]
    resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
    for path, node in _walk(doc):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                resolver.resolve(node["$ref"])
            except jsonschema.RefResolutionError as e:
                problems.append("%s: unresolvable $ref %s (%s)" % (
                    "/".join(map(str, path)), node["$ref"], e))
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for e in meta.iter_errors(schema):
            problems.append("components/schemas/%s: not a JSON Schema "
                            "(2020-12): %s" % (name, e.message))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    op_ids = set()
    for template, item in doc.get("paths", {}).items():
        declared = set(re.findall(r"\{([^}/]+)\}", template))
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = "%s %s" % (method.upper(), template)
            if op.get("operationId") in op_ids:
                problems.append("%s: operationId %s is not unique" % (
                    where, op["operationId"]))
            op_ids.add(op.get("operationId"))
            params = [resolver.resolve(p["$ref"])[1] if "$ref" in p else p
                      for p in item.get("parameters", []) +
                      op.get("parameters", [])]
            in_path = {p["name"] for p in params if p.get("in") == "path"}
            if in_path != declared:
                problems.append("%s: path parameters %s, template has %s" % (
                    where, sorted(in_path), sorted(declared)))
            for req in op.get("security", doc.get("security", [])):
                for name, scopes in req.items():
                    if name not in schemes:
                        problems.append("%s: unknown security scheme %s" % (
                            where, name))
    return problems
