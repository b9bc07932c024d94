"""Rules for the plain message types: text, media, location, contacts,
reaction (reference §2.3.1-2.3.10)."""
import math
import re
import unicodedata

from checks import (at, count, is_list, is_obj, is_str, keys, need,
                    need_obj, need_str, opt_bool, opt_str, URL_RE)
from errors import bad_param, invalid, missing, param_message_error
import media

CAPTION_MAX = 1024
MEDIA_KEYS = {
    "image": {"id", "link", "caption"},
    "video": {"id", "link", "caption"},
    "document": {"id", "link", "caption", "filename"},
    "audio": {"id", "link", "voice"},
    "sticker": {"id", "link"},
}


def check_text(text, ctx):
    p = "text"
    is_obj(text, p)
    keys(text, {"body", "preview_url"}, p)
    need_str(text, "body", p, 4096)
    opt_bool(text, "preview_url", p)


def media_ref(obj, path, kind, ctx, allowed):
    """An {id|link} media object: exactly one of them; an id must be media
    uploaded to this simulator for the sending number."""
    keys(obj, allowed, path)
    has_id = obj.get("id") not in (None, "")
    has_link = obj.get("link") not in (None, "")
    if not has_id and not has_link:
        raise missing("%s or %s" % (at(path, "id"), at(path, "link")))
    if has_id and has_link:
        raise invalid(path, "must have either id or link, not both.")
    if has_link:
        link = is_str(obj["link"], at(path, "link"))
        if not URL_RE.match(link):
            raise param_message_error(at(path, "link"), "is not a valid URI.")
        return
    mid = obj["id"]
    if isinstance(mid, int) and not isinstance(mid, bool):
        mid = str(mid)
    is_str(mid, at(path, "id"))
    m = ctx.media(mid)
    if m is None:
        raise param_message_error(at(path, "id"), "is not a valid whatsapp "
                                  "business account media attachment ID")
    if not media.kind_accepts(kind, m.mime):
        ctx.fail_async(131053, "Media %s has MIME type %s, which cannot be "
                       "sent as %s." % (mid, m.mime, kind))


def check_media(kind):
    def check(obj, ctx):
        is_obj(obj, kind)
        media_ref(obj, kind, kind, ctx, MEDIA_KEYS[kind])
        opt_str(obj, "caption", kind, CAPTION_MAX)
        opt_str(obj, "filename", kind, 240)
        if opt_bool(obj, "voice", kind):
            ctx.voice = True
    return check


def _coord(obj, key, path, limit):
    p = at(path, key)
    v = need(obj, key, path)
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise bad_param(p, "must be a number.")
    try:
        f = float(v)
    except ValueError:
        raise bad_param(p, "must be a number.") from None
    if not math.isfinite(f) or abs(f) > limit:
        raise invalid(p, "must be between -%d and %d." % (limit, limit))


def check_location(loc, ctx):
    p = "location"
    is_obj(loc, p)
    keys(loc, {"latitude", "longitude", "name", "address"}, p)
    _coord(loc, "latitude", p, 90)
    _coord(loc, "longitude", p, 180)
    opt_str(loc, "name", p, 1000)
    opt_str(loc, "address", p, 1000)


CONTACT_KEYS = {"name", "birthday", "phones", "emails", "urls", "addresses",
                "org"}
NAME_KEYS = {"formatted_name", "first_name", "last_name", "middle_name",
             "suffix", "prefix"}
LIST_KEYS = {
    "phones": {"phone", "type", "wa_id"},
    "emails": {"email", "type"},
    "urls": {"url", "type"},
    "addresses": {"street", "city", "state", "zip", "country",
                  "country_code", "type"},
}
_BIRTHDAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _strings(obj, allowed, path):
    is_obj(obj, path)
    keys(obj, allowed, path)
    for k in obj:
        opt_str(obj, k, path)


def _contact(c, p):
    is_obj(c, p)
    keys(c, CONTACT_KEYS, p)
    name = need_obj(c, "name", p)
    _strings(name, NAME_KEYS, at(p, "name"))
    need_str(name, "formatted_name", at(p, "name"))
    bday = opt_str(c, "birthday", p)
    if bday is not None and not _BIRTHDAY.match(bday):
        raise invalid(at(p, "birthday"), "must be formatted as YYYY-MM-DD.")
    for lk, allowed in LIST_KEYS.items():
        if lk in c:
            lp = at(p, lk)
            for i, item in enumerate(is_list(c[lk], lp)):
                _strings(item, allowed, at(lp, i))
    if "org" in c:
        _strings(c["org"], {"company", "department", "title"}, at(p, "org"))


def check_contacts(cards, ctx):
    p = "contacts"
    is_list(cards, p)
    count(cards, p, 1, 257)
    for i, c in enumerate(cards):
        _contact(c, at(p, i))


_MODIFIERS = (0xFE0E, 0xFE0F, 0x20E3)


def single_emoji(s):
    """One emoji: a base symbol plus modifiers, ZWJ sequences, one flag
    (two regional indicators) or one keycap."""
    if not s or len(s) > 16:
        return False
    if s[0] in "0123456789#*" and s[-1] == "\u20e3" and len(s) <= 3:
        return True
    bases, flags, after_zwj = 0, 0, False
    for ch in s:
        c = ord(ch)
        if c in _MODIFIERS or 0x1F3FB <= c <= 0x1F3FF or \
                0xE0020 <= c <= 0xE007F:
            continue
        if c == 0x200D:
            after_zwj = True
            continue
        if 0x1F1E6 <= c <= 0x1F1FF:
            flags += 1
            bases += flags % 2
        elif c < 0x80 or unicodedata.category(ch) not in ("So", "Sk", "Sm"):
            return False
        elif not after_zwj:
            bases += 1
        after_zwj = False
    return bases == 1


def check_reaction(r, ctx):
    p = "reaction"
    is_obj(r, p)
    keys(r, {"message_id", "emoji"}, p)
    mid = need_str(r, "message_id", p)
    if r.get("emoji") is None:
        raise missing(at(p, "emoji"))
    emoji = is_str(r["emoji"], at(p, "emoji"))
    if emoji and not single_emoji(emoji):
        raise invalid(at(p, "emoji"), "must be a single emoji, or \"\" to "
                      "remove a reaction.")
    if not mid.startswith("wamid."):
        ctx.fail_async(131009, "Message %s to react to does not exist, is "
                       "older than 30 days, was deleted or is itself a "
                       "reaction." % mid)
