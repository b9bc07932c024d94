"""Rules for type=template sends (reference §2.3.17).

The simulator knows no approved templates, so any name is accepted; only
the request structure is checked. Component types and button sub_types
are compared case-insensitively (pywa sends them upper-case)."""
import re

from checks import (at, is_list, is_obj, is_str, keys, length, need,
                    need_obj, need_str, opt_str, unique)
from errors import bad_param, invalid
from payloads import media_ref

P = "template"
COMPONENTS = ("header", "body", "button", "carousel", "limited_time_offer")
SUB_TYPES = ("quick_reply", "url", "copy_code", "flow", "catalog", "mpm",
             "voice_call", "order_details", "reminder")
PARAM_TYPES = ("text", "currency", "date_time", "image", "video", "document",
               "location", "payload", "action", "coupon_code",
               "limited_time_offer", "order_status", "product")
_LANG = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


def check_template(t, ctx):
    is_obj(t, P)
    keys(t, {"name", "language", "components", "namespace"}, P)
    need_str(t, "name", P, 512)
    lp = at(P, "language")
    lang = need_obj(t, "language", P)
    keys(lang, {"code", "policy"}, lp)
    if not _LANG.match(need_str(lang, "code", lp)):
        raise invalid(at(lp, "code"), "must be a language code such as en "
                      "or en_US.")
    if opt_str(lang, "policy", lp) not in (None, "deterministic"):
        raise invalid(at(lp, "policy"), "must be 'deterministic'.")
    if t.get("components") is None:
        return
    cp = at(P, "components")
    comps = is_list(t["components"], cp)
    kinds = [str(c.get("type", "")).lower() for c in comps
             if isinstance(c, dict)]
    body_only = kinds == ["body"]
    indexes = []
    for i, c in enumerate(comps):
        _component(c, at(cp, i), body_only, ctx, indexes)
    unique(indexes, "button index")


def _component(c, p, body_only, ctx, indexes):
    is_obj(c, p)
    keys(c, {"type", "sub_type", "index", "parameters", "cards"}, p)
    ctype = is_str(need(c, "type", p), at(p, "type")).lower()
    if ctype not in COMPONENTS:
        raise bad_param(at(p, "type"), "must be one of %s."
                        % ", ".join(COMPONENTS))
    if ctype == "button":
        indexes.append((at(p, "index"), _button(c, p)))
    else:
        for k in ("sub_type", "index"):
            if k in c:
                raise bad_param(at(p, k), "is only allowed on button "
                                "components.")
    if c.get("parameters") is not None:
        pl = at(p, "parameters")
        for j, prm in enumerate(is_list(c["parameters"], pl)):
            _param(prm, at(pl, j), ctype, body_only, ctx)


def _button(c, p):
    sub = is_str(need(c, "sub_type", p), at(p, "sub_type"))
    if sub.lower() not in SUB_TYPES:
        raise invalid(at(p, "sub_type"), "must be one of %s."
                      % ", ".join(SUB_TYPES))
    ip = at(p, "index")
    index = need(c, "index", p)
    if isinstance(index, bool) or not isinstance(index, (int, str)):
        raise bad_param(ip, "must be an integer or a string of digits.")
    if isinstance(index, str):
        if not index.isascii() or not index.isdigit():
            raise invalid(ip, "must be a number from 0 to 9.")
        index = int(index)
    if not 0 <= index <= 9:
        raise invalid(ip, "must be a number from 0 to 9.")
    return index


def _text_limit(ctype, body_only):
    if ctype == "header":
        return 60
    if ctype == "body":
        return 32768 if body_only else 1024
    return None


def _param(prm, p, ctype, body_only, ctx):
    is_obj(prm, p)
    ptype = is_str(need(prm, "type", p), at(p, "type"))
    if ptype not in PARAM_TYPES:
        raise bad_param(at(p, "type"), "must be one of %s."
                        % ", ".join(PARAM_TYPES))
    keys(prm, {"type", ptype, "parameter_name"}, p)
    vp = at(p, ptype)
    value = need(prm, ptype, p)
    if ptype in ("text", "payload", "coupon_code"):
        limit = _text_limit(ctype, body_only) if ptype == "text" else None
        s = is_str(value, vp)
        if limit:
            length(s, vp, limit)
    elif ptype in ("image", "video", "document"):
        extra = {"filename"} if ptype == "document" else set()
        media_ref(is_obj(value, vp), vp, ptype, ctx, {"id", "link"} | extra)
    elif ptype == "currency":
        cur = is_obj(value, vp)
        need_str(cur, "fallback_value", vp)
        need_str(cur, "code", vp)
        amount = need(cur, "amount_1000", vp)
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise bad_param(at(vp, "amount_1000"), "must be an integer.")
    elif ptype == "date_time":
        need_str(is_obj(value, vp), "fallback_value", vp)
    else:
        is_obj(value, vp)
