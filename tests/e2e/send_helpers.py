"""Helpers shared by the messaging tests (test_send*.py, test_messages.py)."""
import requests

PHONE = "919876543210"


def sim_requests(tenant, since=0):
    """Graph requests the simulator recorded for this tenant's messages."""
    r = requests.get(tenant.stack.sim + "/_sim/requests", timeout=5,
                     params={"path_contains": tenant.pnid + "/messages",
                             "since": since})
    return r.json()


def only_graph_json(tenant):
    reqs = sim_requests(tenant)
    assert len(reqs) == 1, reqs
    return reqs[0]["json"]


def open_window(tenant, phone=PHONE, hours_ago=1.0, name="Asha"):
    """The contact wrote hours_ago: the 24-hour window is open (or not)."""
    tenant.stack.query(
        "INSERT INTO contacts (tenant_id, wa_id, name, last_inbound_at)"
        " VALUES (%s, %s, %s, now() - make_interval(secs => %s))"
        " ON CONFLICT (tenant_id, wa_id) WHERE wa_id IS NOT NULL"
        " DO UPDATE SET last_inbound_at = EXCLUDED.last_inbound_at",
        tenant.id, phone, name, hours_ago * 3600)


def incoming(tenant, wamid, phone=PHONE, text="hi"):
    """An incoming message row, as webhook ingestion stores one."""
    open_window(tenant, phone)
    return tenant.stack.query(
        "INSERT INTO messages (tenant_id, contact_id, wamid, direction, type,"
        " text, status) SELECT %s, id, %s, 'in', 'text', %s, 'received'"
        " FROM contacts WHERE tenant_id = %s AND wa_id = %s RETURNING id",
        tenant.id, wamid, text, tenant.id, phone)[0]["id"]


def upload_to_sim(tenant, mime, data, filename):
    """Uploads bytes to the simulator as the tenant's number: Meta's id."""
    s = tenant.stack
    r = requests.post("%s/%s/%s/media" % (s.sim, s.env["WA_GRAPH_VERSION"],
                                          tenant.pnid),
                      headers={"Authorization": "Bearer " +
                               tenant.access_token},
                      data={"messaging_product": "whatsapp", "type": mime},
                      files={"file": (filename, data, mime)}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["id"]


MEDIA_BYTES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64,
    "image/webp": b"RIFF\x00\x10\x00\x00WEBPVP8 " + b"\x00" * 64,
    "audio/ogg": b"OggS\x00\x02" + b"\x00" * 64,
    "audio/mpeg": b"ID3\x03" + b"\x00" * 64,
    "video/mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
    "application/pdf": b"%PDF-1.4\n" + b"\x00" * 64,
}


def media_row(tenant, kind, mime, filename="file.bin"):
    """A media row of the tenant (as /upload/media stores one), backed by
    media the simulator knows: (our uuid, Meta's id)."""
    wa_id = upload_to_sim(tenant, mime, MEDIA_BYTES[mime.split(";")[0]],
                          filename)
    row = tenant.stack.query(
        "INSERT INTO media (tenant_id, wa_media_id, kind, filename,"
        " mime_type) VALUES (%s, %s, %s, %s, %s) RETURNING id::text",
        tenant.id, wa_id, kind, filename, mime)[0]
    return row["id"], wa_id


def sim_fail(stack, **rule):
    r = requests.post(stack.sim + "/_sim/fail", json=rule, timeout=5)
    assert r.status_code == 200, r.text


def sim_clear_faults(stack):
    requests.delete(stack.sim + "/_sim/fail", timeout=5)


def out_message(tenant, wamid):
    rows = tenant.stack.query(
        "SELECT m.*, c.wa_id FROM messages m JOIN contacts c"
        " ON c.id = m.contact_id WHERE m.tenant_id = %s AND m.wamid = %s",
        tenant.id, wamid)
    return rows[0] if rows else None
