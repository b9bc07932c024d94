"""Media: POST /api/v1/upload/media, GET and DELETE /api/v1/media/{id}.

Uploads go through nginx (body spooled to a file) to the responder, which
checks type and size, sends the file part on to the Graph simulator and
records the row; downloads are streamed back from the simulator's
short-lived URL. Files are generated here, never committed."""
import base64
import hashlib
import os
import secrets
import socket
import time
import urllib.parse

import pytest
import requests

from conftest import Tenant

KB = 1024
MB = 1024 * 1024

# (MIME, kind, limit) as in reference §4.
TYPES = [
    ("image/jpeg", "image", 5 * MB), ("image/png", "image", 5 * MB),
    ("video/mp4", "video", 16 * MB), ("video/3gpp", "video", 16 * MB),
    ("audio/aac", "audio", 16 * MB), ("audio/amr", "audio", 16 * MB),
    ("audio/mpeg", "audio", 16 * MB), ("audio/mp4", "audio", 16 * MB),
    ("audio/ogg", "audio", 16 * MB),
    ("text/plain", "document", 100 * MB),
    ("application/pdf", "document", 100 * MB),
    ("application/msword", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml."
     "document", "document", 100 * MB),
    ("application/vnd.ms-excel", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "document", 100 * MB),
    ("application/vnd.ms-powerpoint", "document", 100 * MB),
    ("application/vnd.openxmlformats-officedocument.presentationml."
     "presentation", "document", 100 * MB),
    ("image/webp", "sticker", 500 * KB),
]


@pytest.fixture(scope="module")
def shared(stack):
    """One tenant for the many type and shape checks: making a tenant
    costs more than the checks themselves."""
    return Tenant(stack)


def upload(tenant, data, mime="image/jpeg", filename="photo.jpg", **kw):
    files = {"file": (filename, data, mime)}
    return tenant.api("POST", "/api/v1/upload/media", files=files,
                      timeout=120, **kw)


def raw_upload(tenant, body, content_type):
    return tenant.api("POST", "/api/v1/upload/media", data=body,
                      headers={"Content-Type": content_type}, timeout=60)


def sim_uploads(stack, since=0):
    r = requests.get(stack.sim + "/_sim/requests",
                     params={"path_contains": "/media", "since": since},
                     timeout=5)
    return [e for e in r.json() if e["method"] == "POST"]


def sim_seq(stack):
    items = requests.get(stack.sim + "/_sim/requests", timeout=5).json()
    return max([e["seq"] for e in items] or [0])


def row(stack, media_id):
    rows = stack.query("SELECT * FROM media WHERE id = %s", media_id)
    return rows[0] if rows else None


def error_code(r):
    return r.json()["error"]["code"]


# --- upload: types and sizes -------------------------------------------------

@pytest.mark.parametrize("mime,kind,limit", TYPES)
def test_each_whatsapp_type_is_uploaded_and_recorded(stack, shared, mime,
                                                     kind, limit):
    data = os.urandom(1500)
    since = sim_seq(stack)
    r = upload(shared, data, mime, "file-" + kind)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True
    assert body["mime_type"] == mime and body["filename"] == "file-" + kind
    rec = row(stack, body["media_id"])
    assert rec["kind"] == kind and rec["mime_type"] == mime
    assert rec["size"] == len(data) and rec["direction"] == "out"
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    assert str(rec["tenant_id"]) == shared.id
    # What Meta got: the three form parts, the file with its name and type.
    (sent,) = sim_uploads(stack, since)
    assert sent["path"].endswith("/%s/media" % shared.pnid)
    assert sent["headers"]["authorization"] == "Bearer " + shared.access_token
    assert sent["headers"]["user-agent"].startswith("wa-backend/")
    form = sent["form"]
    assert form["messaging_product"] == "whatsapp" and form["type"] == mime
    assert form["file"]["filename"] == "file-" + kind
    assert form["file"]["content_type"] == mime
    assert form["file"]["size"] == len(data)
    assert form["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert sent["response"]["id"] == rec["wa_media_id"]


# Documents (100 MB): in the 100 MB test, to send that much only once.
@pytest.mark.parametrize("mime,kind,limit",
                         [t for t in TYPES if t[1] != "document"])
def test_a_file_over_its_types_limit_is_413_before_meta(stack, shared, mime,
                                                        kind, limit):
    since = sim_seq(stack)
    r = upload(shared, b"\0" * (limit + 1), mime, "big")
    assert r.status_code == 413, r.text
    assert error_code(r) == "payload_too_large"
    label = "500 KB" if limit == 500 * KB else "%d MB" % (limit // MB)
    assert label in r.json()["error"]["message"]
    assert sim_uploads(stack, since) == []


# The 16 MB kinds share the code path; the 100 MB test covers documents.
@pytest.mark.parametrize("mime,limit", [("image/jpeg", 5 * MB),
                                        ("image/webp", 500 * KB)])
def test_a_file_exactly_at_the_limit_is_accepted(stack, shared, mime, limit):
    r = upload(shared, b"\x01" * limit, mime, "edge")
    assert r.status_code == 200, r.text
    assert row(stack, r.json()["media_id"])["size"] == limit


@pytest.mark.parametrize("mime", ["image/gif", "application/zip",
                                  "video/quicktime", "text/html",
                                  "audio/wav"])
def test_a_type_whatsapp_refuses_is_415_before_meta(stack, shared, mime):
    since = sim_seq(stack)
    r = upload(shared, b"x" * 100, mime, "f")
    assert r.status_code == 415, r.text
    assert error_code(r) == "unsupported_media_type"
    assert mime in r.json()["error"]["message"]
    assert sim_uploads(stack, since) == []


def test_an_empty_file_is_422(stack, shared):
    r = upload(shared, b"", "image/png", "empty.png")
    assert r.status_code == 422 and "file" in r.json()["error"]["message"]


def test_the_type_falls_back_to_the_type_field_then_the_extension(stack,
                                                                  shared):
    r = shared.api("POST", "/api/v1/upload/media",
                   files={"file": ("blob", b"%PDF-1.4 x",
                                   "application/octet-stream")},
                   data={"type": "application/pdf"})
    assert r.status_code == 200, r.text
    assert r.json()["mime_type"] == "application/pdf"
    body = (b"--b\r\nContent-Disposition: form-data; name=file; "
            b"filename=Scan.JPEG\r\n\r\n\xff\xd8\xff\xe0\r\n--b--\r\n")
    r = raw_upload(shared, body, "multipart/form-data; boundary=b")
    assert r.status_code == 200, r.text
    assert r.json()["mime_type"] == "image/jpeg"
    assert row(stack, r.json()["media_id"])["kind"] == "image"


# --- upload: multipart shapes ------------------------------------------------

def test_odd_boundary_extra_fields_and_quoted_filenames_are_understood(
        stack, shared):
    boundary = "=_ odd:boundary'(x)+,-./?"
    data = (b"\r\n--" + boundary[:-1].encode() + b"\r\n--" +
            b"\r\n\r\n-- \r" + os.urandom(3000))
    parts = [
        b"preamble, to be ignored\r\n",
        b"--%s\r\n" % boundary.encode(),
        b'Content-Disposition: form-data; name="caption"\r\n\r\n',
        b"hello\r\n--not the boundary\r\n",
        b"--%s  \r\n" % boundary.encode(),     # transport padding
        b'Content-Disposition: form-data; name="file"; '
        b'filename="report \\"final\\".pdf"; '
        b"filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf\r\n",
        b"Content-Type: application/pdf\r\n\r\n",
        data,
        b"\r\n--%s\r\n" % boundary.encode(),
        b'Content-Disposition: form-data; name="note"\r\n\r\nafter\r\n',
        b"--%s--\r\nepilogue --%s\r\n" % (boundary.encode(),
                                          boundary.encode()),
    ]
    r = raw_upload(shared, b"".join(parts),
                   'multipart/form-data; charset=utf-8; boundary="%s"'
                   % boundary)
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == 'r\u00e9sum\u00e9 "final".pdf'
    rec = row(stack, r.json()["media_id"])
    assert rec["size"] == len(data)
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    # A plain quoted filename with escaped quotes, and a path stripped.
    r = upload(shared, b"abc", "text/plain", 'C:\\fakepath\\say "hi".txt')
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == 'say "hi".txt'


def test_missing_file_field_is_422_naming_it(stack, shared):
    r = shared.api("POST", "/api/v1/upload/media",
                   files={"document": ("a.pdf", b"%PDF", "application/pdf")},
                   data={"type": "application/pdf"})
    assert r.status_code == 422, r.text
    assert error_code(r) == "invalid_field"
    assert r.json()["error"]["message"].startswith("file:")


@pytest.mark.parametrize("body,ctype", [
    (b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n"
     b"\r\nabc", "multipart/form-data; boundary=b"),          # truncated
    (b"just some bytes", "multipart/form-data; boundary=b"),  # no boundary
    (b"--bXYZ\r\n\r\n--b--", "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n--b--",
     "multipart/form-data; boundary=b"),                      # bad header
    (b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
     "multipart/form-data; boundary=b"),                      # no name
    (b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n"
     b"Content-Type: text/plain\r\n\r\nx\r\n--b\r\n"
     b"Content-Disposition: form-data; name=file; filename=b\r\n"
     b"Content-Type: text/plain\r\n\r\ny\r\n--b--",
     "multipart/form-data; boundary=b"),                      # two files
    (b"--b--", "multipart/form-data"),                        # no boundary=
    (b"--b--", 'multipart/form-data; boundary="b'),
])
def test_malformed_multipart_is_400(stack, shared, body, ctype):
    since = sim_seq(stack)
    r = raw_upload(shared, body, ctype)
    assert r.status_code == 400, r.text
    assert r.json()["ok"] is False
    assert sim_uploads(stack, since) == []


def test_a_body_that_is_not_multipart_is_415(stack, shared):
    r = shared.api("POST", "/api/v1/upload/media", json={"file": "x"})
    assert r.status_code == 415
    r = shared.api("POST", "/api/v1/upload/media")
    assert r.status_code == 415


def test_a_body_over_nginxs_limit_is_413_naming_the_limit(stack):
    # nginx answers from the Content-Length alone, before any body byte.
    with socket.create_connection(("127.0.0.1",
                                   int(stack.env["WA_HTTP_PORT"])), 10) as s:
        s.sendall(b"POST /api/v1/upload/media HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: %d\r\n\r\n" % (102 * MB))
        head = s.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413"), head
    assert "100 MB" in head and "application/json" in head


def test_upload_needs_a_tenant_token(stack, tenant, make_tenant):
    r = requests.post(stack.url("/api/v1/upload/media"),
                      files={"file": ("a.jpg", b"x", "image/jpeg")},
                      timeout=10)
    assert r.status_code == 401
    # nginx asks the responder before it reads (and spools) the body.
    r = tenant.api("POST", "/api/v1/upload/media",
                   headers={"X-Tenant-Id": make_tenant().id},
                   files={"file": ("a.jpg", b"x", "image/jpeg")})
    assert r.status_code == 403
    log = open(os.path.join(stack.run_dir, "log", "wa-fcgi-api.log")).read()
    assert "/_internal/media-upload-auth" in log


def test_meta_refusing_the_upload_records_nothing(stack, tenant):
    requests.post(stack.sim + "/_sim/fail", json={
        "path": "media", "http_status": 503, "times": 2}, timeout=5)
    try:
        r = upload(tenant, b"\xff\xd8" * 50)
    finally:
        requests.delete(stack.sim + "/_sim/fail", timeout=5)
    assert r.status_code == 502, r.text
    assert stack.query("SELECT 1 FROM media WHERE tenant_id = %s",
                       tenant.id) == []


# --- download ----------------------------------------------------------------

def test_download_streams_the_bytes_with_type_length_and_filename(stack,
                                                                  tenant):
    data = os.urandom(200 * KB + 7)
    name = 'na\u00efve "quote"; x.pdf'
    r = upload(tenant, data, "application/pdf", name)
    assert r.status_code == 200, r.text
    mid = r.json()["media_id"]
    d = tenant.api("GET", "/api/v1/media/" + mid)
    assert d.status_code == 200, d.text
    assert d.content == data
    assert d.headers["Content-Type"] == "application/pdf"
    assert d.headers["Content-Length"] == str(len(data))
    cd = d.headers["Content-Disposition"]
    assert cd.startswith('attachment; filename="na_ve _quote_; x.pdf"')
    enc = cd.split("filename*=UTF-8''", 1)[1]
    assert urllib.parse.unquote(enc) == name
    # HEAD: the same head, no body, nothing downloaded.
    h = tenant.api("HEAD", "/api/v1/media/" + mid)
    assert h.status_code == 200
    assert h.headers["Content-Length"] == str(len(data))


def test_download_retries_once_when_metas_url_fails(stack, tenant):
    data = os.urandom(5000)
    mid = upload(tenant, data, "image/png", "p.png").json()["media_id"]
    requests.post(stack.sim + "/_sim/fail", json={
        "path": "download", "http_status": 404, "times": 1}, timeout=5)
    try:
        d = tenant.api("GET", "/api/v1/media/" + mid)
    finally:
        requests.delete(stack.sim + "/_sim/fail", timeout=5)
    assert d.status_code == 200 and d.content == data
    wa_id = row(stack, mid)["wa_media_id"]
    log = requests.get(stack.sim + "/_sim/requests", timeout=5).json()
    lookups = [e for e in log if e["method"] == "GET" and
               e["path"].startswith("/v") and e["path"].endswith("/" + wa_id)]
    downloads = [e for e in log if e["path"] == "/media-download/" + wa_id]
    assert len(lookups) == 2       # a fresh URL for the second try
    assert [e["status"] for e in downloads] == [404, 200]
    assert all(e["headers"]["user-agent"].startswith("wa-backend/") and
               e["headers"]["authorization"] == "Bearer " +
               tenant.access_token for e in lookups + downloads)


def test_incoming_media_is_downloadable_by_its_whatsapp_id(stack, tenant):
    content = os.urandom(4096)
    r = requests.post(stack.sim + "/_sim/inbound", json={
        "phone_number_id": tenant.pnid, "from": "15557654321",
        "message": {"type": "document",
                    "document": {"filename": "invoice.pdf"}},
        "media_content_b64": base64.b64encode(content).decode(),
        "deliver": False}, timeout=10)
    assert r.status_code == 200, r.text
    wa_id = r.json()["body"]["entry"][0]["changes"][0]["value"][
        "messages"][0]["document"]["id"]
    # What the webhook stores for an incoming media message.
    stack.query("INSERT INTO media (tenant_id, wa_media_id, kind, filename,"
                " mime_type, direction) VALUES (%s, %s, 'document',"
                " 'invoice.pdf', 'application/pdf', 'in')"
                " ON CONFLICT DO NOTHING", tenant.id, wa_id)
    d = tenant.api("GET", "/api/v1/media/" + wa_id)
    assert d.status_code == 200, d.text
    assert d.content == content
    assert 'filename="invoice.pdf"' in d.headers["Content-Disposition"]


def test_incoming_media_known_only_from_its_message_is_downloadable(
        stack, tenant):
    content = os.urandom(3000)
    r = requests.post(stack.sim + "/_sim/inbound", json={
        "phone_number_id": tenant.pnid, "from": "15557654322",
        "message": {"type": "image"},
        "media_content_b64": base64.b64encode(content).decode(),
        "deliver": False}, timeout=10)
    wa_id = r.json()["body"]["entry"][0]["changes"][0]["value"][
        "messages"][0]["image"]["id"]
    # A message row carrying the media id, without a media row.
    (contact,) = stack.query(
        "INSERT INTO contacts (tenant_id, wa_id) VALUES (%s, '15557654322')"
        " RETURNING id", tenant.id)
    stack.query("INSERT INTO messages (tenant_id, contact_id, wamid,"
                " direction, type, media_id, media_mime, status)"
                " VALUES (%s, %s, %s, 'in', 'image', %s, 'image/jpeg',"
                " 'received')", tenant.id, contact["id"],
                "wamid.test" + secrets.token_hex(8), wa_id)
    d = tenant.api("GET", "/api/v1/media/" + wa_id)
    assert d.status_code == 200, d.text
    assert d.content == content
    assert d.headers["Content-Type"] == "image/jpeg"
    assert "filename=\"media-%s.jpg\"" % wa_id in \
        d.headers["Content-Disposition"]
    # Only our own records can be deleted.
    assert tenant.api("DELETE", "/api/v1/media/" + wa_id).status_code == 404


def test_other_tenants_and_unknown_media_are_404(stack, tenant, make_tenant):
    mid = upload(tenant, b"\xff\xd8" * 100).json()["media_id"]
    wa_id = row(stack, mid)["wa_media_id"]
    other = make_tenant()
    for key in (mid, wa_id):
        assert other.api("GET", "/api/v1/media/" + key).status_code == 404
        assert other.api("DELETE", "/api/v1/media/" + key).status_code == 404
    for key in ("00000000-0000-4000-8000-000000000000", "123456789",
                "..", "a%3Fb"):
        r = tenant.api("GET", "/api/v1/media/" + key)
        assert r.status_code == 404, key
        assert r.json()["ok"] is False
    # Still there for its owner, by either id.
    assert tenant.api("GET", "/api/v1/media/" + wa_id).status_code == 200


def test_media_expired_at_meta_is_410(stack, tenant):
    mid = upload(tenant, b"\xff\xd8" * 100).json()["media_id"]
    wa_id = row(stack, mid)["wa_media_id"]
    r = requests.post(stack.sim + "/_sim/expire_media", json={"id": wa_id},
                      timeout=5)
    assert r.status_code == 200, r.text
    d = tenant.api("GET", "/api/v1/media/" + mid)
    assert d.status_code == 410, d.text
    assert error_code(d) == "media_gone"
    assert "no longer available" in d.json()["error"]["message"]
    # Deleting it still clears our record.
    assert tenant.api("DELETE", "/api/v1/media/" + mid).status_code == 204
    assert row(stack, mid) is None


# --- delete ------------------------------------------------------------------

def test_delete_removes_it_at_meta_and_here_then_404(stack, tenant):
    mid = upload(tenant, b"\x89PNG" * 10, "image/png", "a.png").json()[
        "media_id"]
    wa_id = row(stack, mid)["wa_media_id"]
    r = tenant.api("DELETE", "/api/v1/media/" + mid)
    assert r.status_code == 204 and r.content == b""
    assert row(stack, mid) is None
    sim = {m["id"]: m for m in requests.get(stack.sim + "/_sim/media",
                                            timeout=5).json()}
    assert sim[wa_id]["gone"] is True
    assert tenant.api("DELETE", "/api/v1/media/" + mid).status_code == 404
    assert tenant.api("GET", "/api/v1/media/" + mid).status_code == 404


# --- 100 MB, in constant memory ----------------------------------------------

def api_pids(stack):
    with open(os.path.join(stack.run_dir, "run", "fcgi-api.pid")) as f:
        return [int(p) for p in f.read().split()]


def proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def reset_peaks(pids):
    """Resets VmHWM to the current RSS where the kernel lets us; returns
    the baseline per pid (VmHWM when it could not be reset)."""
    base = {}
    for pid in pids:
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            base[pid] = proc_kb(pid, "VmRSS")
        except OSError:
            base[pid] = proc_kb(pid, "VmHWM")
    return base


def test_a_100_mb_document_streams_up_and_down_in_constant_memory(
        stack, tenant, tmp_path):
    size = 100 * MB
    block = os.urandom(MB)
    sha = hashlib.sha256()
    boundary = "----media" + secrets.token_hex(8)
    path = tmp_path / "body"
    with open(path, "wb") as f:
        f.write(b"--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                b"filename=\"big.pdf\"\r\nContent-Type: application/pdf"
                b"\r\n\r\n" % boundary.encode())
        for i in range(size // MB):
            chunk = i.to_bytes(4, "big") + block[4:]
            sha.update(chunk)
            f.write(chunk)
        f.write(b"\r\n--%s--\r\n" % boundary.encode())
    pids = api_pids(stack)
    base = reset_peaks(pids)

    t0 = time.monotonic()
    with open(path, "rb") as f:
        r = tenant.api("POST", "/api/v1/upload/media", data=f, timeout=300,
                       headers={"Content-Type": "multipart/form-data; "
                                "boundary=" + boundary})
    up_s = time.monotonic() - t0
    assert r.status_code == 200, r.text
    mid = r.json()["media_id"]
    rec = row(stack, mid)
    assert rec["size"] == size and rec["sha256"] == sha.hexdigest()

    t0 = time.monotonic()
    got = hashlib.sha256()
    n = 0
    with tenant.api("GET", "/api/v1/media/" + mid, stream=True,
                    timeout=300) as d:
        assert d.status_code == 200, d.text
        assert d.headers["Content-Length"] == str(size)
        for chunk in d.iter_content(MB):
            got.update(chunk)
            n += len(chunk)
    down_s = time.monotonic() - t0
    assert n == size and got.hexdigest() == sha.hexdigest()

    # A client leaving mid-download stops the transfer; nothing breaks.
    with tenant.api("GET", "/api/v1/media/" + mid, stream=True,
                    timeout=60) as d:
        assert d.status_code == 200
        next(d.iter_content(MB))
    assert tenant.api("HEAD", "/api/v1/media/" + mid).status_code == 200

    growth = max(proc_kb(p, "VmHWM") - base[p] for p in pids)
    print("\n100 MB: upload %.2fs (%.0f MB/s), download %.2fs (%.0f MB/s), "
          "responder peak RSS growth %d KB"
          % (up_s, 100 / up_s, down_s, 100 / down_s, growth))
    assert growth < 8 * 1024, "responder grew by %d KB" % growth

    # One byte more than WhatsApp's 100 MB is refused before Meta sees it.
    since = sim_seq(stack)
    with open(path, "r+b") as f:
        f.seek(-len(b"\r\n--%s--\r\n" % boundary.encode()), os.SEEK_END)
        f.write(b"+\r\n--%s--\r\n" % boundary.encode())
    with open(path, "rb") as f:
        r = tenant.api("POST", "/api/v1/upload/media", data=f, timeout=300,
                       headers={"Content-Type": "multipart/form-data; "
                                "boundary=" + boundary})
    assert r.status_code == 413, r.text
    assert "100 MB" in r.json()["error"]["message"]
    assert sim_uploads(stack, since) == []
