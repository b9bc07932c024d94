"""Rules for type=interactive sends (reference §2.3.8, §2.3.11-2.3.16 and
the header/body/footer matrix of §2.4)."""
from checks import (at, is_obj, is_str, keys, need, need_list,
                    need_obj, need_str, need_url, opt_str, unique)
from errors import bad_param, invalid, missing
from payloads import media_ref

P = "interactive"
HEADER_TYPES = ("text", "image", "video", "document")
ANY_HEADER = set(HEADER_TYPES)
TEXT_HEADER = {"text"}

# interactive.type -> (header kinds or None = not allowed, header required,
#        body max length, body required, footer allowed)
RULES = {
    "button": (ANY_HEADER, False, 1024, True, True),
    "cta_url": (ANY_HEADER, False, 1024, True, True),
    "list": (TEXT_HEADER, False, 4096, True, True),
    "location_request_message": (None, False, 1024, True, False),
    "catalog_message": (None, False, 1024, True, True),
    "product": (None, False, 1024, False, True),
    "product_list": (TEXT_HEADER, True, 1024, True, True),
    "flow": (TEXT_HEADER, False, 1024, True, True),
}


def check_interactive(inter, ctx):
    is_obj(inter, P)
    keys(inter, {"type", "header", "body", "footer", "action"}, P)
    itype = is_str(need(inter, "type", P), at(P, "type"))
    if itype not in RULES:
        raise bad_param(at(P, "type"), "must be one of %s."
                        % ", ".join(RULES))
    kinds, header_req, body_max, body_req, footer_ok = RULES[itype]
    _header(inter, itype, kinds, header_req, ctx)
    _text_part(inter, "body", itype, body_max, body_req, True)
    _text_part(inter, "footer", itype, 60, False, footer_ok)
    action = need_obj(inter, "action", P)
    ACTIONS[itype](action, at(P, "action"))


def _not_allowed(path, itype):
    return bad_param(path, "is not allowed for %s messages." % itype)


def _header(inter, itype, kinds, required, ctx):
    p = at(P, "header")
    if inter.get("header") is None:
        if required:
            raise missing(p)
        return
    if kinds is None:
        raise _not_allowed(p, itype)
    h = is_obj(inter["header"], p)
    keys(h, {"type", "sub_text", *HEADER_TYPES}, p)
    htype = is_str(need(h, "type", p), at(p, "type"))
    if htype not in HEADER_TYPES:
        raise bad_param(at(p, "type"), "must be one of %s."
                        % ", ".join(HEADER_TYPES))
    if htype not in kinds:
        raise invalid(at(p, "type"), "'%s' is not allowed for %s messages: "
                      "only a text header is." % (htype, itype))
    if htype == "text":
        need_str(h, "text", p, 60)
    else:
        allowed = {"id", "link", "filename"} if htype == "document" else \
            {"id", "link"}
        media_ref(need_obj(h, htype, p), at(p, htype), htype, ctx, allowed)
    opt_str(h, "sub_text", p, 60)


def _text_part(inter, part, itype, hi, required, allowed):
    p = at(P, part)
    if inter.get(part) is None:
        if required:
            raise missing(p)
        return
    if not allowed:
        raise _not_allowed(p, itype)
    obj = is_obj(inter[part], p)
    keys(obj, {"text"}, p)
    need_str(obj, "text", p, hi)


def _name(action, p, expected):
    name = need_str(action, "name", p)
    if name != expected:
        raise invalid(at(p, "name"), "must be '%s'." % expected)


def _buttons(action, p):
    keys(action, {"buttons"}, p)
    bl = at(p, "buttons")
    ids, titles = [], []
    for i, b in enumerate(need_list(action, "buttons", p, 1, 3)):
        bp = at(bl, i)
        is_obj(b, bp)
        keys(b, {"type", "reply"}, bp)
        if need_str(b, "type", bp) != "reply":
            raise invalid(at(bp, "type"), "must be 'reply'.")
        rp = at(bp, "reply")
        reply = need_obj(b, "reply", bp)
        keys(reply, {"id", "title"}, rp)
        rid = need_str(reply, "id", rp, 256)
        if rid != rid.strip():
            raise invalid(at(rp, "id"), "must not have leading or trailing "
                          "spaces.")
        ids.append((at(rp, "id"), rid))
        titles.append((at(rp, "title"), need_str(reply, "title", rp, 20)))
    unique(ids, "button id")
    unique(titles, "button title")


def _cta_url(action, p):
    keys(action, {"name", "parameters"}, p)
    _name(action, p, "cta_url")
    pp = at(p, "parameters")
    params = need_obj(action, "parameters", p)
    keys(params, {"display_text", "url"}, pp)
    need_str(params, "display_text", pp, 20)
    need_url(params, "url", pp)


def _list(action, p):
    keys(action, {"button", "sections"}, p)
    need_str(action, "button", p, 20)
    sl = at(p, "sections")
    rows_seen = []
    for i, s in enumerate(need_list(action, "sections", p, 1, 10)):
        sp = at(sl, i)
        is_obj(s, sp)
        keys(s, {"title", "rows"}, sp)
        need_str(s, "title", sp, 24)
        rl = at(sp, "rows")
        for j, r in enumerate(need_list(s, "rows", sp, 1)):
            rp = at(rl, j)
            if len(rows_seen) == 10:
                raise invalid(rp, "is too many: at most 10 rows in total are "
                              "allowed across %s." % sl)
            _row(r, rp, rows_seen)
    unique(rows_seen, "row id")


def _row(r, rp, rows_seen):
    is_obj(r, rp)
    keys(r, {"id", "title", "description"}, rp)
    rows_seen.append((at(rp, "id"), need_str(r, "id", rp, 200)))
    need_str(r, "title", rp, 24)
    opt_str(r, "description", rp, 72)


def _location_request(action, p):
    keys(action, {"name"}, p)
    _name(action, p, "send_location")


def _catalog(action, p):
    keys(action, {"name", "parameters"}, p)
    _name(action, p, "catalog_message")
    if action.get("parameters") is not None:
        pp = at(p, "parameters")
        params = is_obj(action["parameters"], pp)
        keys(params, {"thumbnail_product_retailer_id"}, pp)
        opt_str(params, "thumbnail_product_retailer_id", pp)


def _product(action, p):
    keys(action, {"catalog_id", "product_retailer_id"}, p)
    need_str(action, "catalog_id", p)
    need_str(action, "product_retailer_id", p)


def _product_list(action, p):
    keys(action, {"catalog_id", "sections"}, p)
    need_str(action, "catalog_id", p)
    sl = at(p, "sections")
    sections = need_list(action, "sections", p, 1, 10)
    total = 0
    for i, s in enumerate(sections):
        sp = at(sl, i)
        is_obj(s, sp)
        keys(s, {"title", "product_items"}, sp)
        if len(sections) > 1:
            need_str(s, "title", sp, 24)
        else:
            opt_str(s, "title", sp, 24)
        il = at(sp, "product_items")
        for j, item in enumerate(need_list(s, "product_items", sp, 1)):
            ip = at(il, j)
            if total == 30:
                raise invalid(ip, "is too many: at most 30 products in total "
                              "are allowed across %s." % sl)
            is_obj(item, ip)
            keys(item, {"product_retailer_id"}, ip)
            need_str(item, "product_retailer_id", ip)
            total += 1


FLOW_KEYS = {"mode", "flow_message_version", "flow_token", "flow_id",
             "flow_name", "flow_cta", "flow_action", "flow_action_payload"}


def _flow(action, p):
    keys(action, {"name", "parameters"}, p)
    _name(action, p, "flow")
    pp = at(p, "parameters")
    params = need_obj(action, "parameters", p)
    keys(params, FLOW_KEYS, pp)
    need_str(params, "flow_message_version", pp)
    need_str(params, "flow_cta", pp, 30)
    if params.get("flow_id") is None and params.get("flow_name") is None:
        raise missing("%s or %s" % (at(pp, "flow_id"), at(pp, "flow_name")))


ACTIONS = {
    "button": _buttons,
    "cta_url": _cta_url,
    "list": _list,
    "location_request_message": _location_request,
    "catalog_message": _catalog,
    "product": _product,
    "product_list": _product_list,
    "flow": _flow,
}

assert set(ACTIONS) == set(RULES)
