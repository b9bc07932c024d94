"""Small field checks shared by the payload validators.

Paths are spelled the way Meta names parameters in its error details:
interactive['action']['buttons'][3]['reply']['title'].
"""
import re

from errors import bad_param, invalid, missing

URL_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.I)


def at(path, key):
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    return "%s['%s']" % (path, key) if path else key


def keys(obj, allowed, path, why="is not allowed"):
    """Unknown fields are code 100, as Graph's schema check answers."""
    for k in obj:
        if k not in allowed:
            raise bad_param(at(path, k), why)


def need(obj, key, path):
    """A required key: absent, null or "" is 131008 (an empty array is
    present but out of range: 131009, see count())."""
    v = obj.get(key)
    if v is None or (isinstance(v, str) and v == ""):
        raise missing(at(path, key))
    return v


def is_obj(v, path):
    if not isinstance(v, dict):
        raise bad_param(path, "must be an object.")
    return v


def is_list(v, path):
    if not isinstance(v, list):
        raise bad_param(path, "must be an array.")
    return v


def is_str(v, path):
    if not isinstance(v, str):
        raise bad_param(path, "must be a string.")
    return v


def is_bool(v, path):
    if not isinstance(v, bool):
        raise bad_param(path, "must be a boolean.")
    return v


def need_obj(obj, key, path):
    return is_obj(need(obj, key, path), at(path, key))


def need_list(obj, key, path, lo=1, hi=None):
    p = at(path, key)
    v = is_list(need(obj, key, path), p)
    count(v, p, lo, hi)
    return v


def count(items, path, lo, hi):
    if len(items) < lo:
        raise invalid(path, "must have at least %d element%s."
                      % (lo, "" if lo == 1 else "s"))
    if hi is not None and len(items) > hi:
        raise invalid(at(path, hi), "is too many: at most %d elements are "
                      "allowed in %s." % (hi, path))


def length(s, path, hi):
    if len(s) > hi:
        raise invalid(path, "must be at most %d characters long." % hi)
    return s


def need_str(obj, key, path, hi=None):
    p = at(path, key)
    s = is_str(need(obj, key, path), p)
    return length(s, p, hi) if hi else s


def opt_str(obj, key, path, hi=None):
    if key not in obj or obj[key] is None:
        return None
    p = at(path, key)
    s = is_str(obj[key], p)
    return length(s, p, hi) if hi else s


def opt_bool(obj, key, path):
    if key in obj and obj[key] is not None:
        return is_bool(obj[key], at(path, key))
    return None


def need_url(obj, key, path, hi=2000):
    p = at(path, key)
    url = need_str(obj, key, path, hi)
    if not URL_RE.match(url):
        raise invalid(p, "must be a URL starting with http:// or https://.")
    return url


def unique(pairs, what):
    """pairs: (path, value); the second occurrence of a value is named."""
    seen = set()
    for path, v in pairs:
        if v in seen:
            raise invalid(path, "must be unique: %s '%s' is repeated."
                          % (what, v))
        seen.add(v)
