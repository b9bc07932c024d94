"""graphsim, the local Graph API simulator, answers like Meta's Cloud API.

Starts tests/graphsim/graphsim.py on a free port plus a small webhook
receiver, then drives both over HTTP. Run: /usr/bin/python3 -m pytest."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import select
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(os.path.dirname(HERE), "graphsim", "graphsim.py")
SECRET = "graphsim-test-secret"
PN_A, TOKEN_A, DISPLAY_A = "106540352242922", "TOKEN_A", "15550783881"
PN_B, TOKEN_B = "106540352242923", "TOKEN_B"
TO = "16505551234"
V = "/v21.0"
MB = 1024 * 1024


# --- webhook receiver --------------------------------------------------------

class Event:
    def __init__(self, headers, raw):
        self.headers = headers
        self.raw = raw
        self.json = json.loads(raw)

    @property
    def value(self):
        return self.json["entry"][0]["changes"][0]["value"]

    def statuses(self):
        return self.value.get("statuses", [])


class Hook:
    """Receives the simulator's webhooks; answers plan[i] then 200."""

    def __init__(self):
        self.cond = threading.Condition()
        self.events = []
        self.plan = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.cond:
                    status = hook.plan.pop(0) if hook.plan else 200
                    hook.events.append(Event(
                        {k.lower(): v for k, v in self.headers.items()}, raw))
                    hook.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(
                    self.path).query)
                ok = q.get("hub.verify_token") == ["let-me-in"] and \
                    q.get("hub.mode") == ["subscribe"]
                body = q["hub.challenge"][0].encode() if ok else b""
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhook" % self.server.server_port
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def reset(self):
        with self.cond:
            self.events.clear()
            self.plan.clear()

    def wait(self, pred, n=1, timeout=5.0):
        with self.cond:
            self.cond.wait_for(
                lambda: len([e for e in self.events if pred(e)]) >= n,
                timeout)
            return [e for e in self.events if pred(e)]

    def statuses(self, wamid, n, timeout=5.0):
        evs = self.wait(lambda e: any(s["id"] == wamid
                                      for s in e.statuses()), n, timeout)
        return [s for e in evs for s in e.statuses()]


# --- simulator process and client -------------------------------------------

class Client:
    """One keep-alive connection to the simulator."""

    def __init__(self, port, pid):
        self.port = port
        self.pid = pid
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, body=None, token=None, headers=None):
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()

    def json(self, method, path, body=None, token=None, headers=None):
        status, _, data = self.call(method, path, body, token, headers)
        return status, json.loads(data) if data else None

    def send(self, payload, pnid=PN_A, token=TOKEN_A):
        return self.json("POST", "%s/%s/messages" % (V, pnid), payload, token)

    def control(self, method, path, body=None):
        return self.json(method, "/_sim/" + path, body)[1]

    def upload(self, data, mime, filename="f.bin", pnid=PN_A,
               token=TOKEN_A, fields=None, chunked=False):
        body, ctype = multipart(data, mime, filename, fields)
        hdrs = {"Content-Type": ctype}
        if chunked:
            self.conn.request("POST", "%s/%s/media" % (V, pnid),
                              body=iter(body), encode_chunked=True,
                              headers=dict(hdrs, Authorization="Bearer " +
                                           token))
            resp = self.conn.getresponse()
            return resp.status, json.loads(resp.read())
        hdrs["Content-Length"] = str(body.size)
        return self.json("POST", "%s/%s/media" % (V, pnid), iter(body), token,
                         hdrs)

    def peak_rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


class Multipart:
    """A multipart/form-data body produced in chunks, never joined."""

    def __init__(self, head, data, tail):
        self.head, self.data, self.tail = head, data, tail
        self.size = len(head) + data_size(data) + len(tail)

    def __iter__(self):
        yield self.head
        if callable(self.data):
            yield from self.data()
        else:
            yield self.data
        yield self.tail


def data_size(data):
    return data.size if callable(data) else len(data)


def multipart(data, mime, filename, fields=None):
    boundary = "graphsimTestBoundary7MA4YWxk"
    if fields is None:
        fields = {"messaging_product": "whatsapp", "type": mime}
    head = b""
    for k, v in fields.items():
        head += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                 "%s\r\n" % (boundary, k, v)).encode()
    if data is not None:
        head += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                 "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                 % (boundary, filename, mime)).encode()
        tail = ("\r\n--%s--\r\n" % boundary).encode()
    else:
        data, tail = b"", ("--%s--\r\n" % boundary).encode()
    return (Multipart(head, data, tail),
            "multipart/form-data; boundary=" + boundary)


def pattern_chunks(total, chunk=256 * 1024):
    """A callable body part: total bytes of a repeating pattern."""
    def gen():
        block = bytes(range(256)) * (chunk // 256)
        left = total
        while left > 0:
            yield block[:left]
            left -= len(block[:left])
    gen.size = total
    return gen


@pytest.fixture(scope="module")
def hook():
    h = Hook()
    yield h
    h.server.shutdown()


@pytest.fixture(scope="module")
def sim_proc(hook, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("graphsim")
    proc = subprocess.Popen(
        ["/usr/bin/python3", SIM, "--port", "0",
         "--number", "%s:%s:+1 555-078-3881" % (PN_A, TOKEN_A),
         "--number", "%s:%s" % (PN_B, TOKEN_B),
         "--app-secret", SECRET, "--webhook-url", hook.url,
         "--status-delay-ms", "20", "--media-dir", str(tmp / "media"),
         "--log", str(tmp / "requests.log")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("graphsim listening on 127.0.0.1:"):
        proc.kill()
        pytest.fail("graphsim did not start: %r %r"
                    % (line, proc.stderr.read()))
    yield Client(int(line.strip().rsplit(":", 1)[1]), proc.pid)
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def sim(sim_proc, hook):
    for path in ("requests", "fail", "webhooks"):
        sim_proc.control("DELETE", path)
    sim_proc.control("POST", "config", {"auto_status": True,
                                        "status_delay_ms": 20,
                                        "statuses": ["sent", "delivered",
                                                     "read"]})
    hook.reset()
    return sim_proc


def msg(**kw):
    body = {"messaging_product": "whatsapp", "to": TO}
    body.update(kw)
    return body


def text(body="hello", **kw):
    return msg(type="text", text={"body": body}, **kw)


def settled(sim, hook):
    """Sends a witness text and waits for its last status (read): the
    statuses the simulator scheduled before it, one step each, have been
    posted by then. Restores auto_status first."""
    sim.control("POST", "config", {"auto_status": True})
    _, body = sim.send(text("witness"))
    wamid = body["messages"][0]["id"]
    assert [s["status"] for s in hook.statuses(wamid, 3)] == \
        ["sent", "delivered", "read"]


def inter(itype, action, **parts):
    obj = {"type": itype, "action": action}
    obj.setdefault("body", {"text": "Pick one"})
    obj.update(parts)
    if obj["body"] is None:
        del obj["body"]
    return msg(type="interactive", interactive=obj)


def buttons(*titles, **kw):
    return inter("button", {"buttons": [
        {"type": "reply", "reply": {"id": "id-%d" % i, "title": t}}
        for i, t in enumerate(titles)]}, **kw)


def rows(n, prefix="r"):
    return [{"id": "%s%d" % (prefix, i), "title": "Row %d" % i}
            for i in range(n)]


def list_msg(sections, button="Options", **kw):
    return inter("list", {"button": button, "sections": sections}, **kw)


def products(n):
    return [{"product_retailer_id": "SKU%d" % i} for i in range(n)]


def template(components=None, **kw):
    t = {"name": "order_update", "language": {"code": "en_US"}}
    if components is not None:
        t["components"] = components
    t.update(kw)
    return msg(type="template", template=t)


def verify(event):
    sig = event.headers.get("x-hub-signature-256", "")
    want = hmac.new(SECRET.encode(), event.raw, hashlib.sha256).hexdigest()
    return sig == "sha256=" + want


def assert_error(status, body, code, details=None, http_status=400):
    assert status == http_status, body
    err = body["error"]
    assert err["code"] == code, err
    assert err["message"].startswith("(#%d) " % code), err
    assert err["type"] == "OAuthException"
    assert err["fbtrace_id"]
    assert err["error_data"]["messaging_product"] == "whatsapp"
    if details:
        assert details in err["error_data"]["details"], err


# --- auth and routing --------------------------------------------------------

def test_send_with_wrong_token_gets_190(sim):
    status, body = sim.send(text(), token="nope")
    assert status == 401
    assert body["error"]["code"] == 190
    assert body["error"]["type"] == "OAuthException"
    assert body["error"]["fbtrace_id"]


def test_send_without_token_gets_190(sim):
    status, body = sim.json("POST", V + "/%s/messages" % PN_A, text())
    assert (status, body["error"]["code"]) == (401, 190)


def test_token_of_another_number_gets_190(sim):
    status, body = sim.send(text(), pnid=PN_A, token=TOKEN_B)
    assert (status, body["error"]["code"]) == (401, 190)


def test_unknown_phone_number_id_gets_100_subcode_33(sim):
    status, body = sim.send(text(), pnid="999999999")
    assert status == 400
    err = body["error"]
    assert (err["code"], err["error_subcode"]) == (100, 33)
    assert err["type"] == "GraphMethodException"
    assert "Object with ID '999999999' does not exist" in err["message"]


def test_unknown_path_and_old_version_get_100(sim):
    status, body = sim.json("GET", V + "/%s/bogus" % PN_A, token=TOKEN_A)
    assert (status, body["error"]["code"]) == (400, 100)
    assert "Unknown path components: /bogus" in body["error"]["message"]
    status, body = sim.json("POST", "/v16.0/%s/messages" % PN_A, text(),
                            TOKEN_A)
    assert (status, body["error"]["code"]) == (400, 100)
    status, body = sim.json("GET", "/graph/nothing")
    assert (status, body["error"]["code"]) == (400, 100)


# --- message validation ------------------------------------------------------

def without(d, key):
    d = dict(d)
    del d[key]
    return d


INVALID = [
    ("no_messaging_product", without(text(), "messaging_product"), 131008,
     "messaging_product"),
    ("other_product", text(messaging_product="sms"), 100,
     "messaging_product"),
    ("no_to", without(text(), "to"), 131008, "to"),
    ("letters_in_to", text(to="1650abc1234"), 100, "to"),
    ("short_to", text(to="+1 234"), 100, "to"),
    ("to_is_sender", text(to="+1 (555) 078-3881"), 131021, None),
    ("unknown_type", msg(type="carousel", carousel={}), 100, "type"),
    ("type_object_missing", msg(type="image"), 131008, "image"),
    ("unknown_top_field", text(preview_url=True), 100, "preview_url"),
    ("text_no_body", msg(type="text", text={}), 131008, "text['body']"),
    ("text_too_long", text("x" * 4097), 131009, "text['body']"),
    ("preview_url_not_bool",
     msg(text={"body": "x", "preview_url": "yes"}), 100,
     "text['preview_url']"),
    ("image_no_id_or_link", msg(type="image", image={}), 131008,
     "image['id'] or image['link']"),
    ("image_id_and_link", msg(type="image", image={
        "id": "1", "link": "https://e.com/a.png"}), 131009, "image"),
    ("image_bad_link", msg(type="image", image={"link": "ftp://e.com/a"}),
     100, "image['link']"),
    ("image_unknown_id", msg(type="image", image={"id": "123456789"}), 100,
     "image['id'] is not a valid whatsapp business account media"),
    ("audio_caption", msg(type="audio", audio={
        "link": "https://e.com/a.ogg", "caption": "c"}), 100,
     "audio['caption']"),
    ("sticker_caption", msg(type="sticker", sticker={
        "link": "https://e.com/a.webp", "caption": "c"}), 100,
     "sticker['caption']"),
    ("caption_too_long", msg(type="image", image={
        "link": "https://e.com/a.png", "caption": "c" * 1025}), 131009,
     "image['caption']"),
    ("latitude_out_of_range", msg(type="location", location={
        "latitude": 91, "longitude": 0}), 131009, "location['latitude']"),
    ("longitude_missing", msg(type="location", location={"latitude": 1}),
     131008, "location['longitude']"),
    ("latitude_not_number", msg(type="location", location={
        "latitude": "north", "longitude": 0}), 100, "location['latitude']"),
    ("no_contacts", msg(type="contacts", contacts=[]), 131009, "contacts"),
    ("contact_without_formatted_name", msg(type="contacts", contacts=[
        {"name": {"first_name": "A"}}]), 131008,
     "contacts[0]['name']['formatted_name']"),
    ("too_many_contacts", msg(type="contacts", contacts=[
        {"name": {"formatted_name": "A"}}] * 258), 131009, "contacts[257]"),
    ("reaction_no_message_id", msg(type="reaction", reaction={"emoji": "x"}),
     131008, "reaction['message_id']"),
    ("reaction_two_letters", msg(type="reaction", reaction={
        "message_id": "wamid.A", "emoji": "ab"}), 131009, "reaction['emoji']"),
    ("reaction_with_context", msg(type="reaction", reaction={
        "message_id": "wamid.A", "emoji": "\U0001F44D"},
        context={"message_id": "wamid.B"}), 100, "context"),
    ("context_without_message_id", text(context={}), 131008,
     "context['message_id']"),
    ("interactive_no_type", msg(type="interactive", interactive={
        "body": {"text": "b"}, "action": {}}), 131008,
     "interactive['type']"),
    ("interactive_unknown_type", inter("carousel_x", {}), 100,
     "interactive['type']"),
    ("four_buttons", buttons("a", "b", "c", "d"), 131009,
     "interactive['action']['buttons'][3]"),
    ("zero_buttons", inter("button", {"buttons": []}), 131009,
     "interactive['action']['buttons']"),
    ("button_title_too_long", buttons("t" * 21), 131009,
     "interactive['action']['buttons'][0]['reply']['title']"),
    ("duplicate_button_titles", buttons("Yes", "Yes"), 131009,
     "interactive['action']['buttons'][1]['reply']['title']"),
    ("button_id_with_spaces", inter("button", {"buttons": [
        {"type": "reply", "reply": {"id": " a", "title": "A"}}]}), 131009,
     "interactive['action']['buttons'][0]['reply']['id']"),
    ("button_id_too_long", inter("button", {"buttons": [
        {"type": "reply", "reply": {"id": "i" * 257, "title": "A"}}]}),
     131009, "interactive['action']['buttons'][0]['reply']['id']"),
    ("button_type_not_reply", inter("button", {"buttons": [
        {"type": "url", "reply": {"id": "a", "title": "A"}}]}), 131009,
     "interactive['action']['buttons'][0]['type']"),
    ("button_without_body", buttons("a", body=None), 131008,
     "interactive['body']"),
    ("button_body_too_long", buttons("a", body={"text": "b" * 1025}),
     131009, "interactive['body']['text']"),
    ("header_text_too_long", buttons("a", header={
        "type": "text", "text": "h" * 61}), 131009,
     "interactive['header']['text']"),
    ("footer_too_long", buttons("a", footer={"text": "f" * 61}), 131009,
     "interactive['footer']['text']"),
    ("cta_display_text_too_long", inter("cta_url", {
        "name": "cta_url", "parameters": {"display_text": "d" * 21,
                                          "url": "https://e.com"}}), 131009,
     "interactive['action']['parameters']['display_text']"),
    ("cta_url_not_http", inter("cta_url", {
        "name": "cta_url", "parameters": {"display_text": "Go",
                                          "url": "javascript:alert(1)"}}),
     131009, "interactive['action']['parameters']['url']"),
    ("cta_url_missing", inter("cta_url", {
        "name": "cta_url", "parameters": {"display_text": "Go"}}), 131008,
     "interactive['action']['parameters']['url']"),
    ("list_eleven_rows", list_msg([
        {"title": "A", "rows": rows(6, "a")},
        {"title": "B", "rows": rows(5, "b")}]), 131009,
     "interactive['action']['sections'][1]['rows'][4]"),
    ("list_eleven_sections", list_msg([
        {"title": "S%d" % i, "rows": rows(1, "s%d-" % i)}
        for i in range(11)]), 131009, "interactive['action']['sections'][10]"),
    ("list_button_too_long", list_msg([{"title": "A", "rows": rows(1)}],
                                      button="b" * 21), 131009,
     "interactive['action']['button']"),
    ("list_section_title_too_long", list_msg([
        {"title": "t" * 25, "rows": rows(1)}]), 131009,
     "interactive['action']['sections'][0]['title']"),
    ("list_row_title_too_long", list_msg([{"title": "A", "rows": [
        {"id": "r", "title": "t" * 25}]}]), 131009,
     "interactive['action']['sections'][0]['rows'][0]['title']"),
    ("list_row_description_too_long", list_msg([{"title": "A", "rows": [
        {"id": "r", "title": "t", "description": "d" * 73}]}]), 131009,
     "interactive['action']['sections'][0]['rows'][0]['description']"),
    ("list_duplicate_row_ids", list_msg([{"title": "A", "rows": [
        {"id": "r", "title": "1"}, {"id": "r", "title": "2"}]}]), 131009,
     "interactive['action']['sections'][0]['rows'][1]['id']"),
    ("list_empty_section", list_msg([{"title": "A", "rows": []}]), 131009,
     "interactive['action']['sections'][0]['rows']"),
    ("list_image_header", list_msg([{"title": "A", "rows": rows(1)}],
                                   header={"type": "image", "image": {
                                       "link": "https://e.com/a.png"}}),
     131009, "interactive['header']['type']"),
    ("list_body_too_long", list_msg([{"title": "A", "rows": rows(1)}],
                                    body={"text": "b" * 4097}), 131009,
     "interactive['body']['text']"),
    ("location_request_wrong_action", inter("location_request_message", {
        "name": "send_place"}), 131009, "interactive['action']['name']"),
    ("catalog_with_header", inter("catalog_message", {
        "name": "catalog_message"}, header={"type": "text", "text": "h"}),
     100, "interactive['header']"),
    ("product_without_retailer_id", inter("product", {"catalog_id": "C1"}),
     131008, "interactive['action']['product_retailer_id']"),
    ("product_with_header", inter("product", {
        "catalog_id": "C1", "product_retailer_id": "S"},
        header={"type": "text", "text": "h"}), 100, "interactive['header']"),
    ("product_list_without_header", inter("product_list", {
        "catalog_id": "C1", "sections": [
            {"title": "A", "product_items": products(1)}]}), 131008,
     "interactive['header']"),
    ("product_list_31_items", inter("product_list", {
        "catalog_id": "C1", "sections": [
            {"title": "A", "product_items": products(20)},
            {"title": "B", "product_items": products(11)}]},
        header={"type": "text", "text": "Picks"}), 131009,
     "interactive['action']['sections'][1]['product_items'][10]"),
    ("product_list_untitled_sections", inter("product_list", {
        "catalog_id": "C1", "sections": [{"product_items": products(1)},
                                         {"product_items": products(1)}]},
        header={"type": "text", "text": "Picks"}), 131008,
     "interactive['action']['sections'][0]['title']"),
    ("template_without_name", msg(type="template", template={
        "language": {"code": "en"}}), 131008, "template['name']"),
    ("template_without_language_code", template(language={}), 131008,
     "template['language']['code']"),
    ("template_button_index_10", template([
        {"type": "button", "sub_type": "quick_reply", "index": 10,
         "parameters": [{"type": "payload", "payload": "P"}]}]), 131009,
     "template['components'][0]['index']"),
    ("template_button_without_sub_type", template([
        {"type": "button", "index": "0"}]), 131008,
     "template['components'][0]['sub_type']"),
    ("template_unknown_component", template([{"type": "sidebar"}]), 100,
     "template['components'][0]['type']"),
    ("template_header_param_too_long", template([
        {"type": "header", "parameters": [{"type": "text", "text": "h" * 61}]},
        {"type": "body", "parameters": []}]), 131009,
     "template['components'][0]['parameters'][0]['text']"),
    ("template_param_object_missing", template([
        {"type": "body", "parameters": [{"type": "currency"}]}]), 131008,
     "template['components'][0]['parameters'][0]['currency']"),
    ("typing_indicator_not_text", {
        "messaging_product": "whatsapp", "status": "read",
        "message_id": "wamid.ABC", "typing_indicator": {"type": "audio"}},
     131009, "typing_indicator['type']"),
    ("read_receipt_bad_message_id", {
        "messaging_product": "whatsapp", "status": "read",
        "message_id": "12345"}, 131009, "message_id invalid"),
]


@pytest.mark.parametrize("payload,code,details", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_send_is_rejected_naming_the_field(sim, payload, code,
                                                   details):
    status, body = sim.send(payload)
    assert_error(status, body, code, details)


VALID = [
    ("text_with_preview", msg(text={"body": "see https://e.com",
                                    "preview_url": True})),
    ("text_4096", text("x" * 4096)),
    ("image_link", msg(type="image", image={"link": "https://e.com/a.png",
                                            "caption": "c" * 1024})),
    ("video_link", msg(type="video", video={"link": "https://e.com/a.mp4"})),
    ("voice_link", msg(type="audio", audio={"link": "https://e.com/a.ogg",
                                            "voice": True})),
    ("document_link", msg(type="document", document={
        "link": "https://e.com/a.pdf", "caption": "c", "filename": "a.pdf"})),
    ("sticker_link", msg(type="sticker", sticker={
        "link": "https://e.com/a.webp"})),
    ("location_strings", msg(type="location", location={
        "latitude": "37.44216251868683", "longitude": "-122.16153582049394",
        "name": "Philz", "address": "101 Forest Ave"})),
    ("location_numbers", msg(type="location", location={
        "latitude": -90, "longitude": 180.0})),
    ("contacts_full", msg(type="contacts", contacts=[{
        "name": {"formatted_name": "B J", "first_name": "B"},
        "birthday": "1999-01-23",
        "phones": [{"phone": "+19175559999", "type": "Mobile",
                    "wa_id": "19175559999"}],
        "emails": [{"email": "b@e.com", "type": "Work"}],
        "urls": [{"url": "https://e.com", "type": "Company"}],
        "addresses": [{"city": "Menlo Park", "type": "Office"}],
        "org": {"company": "Lucky Shrub"}}])),
    ("reaction_skin_tone", msg(type="reaction", reaction={
        "message_id": "wamid.X", "emoji": "\U0001F44D\U0001F3FD"})),
    ("reaction_flag", msg(type="reaction", reaction={
        "message_id": "wamid.X", "emoji": "\U0001F1E7\U0001F1F7"})),
    ("reaction_family", msg(type="reaction", reaction={
        "message_id": "wamid.X",
        "emoji": "\U0001F468\u200d\U0001F469\u200d\U0001F467"})),
    ("reaction_removed", msg(type="reaction", reaction={
        "message_id": "wamid.X", "emoji": ""})),
    ("three_buttons_with_header", buttons(
        "a", "b", "t" * 20, header={"type": "image", "image": {
            "link": "https://e.com/a.png"}}, footer={"text": "f" * 60})),
    ("cta_url", inter("cta_url", {"name": "cta_url", "parameters": {
        "display_text": "See Dates", "url": "https://e.com?x=1"}},
        header={"type": "text", "text": "New dates!"})),
    ("list_ten_rows", list_msg([{"title": "A", "rows": rows(4, "a")},
                                {"title": "B", "rows": rows(6, "b")}],
                               header={"type": "text", "text": "h" * 60},
                               body={"text": "b" * 4096})),
    ("location_request", inter("location_request_message",
                               {"name": "send_location"})),
    ("catalog", inter("catalog_message", {
        "name": "catalog_message",
        "parameters": {"thumbnail_product_retailer_id": "S1"}})),
    ("product_without_body", inter("product", {
        "catalog_id": "C1", "product_retailer_id": "S1"}, body=None)),
    ("product_list_30", inter("product_list", {
        "catalog_id": "C1", "sections": [
            {"title": "A", "product_items": products(15)},
            {"title": "B", "product_items": products(15)}]},
        header={"type": "text", "text": "Picks"})),
    ("reply_with_context", text(context={"message_id": "wamid.Q"})),
    ("bsuid_recipient", {"messaging_product": "whatsapp", "type": "text",
                         "recipient": "US.13491208655302741918",
                         "text": {"body": "hi"}}),
]


@pytest.mark.parametrize("payload", [c[1] for c in VALID],
                         ids=[c[0] for c in VALID])
def test_valid_send_of_each_type_is_accepted(sim, payload):
    status, body = sim.send(payload)
    assert status == 200, body
    assert body["messages"][0]["id"].startswith("wamid.")


def test_text_send_answers_meta_success_shape(sim):
    status, body = sim.send(text(to="+1 (650) 555-1234"))
    assert status == 200
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 (650) 555-1234",
                                 "wa_id": "16505551234"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.") and len(wamid) <= 128
    assert "message_status" not in body["messages"][0]
    assert sim.send(text())[1]["messages"][0]["id"] != wamid


def test_template_send_answers_message_status_accepted(sim):
    status, body = sim.send(template([
        {"type": "header", "parameters": [
            {"type": "image", "image": {"link": "https://e.com/a.png"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "text": "Pablo"},
            {"type": "currency", "currency": {
                "fallback_value": "$10.99", "code": "USD",
                "amount_1000": 10990}},
            {"type": "date_time", "date_time": {"fallback_value": "May 1"}}]},
        {"type": "BUTTON", "sub_type": "QUICK_REPLY", "index": 0,
         "parameters": [{"type": "payload", "payload": "OK"}]},
        {"type": "button", "sub_type": "url", "index": "1",
         "parameters": [{"type": "text", "text": "order/42"}]}]))
    assert status == 200, body
    assert body["messages"][0]["message_status"] == "accepted"


def test_read_receipt_and_typing_indicator_answer_success(sim):
    read = {"messaging_product": "whatsapp", "status": "read",
            "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI="}
    assert sim.send(read) == (200, {"success": True})
    read["typing_indicator"] = {"type": "text"}
    assert sim.send(read) == (200, {"success": True})


def test_media_id_must_be_uploaded_for_the_sending_number(sim):
    _, up = sim.upload(b"\x89PNG" + b"x" * 100, "image/png", pnid=PN_B,
                       token=TOKEN_B)
    status, body = sim.send(msg(type="image", image={"id": up["id"]}))
    assert status == 400
    assert body["error"]["code"] == 100
    assert "image['id'] is not a valid whatsapp business account media " \
        "attachment ID" in body["error"]["message"]
    status, _ = sim.send(msg(type="image", image={"id": up["id"]}),
                         pnid=PN_B, token=TOKEN_B)
    assert status == 200


# --- status webhooks ---------------------------------------------------------

def test_status_webhooks_are_signed_and_arrive_sent_delivered_read(sim,
                                                                   hook):
    status, body = sim.send(text(biz_opaque_callback_data="order-42"))
    assert status == 200
    wamid = body["messages"][0]["id"]
    evs = hook.wait(lambda e: any(s["id"] == wamid for s in e.statuses()),
                    3)
    assert len(evs) == 3
    for e in evs:
        assert verify(e)
        assert e.headers["content-type"] == "application/json"
        assert e.json["object"] == "whatsapp_business_account"
        change = e.json["entry"][0]["changes"][0]
        assert change["field"] == "messages"
        assert change["value"]["metadata"] == {
            "display_phone_number": DISPLAY_A, "phone_number_id": PN_A}
    sts = [e.statuses()[0] for e in evs]
    assert [s["status"] for s in sts] == ["sent", "delivered", "read"]
    sent = sts[0]
    assert sent["recipient_id"] == TO
    assert sent["timestamp"].isdigit()
    assert sent["biz_opaque_callback_data"] == "order-42"
    assert sent["conversation"]["origin"]["type"] == "service"
    assert sent["pricing"]["pricing_model"] == "PMP"
    assert "pricing" not in sts[2]


def test_reaction_gets_only_a_sent_status(sim, hook):
    _, body = sim.send(msg(type="reaction", reaction={
        "message_id": "wamid.HBgLMTY1", "emoji": "\U0001F600"}))
    wamid = body["messages"][0]["id"]
    hook.statuses(wamid, 1)
    settled(sim, hook)
    assert [s["status"] for s in hook.statuses(wamid, 1)] == ["sent"]


def test_webhook_is_retried_after_a_non_200_answer(sim, hook):
    hook.plan[:] = [500]
    _, body = sim.send(text())
    wamid = body["messages"][0]["id"]
    sts = hook.statuses(wamid, 4, timeout=5)
    assert [s["status"] for s in sts] == ["sent", "sent", "delivered",
                                          "read"]
    evs = hook.wait(lambda e: any(s["id"] == wamid for s in e.statuses()),
                    4)
    assert evs[0].raw == evs[1].raw


def test_auto_status_off_posts_nothing(sim, hook):
    sim.control("POST", "config", {"auto_status": False})
    _, body = sim.send(text())
    settled(sim, hook)
    assert hook.statuses(body["messages"][0]["id"], 1, timeout=0) == []


def test_media_of_the_wrong_kind_fails_asynchronously_with_131053(sim, hook):
    _, up = sim.upload(b"OggS" + b"a" * 64, "audio/ogg")
    status, body = sim.send(msg(type="image", image={"id": up["id"]}))
    assert status == 200
    st = hook.statuses(body["messages"][0]["id"], 1)[0]
    assert st["status"] == "failed"
    assert st["errors"][0]["code"] == 131053


def test_voice_note_gets_played_after_read(sim, hook):
    _, up = sim.upload(b"OggS" + b"v" * 64, "audio/ogg")
    _, body = sim.send(msg(type="audio", audio={"id": up["id"],
                                                "voice": True}))
    sts = hook.statuses(body["messages"][0]["id"], 4)
    assert [s["status"] for s in sts] == ["sent", "delivered", "read",
                                          "played"]


def test_enforced_window_fails_free_form_send_with_131047(sim, hook):
    sim.control("POST", "config", {"enforce_window": True})
    try:
        _, body = sim.send(text(to="16505550000"))
        st = hook.statuses(body["messages"][0]["id"], 1)[0]
        assert (st["status"], st["errors"][0]["code"]) == ("failed", 131047)
        sim.control("POST", "inbound", {
            "phone_number_id": PN_A, "from": "16505550000",
            "message": {"type": "text", "text": {"body": "hi"}}})
        _, body = sim.send(text(to="16505550000"))
        st = hook.statuses(body["messages"][0]["id"], 1)[0]
        assert st["status"] == "sent"
    finally:
        sim.control("POST", "config", {"enforce_window": False})


def test_manual_status_is_posted_on_demand(sim, hook):
    sim.control("POST", "config", {"auto_status": False})
    _, body = sim.send(text())
    wamid = body["messages"][0]["id"]
    out = sim.control("POST", "status", {"id": wamid, "status": "read"})
    assert out["webhook_status"] == 200
    out = sim.control("POST", "status", {"id": wamid, "status": "failed",
                                         "code": 131026})
    sts = hook.statuses(wamid, 2)
    assert [s["status"] for s in sts] == ["read", "failed"]
    assert sts[1]["errors"][0]["code"] == 131026


# --- fault injection ---------------------------------------------------------

@pytest.mark.parametrize("code,http_status", [
    (130429, 400), (131056, 400), (131047, 400), (131016, 503), (2, 503),
    (131000, 500), (4, 400), (80007, 400)])
def test_injected_error_uses_meta_envelope_and_http_status(sim, code,
                                                           http_status):
    sim.control("POST", "fail", {"code": code, "times": 1,
                                 "path": "messages"})
    status, body = sim.send(text())
    assert_error(status, body, code, http_status=http_status)
    assert sim.send(text())[0] == 200


def test_injected_190_is_an_expired_token_with_http_401(sim):
    sim.control("POST", "fail", {"code": 190, "times": 2, "path": "any"})
    for _ in range(2):
        status, body = sim.send(text())
        assert status == 401
        assert (body["error"]["code"], body["error"]["error_subcode"]) == \
            (190, 463)
    assert sim.send(text())[0] == 200


def test_injected_bare_500_has_no_json_envelope(sim):
    sim.control("POST", "fail", {"http_status": 500, "path": "messages"})
    status, headers, data = sim.call("POST", V + "/%s/messages" % PN_A,
                                     text(), TOKEN_A)
    assert status == 500
    assert headers["Content-Type"].startswith("text/plain")
    assert b"<" not in data and not data.startswith(b"{")


def test_injected_delay_holds_the_answer(sim):
    sim.control("POST", "fail", {"delay_ms": 400, "path": "messages"})
    t0 = time.monotonic()
    status, _ = sim.send(text())
    assert status == 200
    assert time.monotonic() - t0 >= 0.4


def test_async_fault_answers_200_then_posts_failed_status(sim, hook):
    sim.control("POST", "fail", {"code": 131047, "mode": "async",
                                 "path": "messages"})
    status, body = sim.send(text())
    assert status == 200
    wamid = body["messages"][0]["id"]
    hook.statuses(wamid, 1)
    settled(sim, hook)
    sts = hook.statuses(wamid, 1)
    assert [s["status"] for s in sts] == ["failed"]
    err = sts[0]["errors"][0]
    assert err["code"] == 131047
    assert err["title"] == err["message"] == "Re-engagement message"
    assert err["error_data"]["details"]
    assert err["href"]


# --- media -------------------------------------------------------------------

def test_media_upload_get_download_delete_roundtrip(sim):
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(4000)
    status, up = sim.upload(data, "image/png", "pic.png")
    assert status == 200 and up["id"].isdigit()
    status, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert status == 200
    assert info["messaging_product"] == "whatsapp"
    assert (info["mime_type"], info["file_size"], info["id"]) == \
        ("image/png", len(data), up["id"])
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    url = info["url"].split(str(sim.port), 1)[1]
    status, headers, got = sim.call("GET", url, token=TOKEN_A)
    assert (status, got, headers["Content-Type"]) == (200, data, "image/png")
    assert sim.call("GET", url)[0] == 404
    assert sim.call("GET", url, token=TOKEN_B)[0] == 404
    status, body = sim.json("DELETE", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert (status, body) == (200, {"success": True})
    status, body = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert (status, body["error"]["code"], body["error"]["error_subcode"]) \
        == (400, 100, 33)
    assert sim.call("GET", url, token=TOKEN_A)[0] == 404


def test_expired_media_is_gone_and_expired_url_is_404(sim):
    _, up = sim.upload(b"%PDF-1.4 hi", "application/pdf", "a.pdf")
    _, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    old = info["url"].split(str(sim.port), 1)[1]
    sim.control("POST", "expire_media", {"id": up["id"], "url_only": True})
    assert sim.call("GET", old, token=TOKEN_A)[0] == 404
    _, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    fresh = info["url"].split(str(sim.port), 1)[1]
    assert sim.call("GET", fresh, token=TOKEN_A)[0] == 200
    sim.control("POST", "expire_media", {"id": up["id"]})
    assert sim.call("GET", fresh, token=TOKEN_A)[0] == 404
    status, body = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert (status, body["error"]["error_subcode"]) == (400, 33)


def test_media_get_checks_token_and_phone_number_id(sim):
    _, up = sim.upload(b"hello", "text/plain", "a.txt")
    path = "%s/%s" % (V, up["id"])
    assert sim.json("GET", path, token=TOKEN_B)[0] == 401
    assert sim.json("GET", path + "?phone_number_id=" + PN_A,
                    token=TOKEN_A)[0] == 200
    status, body = sim.json("GET", path + "?phone_number_id=" + PN_B,
                            token=TOKEN_A)
    assert (status, body["error"]["code"]) == (400, 100)
    assert "phone_number_id" in body["error"]["message"]


def test_oversized_image_is_rejected_with_131053(sim):
    status, body = sim.upload(pattern_chunks(5 * MB + 1), "image/jpeg",
                              "big.jpg")
    assert_error(status, body, 131053, "5 MB")
    assert sim.send(text())[0] == 200        # same connection still in step


def test_unsupported_mime_is_rejected_with_131053(sim):
    status, body = sim.upload(b"GIF89a", "image/gif", "a.gif")
    assert_error(status, body, 131053, "image/gif")


def test_oversized_sticker_is_rejected_with_131053(sim):
    status, body = sim.upload(pattern_chunks(500 * 1024 + 1), "image/webp",
                              "s.webp")
    assert_error(status, body, 131053, "500 KB")


def test_upload_without_file_or_type_gets_131008(sim):
    status, body = sim.upload(None, "image/png")
    assert_error(status, body, 131008, "file")
    status, body = sim.upload(b"x", "image/png",
                              fields={"messaging_product": "whatsapp"})
    assert_error(status, body, 131008, "type")


def test_chunked_upload_is_accepted(sim):
    data = b"\xff\xd8\xff" + os.urandom(300 * 1024)
    status, up = sim.upload(data, "image/jpeg", "c.jpg", chunked=True)
    assert status == 200, up
    _, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_file_data_that_looks_like_a_boundary_survives_upload(sim):
    tricky = b"\r\n--graphsimTestBoundary7MA4YWx\r\n--\r\n\r\n--graphsim"
    data = (os.urandom(70000) + tricky) * 5 + b"\r\n-"
    status, up = sim.upload(data, "text/plain", "t.txt")
    assert status == 200, up
    _, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["file_size"] == len(data)


def test_streamed_20mb_document_is_accepted_without_buffering(sim):
    size = 20 * MB
    before = sim.peak_rss_kb()
    status, up = sim.upload(pattern_chunks(size), "application/pdf",
                            "big.pdf")
    assert status == 200, up
    _, info = sim.json("GET", "%s/%s" % (V, up["id"]), token=TOKEN_A)
    assert info["file_size"] == size
    want = hashlib.sha256()
    for chunk in pattern_chunks(size)():
        want.update(chunk)
    assert info["sha256"] == want.hexdigest()
    url = info["url"].split(str(sim.port), 1)[1]
    sim.conn.request("GET", url, headers={"Authorization":
                                          "Bearer " + TOKEN_A})
    resp = sim.conn.getresponse()
    assert int(resp.getheader("Content-Length")) == size
    got = hashlib.sha256()
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            break
        got.update(chunk)
    assert got.hexdigest() == want.hexdigest()
    assert sim.peak_rss_kb() - before < 12 * 1024


# --- control API -------------------------------------------------------------

def test_inbound_text_posts_a_complete_signed_webhook(sim, hook):
    out = sim.control("POST", "inbound", {
        "phone_number_id": PN_A, "from": "+1 650-555-1234",
        "name": "Sheena Nelson",
        "message": {"type": "text", "text": {"body": "hi"}},
        "context": "wamid.PREV"})
    assert out["webhook_status"] == 200
    ev = hook.wait(lambda e: e.value.get("messages"))[0]
    assert verify(ev)
    assert ev.json == out["body"]
    value = ev.value
    assert value["metadata"]["phone_number_id"] == PN_A
    assert value["contacts"] == [{"profile": {"name": "Sheena Nelson"},
                                  "wa_id": TO}]
    m = value["messages"][0]
    assert (m["from"], m["id"], m["type"], m["text"]) == \
        (TO, out["wamid"], "text", {"body": "hi"})
    assert m["timestamp"].isdigit()
    assert m["context"] == {"from": DISPLAY_A, "id": "wamid.PREV"}


def test_inbound_webhook_escapes_non_ascii_and_keeps_signature(sim, hook):
    sim.control("POST", "inbound", {
        "phone_number_id": PN_A, "from": TO, "name": "Zoë",
        "message": {"type": "text", "text": {"body": "h\u00e9 \U0001F600"}}})
    ev = hook.wait(lambda e: e.value.get("messages"))[0]
    assert verify(ev)
    assert b"\\u00e9" in ev.raw and b"\\ud83d\\ude00" in ev.raw
    assert all(b < 0x80 for b in ev.raw)


def test_inbound_image_registers_downloadable_media(sim, hook):
    out = sim.control("POST", "inbound", {
        "phone_number_id": PN_A, "from": TO,
        "message": {"type": "image", "image": {"caption": "look"}}})
    image = out["body"]["entry"][0]["changes"][0]["value"]["messages"][0][
        "image"]
    assert image["caption"] == "look" and image["mime_type"] == "image/jpeg"
    _, info = sim.json("GET", "%s/%s" % (V, image["id"]), token=TOKEN_A)
    url = info["url"].split(str(sim.port), 1)[1]
    status, _, data = sim.call("GET", url, token=TOKEN_A)
    assert status == 200
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == \
        image["sha256"]
    status, _ = sim.json("GET", "%s/%s?phone_number_id=%s"
                         % (V, image["id"], PN_A), token=TOKEN_A)
    assert status == 400


def test_request_log_records_headers_json_and_answer(sim):
    sim.call("POST", V + "/%s/messages" % PN_A, text("logged"), TOKEN_A,
             {"User-Agent": "wa-backend/1"})
    sim.upload(b"abc", "text/plain", "n.txt")
    log = sim.control("GET", "requests?path_contains=/messages")
    assert len(log) == 1
    entry = log[0]
    assert entry["method"] == "POST" and entry["status"] == 200
    assert entry["headers"]["authorization"] == "Bearer " + TOKEN_A
    assert entry["headers"]["user-agent"] == "wa-backend/1"
    assert entry["json"]["text"] == {"body": "logged"}
    assert entry["response"]["messages"][0]["id"].startswith("wamid.")
    media = sim.control("GET", "requests?path_contains=/media")[0]
    assert media["form"]["type"] == "text/plain"
    assert media["form"]["file"]["size"] == 3
    assert media["form"]["file"]["sha256"] == \
        hashlib.sha256(b"abc").hexdigest()


def test_numbers_can_be_registered_at_run_time(sim):
    sim.control("POST", "numbers", {"phone_number_id": "555000111",
                                    "access_token": "TOKEN_C",
                                    "display_phone_number": "15550001111"})
    status, _ = sim.send(text(), pnid="555000111", token="TOKEN_C")
    assert status == 200
    status, body = sim.send(text(to="15550001111"), pnid="555000111",
                            token="TOKEN_C")
    assert_error(status, body, 131021)


def test_verification_handshake_echoes_the_challenge(sim):
    out = sim.control("POST", "verify", {"verify_token": "let-me-in"})
    assert out["ok"] and out["body"] == out["challenge"]
    out = sim.control("POST", "verify", {"verify_token": "wrong"})
    assert not out["ok"] and out["status"] == 403


def test_connection_stays_alive_across_errors_and_uploads(sim):
    sim.send(text())
    sock = sim.conn.sock
    sim.send(text(), token="bad")
    sim.send(msg(type="text", text={}))
    sim.upload(b"GIF89a", "image/gif")
    sim.json("GET", V + "/404404")
    assert sim.send(text())[0] == 200
    assert sim.conn.sock is sock
