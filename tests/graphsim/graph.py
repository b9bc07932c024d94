"""The Graph API endpoints: /v{N}.0/{pnid}/messages, /v{N}.0/{pnid}/media,
GET|DELETE /v{N}.0/{id}, and the media download URL."""
import re
import time

import media
import multipart
from errors import (GraphError, bad_param, missing, no_object,
                    param_message_error, token_error, unknown_path)
from events import new_wamid
from http_io import Response, json_response
from state import SentMessage, digits_of, fault_error
from validate import check_send

VERSIONED = re.compile(r"^/v(\d+)\.(\d+)(/.*)?$")


def handle(req, sim):
    m = VERSIONED.match(req.path)
    if not m:
        raise unknown_path(req.path)
    version, rest = int(m.group(1)), m.group(3) or "/"
    if m.group(2) != "0" or version < sim.version_min:
        raise GraphError(100, message="Unsupported API version v%s.%s: "
                         "this server answers v%d.0 and later."
                         % (m.group(1), m.group(2), sim.version_min),
                         etype="GraphMethodException", whatsapp=False)
    req.version = version
    segs = [s for s in rest.split("/") if s]
    if len(segs) == 2 and segs[1] in EDGES:
        if req.method != "POST":
            raise no_object(req.method, segs[0])
        return EDGES[segs[1]](req, sim, segs[0])
    if len(segs) == 1 and req.method in NODE:
        return NODE[req.method](req, sim, segs[0])
    if len(segs) == 1:
        raise no_object(req.method, segs[0])
    raise unknown_path("/" + "/".join(segs[1:]) if segs else rest)


# --- shared steps ------------------------------------------------------------

def apply_fault(req, sim, category, wa_id=None):
    """An injected sync fault: sleep delay_ms, then fail if it says so."""
    rule = sim.faults.take(category, "sync", wa_id)
    if rule is None:
        return
    if rule.get("delay_ms"):
        time.sleep(int(rule["delay_ms"]) / 1000.0)
    err = fault_error(rule)
    if err is not None:
        raise err


def checked_token(req, sim):
    tok = req.token()
    if not tok:
        raise token_error(missing_token=True)
    if not sim.token_known(tok):
        raise token_error()
    return tok


def auth_number(req, sim, pnid):
    """The business number pnid, if the request's token is valid for it."""
    tok = checked_token(req, sim)
    number = sim.number(pnid)
    if number is None:
        raise no_object(req.method, pnid)
    if number.token != tok:
        raise token_error()
    return number


# --- POST /{pnid}/messages ---------------------------------------------------

def post_messages(req, sim, pnid):
    req.read_json()
    to = req.json.get("to") if isinstance(req.json, dict) else None
    apply_fault(req, sim, "messages", digits_of(str(to)) if to else None)
    number = auth_number(req, sim, pnid)
    if req.json_error:
        raise GraphError(100, "The request body is not valid JSON: %s"
                         % req.json_error)
    send = check_send(req.json, number, sim.media_for_send)
    if send.kind == "read":
        return json_response(200, {"success": True})
    if not sim.rate_take(pnid):
        raise GraphError(130429)
    return accept(req, sim, number, send)


def accept(req, sim, number, send):
    rec = send.recipient
    wamid = new_wamid(rec.get("wa_id") or rec.get("user_id") or
                      rec.get("group_id"))
    msg = SentMessage(wamid, number, send, req.version)
    sim.remember(msg)
    schedule_statuses(sim, msg, send)
    contact = {"input": rec["input"]}
    for k in ("wa_id", "user_id"):
        if k in rec:
            contact[k] = rec[k]
    sent = {"id": wamid}
    if send.type == "template":
        sent["message_status"] = "accepted"
    if "group_id" in rec:
        sent["group_id"] = rec["group_id"]
    return json_response(200, {"messaging_product": "whatsapp",
                               "contacts": [contact], "messages": [sent]})


def schedule_statuses(sim, msg, send):
    cfg = sim.get_config()
    wa_id = msg.recipient.get("wa_id")
    rule = sim.faults.take("messages", "async", wa_id)
    error = (rule["code"], rule.get("details")) if rule else send.async_error
    if error is None and cfg["enforce_window"] and send.type != "template" \
            and not sim.in_window(msg.number.pnid, wa_id):
        error = (131047, None)
    if error is not None:
        steps = ["failed"]
    elif not cfg["auto_status"]:
        return
    elif send.type == "reaction":
        steps = ["sent"]
    else:
        steps = list(cfg["statuses"])
        if send.voice and "read" in steps:
            steps.append("played")
    sim.emitter.lifecycle(msg, steps, cfg["status_delay_ms"] / 1000.0, error)


# --- POST /{pnid}/media ------------------------------------------------------

def post_media(req, sim, pnid):
    apply_fault(req, sim, "media")
    number = auth_number(req, sim, pnid)
    boundary = multipart.boundary_of(req.headers.get("content-type"))
    if boundary is None:
        raise GraphError(131008, "The parameter file is required: send the "
                         "upload as multipart/form-data.")
    form = multipart.parse(req.body.read, boundary, sim.media.spool_path,
                           media.MAX_UPLOAD)
    try:
        req.form = dict(form.fields)
        for name, fp in form.files.items():
            req.form[name] = fp.meta()
        return store_upload(req, sim, number, form)
    finally:
        form.cleanup()


def store_upload(req, sim, number, form):
    if not form.complete:
        raise GraphError(100, "The multipart/form-data body is malformed "
                         "or truncated.")
    f = form.files.get("file")
    if f is None:
        raise missing("file")
    mp = form.fields.get("messaging_product") or \
        req.query.get("messaging_product")
    if not mp:
        raise missing("messaging_product")
    if mp != "whatsapp":
        raise bad_param("messaging_product", "must be 'whatsapp'.")
    mime = (form.fields.get("type") or "").strip()
    if not mime:
        raise missing("type")
    limit = media.limit_of(mime)
    if limit is None:
        raise GraphError(131053, "Param type: %s is not a supported media "
                         "type." % mime)
    if f.size > limit[0]:
        raise GraphError(131053, "Param file is too big: %d bytes. The "
                         "maximum size for %s is %s."
                         % (f.size, media.base_mime(mime), limit[1]))
    if f.size == 0:
        raise GraphError(131053, "Param file is empty.")
    m = sim.media.add_file(number.pnid, f.path, mime, f.size,
                           f.hash.digest(), f.filename)
    return json_response(200, {"id": m.id})


# --- GET / DELETE /{id} ------------------------------------------------------

def media_access(req, sim, m, tok):
    owner = sim.number(m.pnid)
    if owner is None or owner.token != tok:
        raise token_error()
    pn = req.query.get("phone_number_id")
    # Media a user sent has no "uploaded on" number: Meta refuses any
    # phone_number_id for it (chatwoot#13317).
    if pn is not None and (m.source == "inbound" or pn != m.pnid):
        raise param_message_error("phone_number_id", "is not a valid "
                                  "whatsapp business phone number id ID")


def get_node(req, sim, obj_id):
    apply_fault(req, sim, "media_get")
    tok = checked_token(req, sim)
    number = sim.number(obj_id)
    if number is not None:
        if number.token != tok:
            raise token_error()
        return json_response(200, phone_number_info(number))
    m = sim.media.get(obj_id)
    if m is None:
        raise no_object("GET", obj_id)
    media_access(req, sim, m, tok)
    return json_response(200, {"messaging_product": "whatsapp",
                               "url": sim.download_url(m),
                               "mime_type": m.mime, "sha256": m.sha256_hex,
                               "file_size": m.size, "id": m.id})


def phone_number_info(number):
    return {"verified_name": "Graphsim %s" % number.pnid,
            "code_verification_status": "VERIFIED",
            "display_phone_number": number.display,
            "quality_rating": "GREEN", "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"}, "id": number.pnid}


def delete_node(req, sim, obj_id):
    apply_fault(req, sim, "media_delete")
    tok = checked_token(req, sim)
    m = sim.media.get(obj_id)
    if m is None:
        raise no_object("DELETE", obj_id)
    media_access(req, sim, m, tok)
    sim.media.drop(m.id)
    return json_response(200, {"success": True})


# --- GET /media-download/{id} ------------------------------------------------

def download(req, sim, mid):
    apply_fault(req, sim, "download")
    if req.method != "GET":
        return Response(404, b"Not Found", "text/plain")
    m = sim.media.get(mid)
    owner = sim.number(m.pnid) if m is not None else None
    if owner is None or req.bearer() != owner.token or \
            not sim.media.url_valid(m, req.query.get("token")):
        return Response(404, b"Not Found", "text/plain")
    return Response(200, ctype=m.mime, file=(m.path, m.size))


EDGES = {"messages": post_messages, "media": post_media}
NODE = {"GET": get_node, "DELETE": delete_node}
