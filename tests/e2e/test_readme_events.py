"""README.md documents the events clients receive: in tables with an event
and a data column, inline as "emits `name` `{fields}`", and in the frame
example of "Real-time events". Every event name and data field it
documents must be one the code emits: this test triggers each kind of
event through the real paths (webhooks, the API, /poll, Meta's statuses)
and compares what the events table got with what README.md says."""
import json
import os
import re
import secrets
import time

from conftest import ROOT, new_wamid, wait_for

README = os.path.join(ROOT, "README.md")


# --- what README.md documents ---------------------------------------------------

def _cells(line):
    """A table row's cells; "\\|" inside a cell is not a separator."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _balanced(text, start):
    """text[start] opens a bracket: the text up to its closing one."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "{[(":
            depth += 1
        elif text[i] in "}])":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise ValueError("unbalanced: %r" % text[start:])


def fields(doc):
    """Top-level field names of a documented data shape, e.g.
    "{message_id, emoji (null: removed), from: "+<phone>", error?}" or
    "`poll_id, phone, options [{id,title}]` (remark), `deadline`"."""
    text = doc.replace("`", "").replace("\\|", "|").strip()
    if text.startswith("{"):
        text = _balanced(text, 0)
    parts, cur, depth = [], "", 0
    for ch in text:
        depth += (ch in "{[(") - (ch in "}])")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    names = []
    for p in parts:
        # Parenthesised remarks are prose, not fields.
        p = re.sub(r"\([^()]*\)", "", p).strip()
        m = re.match(r'"?([a-z_]+)"?\??', p)
        if m:
            names.append(m.group(1))
    return names


def documented():
    """[(event, [fields] or None when documented elsewhere, where)]."""
    with open(README) as f:
        lines = f.read().split("\n")
    docs = []
    i = 0
    while i < len(lines):
        head = [c.lower() for c in _cells(lines[i])] if \
            lines[i].startswith("|") else []
        if "event" in head and "data" in head:
            ev, da = head.index("event"), head.index("data")
            i += 2                              # the |---| line
            while i < len(lines) and lines[i].startswith("|"):
                row = _cells(lines[i])
                data = row[da]
                shape = None if data.lower().startswith("see ") else \
                    fields(data)
                for name in re.findall(r"`([a-z_]+)`", row[ev]):
                    docs.append((name, shape, "README.md:%d" % (i + 1)))
                i += 1
            continue
        i += 1
    text = " ".join(lines)
    for m in re.finditer(r"(?:emits|an?) `([a-z_]+)`(?: event)? "
                         r"`(\{[^`]*\})`", text):
        docs.append((m.group(1), fields(m.group(2)), "README.md (text)"))
    frames = text[text.index("### Frames"):]
    block = re.search(r"```json (.*?) ```", frames).group(1)
    frame = json.loads(block)
    docs.append((frame["event"], sorted(frame["data"]),
                 "README.md (Frames example)"))
    return docs


def test_the_readme_parser_reads_the_shapes_readme_uses():
    assert fields('`{message_id, status, timestamp: "<unix>", error?}` — '
                  'only when `status` changed (a, b)') == \
        ["message_id", "status", "timestamp", "error"]
    assert fields('`{message_id, source: "interactive"\\|"template", '
                  'button_id (id or template payload), title}`') == \
        ["message_id", "source", "button_id", "title"]
    assert fields("`poll_id, phone, options [{id,title}], message_id` (the "
                  "question's wamid), `reason` (`a`, `b`: c), `deadline`") == \
        ["poll_id", "phone", "options", "message_id", "reason", "deadline"]
    assert fields('{"phone": "+91..."}') == ["phone"]
    names = {name for name, _, _ in documented()}
    # The tables, the text and the frame example were all found.
    assert {"message_incoming", "message_status", "poll_started",
            "poll_ended", "message_outgoing", "conversation_read",
            "conversation_deleted"} <= names, names


# --- what the code emits -------------------------------------------------------

def _phone():
    return "1652" + "".join(secrets.choice("0123456789") for _ in range(8))


def _message(frm, mtype, payload=None, **extra):
    m = {"from": frm, "id": new_wamid(), "timestamp": str(int(time.time())),
         "type": mtype}
    if payload is not None:
        m[mtype] = payload
    m.update(extra)
    return m


def _deliver(tenant, **value):
    if "messages" in value:
        value.setdefault("contacts", [
            {"profile": {"name": "Readme Reader"}, "wa_id": w}
            for w in dict.fromkeys(m["from"] for m in value["messages"])])
    r = tenant.stack.post_webhook(tenant.webhook(tenant.webhook_value(
        **value)))
    assert r.status_code == 200, r.text


def _events(tenant):
    got = {}
    for r in tenant.stack.query("SELECT name, data FROM events WHERE"
                                " tenant_id = %s ORDER BY id", tenant.id):
        got.setdefault(r["name"], []).append(r["data"])
    return got


def _emit_every_kind(tenant):
    """Makes the code emit each kind of event for tenant; returns the names
    it waited for (those that come after the reply)."""
    frm, other = _phone(), _phone()
    hello = _message(frm, "text", {"body": "hello"})
    note = _message(frm, "text", {"body": "See you at 5"})
    _deliver(tenant, messages=[
        hello, note,
        _message(frm, "interactive", {"type": "button_reply", "button_reply":
                 {"id": "yes", "title": "Yes"}}, context={"id": new_wamid()}),
        _message(frm, "button", {"payload": "go", "text": "Go"},
                 context={"from": tenant.display_phone, "id": new_wamid()}),
        _message(frm, "interactive", {"type": "list_reply", "list_reply":
                 {"id": "r1", "title": "Large", "description": "XL"}},
                 context={"id": new_wamid()}),
        _message(frm, "reaction", {"message_id": hello["id"],
                                   "emoji": "\U0001F600"})])
    _deliver(tenant, messages=[
        _message(frm, "edit", {"original_message_id": note["id"], "message":
                 {"type": "text", "text": {"body": "See you at 6"}}}),
        _message(frm, "revoke", {"original_message_id": hello["id"]})])

    # Sends: message_outgoing, an outgoing reaction, then Meta's statuses.
    r = tenant.api("POST", "/api/v1/send/text", json={"to": frm, "text": "x"})
    assert r.status_code == 200, r.text
    r = tenant.api("POST", "/api/v1/send/reaction", json={
        "to": frm, "emoji": "\U0001F44D", "message_id": note["id"]})
    assert r.status_code == 200, r.text
    failed = new_wamid()
    cid = tenant.stack.query("SELECT id FROM contacts WHERE tenant_id = %s"
                             " AND wa_id = %s", tenant.id, frm)[0]["id"]
    tenant.stack.query("INSERT INTO messages (tenant_id, contact_id, wamid,"
                       " direction, type, text, status) VALUES (%s, %s, %s,"
                       " 'out', 'text', 'hi', 'accepted')", tenant.id, cid,
                       failed)
    _deliver(tenant, statuses=[{
        "id": failed, "status": "failed", "timestamp": str(int(time.time())),
        "recipient_id": frm, "errors": [{"code": 131049, "title": "t",
                                         "message": "m"}]}])

    # Conversations: read one, delete another.
    r = tenant.api("POST", "/api/v1/messages/%s/read" % note["id"])
    assert r.status_code == 204, r.text
    _deliver(tenant, messages=[_message(other, "text", {"body": "bye"})])
    r = tenant.api("DELETE", "/api/v1/conversations/%s" % other)
    assert r.status_code == 204, r.text

    # A broadcast of one: broadcast_done (and, for one recipient, no
    # progress before it), then one of two: broadcast_progress.
    for n in (1, 2):
        r = tenant.api("POST", "/api/v1/broadcasts", json={
            "name": "hello_world", "language": "en_US",
            "recipients": [{"to": _phone()} for _ in range(n)]})
        assert r.status_code == 201, r.text
    assert wait_for(lambda: len(_events(tenant).get("broadcast_done", []))
                    == 2, timeout=10)

    # /poll, answered with its first button.
    poller = _phone()
    _deliver(tenant, messages=[_message(poller, "text", {"body": "/poll"})])
    started = wait_for(lambda: _events(tenant).get("poll_started"), timeout=8)
    assert started, "no poll_started"
    opt = started[0]["options"][0]
    _deliver(tenant, messages=[_message(
        poller, "interactive", {"type": "button_reply", "button_reply": {
            "id": opt["id"], "title": opt["title"]}},
        context={"id": started[0]["message_id"]})])


def test_every_event_and_field_readme_documents_is_emitted(tenant):
    tenant.stack.query(
        "UPDATE tenants SET settings = settings || '{\"poll\": true}'"
        " WHERE id = %s", tenant.id)
    _emit_every_kind(tenant)
    docs = documented()
    names = {name for name, _, _ in docs}
    # Meta's statuses for the text sent come later, from the simulator.
    got = wait_for(lambda: (lambda e: e if names <= set(e) and any(
        d["status"] == "read" for d in e.get("message_status", [])) else
        None)(_events(tenant)), timeout=10) or _events(tenant)
    problems = []
    for name, shape, where in docs:
        if name not in got:
            problems.append("%s: event %s is never emitted" % (where, name))
            continue
        emitted = set().union(*(d.keys() for d in got[name]
                                if isinstance(d, dict)))
        for field in shape or []:
            if field not in emitted:
                problems.append("%s: %s has no field %s (it has: %s)" % (
                    where, name, field, ", ".join(sorted(emitted))))
    assert problems == [], "\n".join(problems)

