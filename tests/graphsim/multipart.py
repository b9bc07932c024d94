"""A streaming multipart/form-data parser: file parts go to disk chunk by
chunk (hashed and counted on the way), text parts stay in memory (capped),
so a 100 MB upload never sits in memory."""
import email.message
import hashlib
import os

CHUNK = 64 * 1024
HEADER_MAX = 16 * 1024
FIELD_MAX = 64 * 1024


def boundary_of(content_type):
    msg = email.message.Message()
    msg["content-type"] = content_type or ""
    if msg.get_content_type() != "multipart/form-data":
        return None
    b = msg.get_param("boundary")
    return b.encode("latin-1") if isinstance(b, str) and b else None


class FilePart:
    def __init__(self, name, filename, content_type, path, cap):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.path = path
        self.size = 0
        self.cap = cap                  # stop writing past this many bytes
        self.hash = hashlib.sha256()
        self.f = open(path, "wb")

    def write(self, data):
        self.size += len(data)
        if self.size <= self.cap:
            self.f.write(data)
            self.hash.update(data)

    def close(self):
        self.f.close()

    def meta(self):
        return {"filename": self.filename, "content_type": self.content_type,
                "size": self.size, "sha256": self.hash.hexdigest()}


class _Scanner:
    """Reads from read(n) and hands bytes to sinks up to a marker."""

    def __init__(self, read):
        self.read = read
        self.buf = bytearray()

    def _fill(self):
        chunk = self.read(CHUNK)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def until(self, marker, sink, limit=None):
        """Feed sink everything before marker and consume the marker.
        False at EOF, or when more than limit bytes come before it."""
        keep, fed = len(marker) - 1, 0
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                sink(bytes(self.buf[:i]))
                del self.buf[:i + len(marker)]
                return True
            if len(self.buf) > keep:
                n = len(self.buf) - keep
                sink(bytes(self.buf[:n]))
                del self.buf[:n]
                fed += n
                if limit is not None and fed > limit:
                    return False
            if not self._fill():
                return False

    def take(self, n):
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def _headers(raw):
    msg = email.message.Message()
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            msg[name.strip()] = value.strip()
    return msg


class Form:
    def __init__(self):
        self.fields = {}
        self.files = {}
        self.complete = False

    def cleanup(self):
        for fp in self.files.values():
            fp.close()
            try:
                os.unlink(fp.path)
            except OSError:
                pass


def parse(read, boundary, spool_path, file_cap):
    """Parse a form body; spool_path() names a fresh file for each file
    part. Returns a Form; Form.complete is False for a truncated body."""
    form = Form()
    sc = _Scanner(read)
    if not sc.until(b"--" + boundary, lambda b: None, HEADER_MAX):
        return form
    delim = b"\r\n--" + boundary
    while True:
        tail = sc.take(2)
        if tail == b"--":
            form.complete = True
            return form
        if tail != b"\r\n":
            return form
        if not _part(sc, form, delim, spool_path, file_cap):
            return form


def _part(sc, form, delim, spool_path, file_cap):
    raw = bytearray()
    if not sc.until(b"\r\n\r\n", raw.extend, HEADER_MAX):
        return False
    hdrs = _headers(bytes(raw))
    name = hdrs.get_param("name", header="content-disposition") or ""
    filename = hdrs.get_filename()
    if filename is not None:
        if name in form.files:          # a repeated file part is ignored
            return sc.until(delim, lambda b: None)
        fp = FilePart(name, filename, hdrs.get("content-type"),
                      spool_path(), file_cap)
        form.files[name] = fp
        ok = sc.until(delim, fp.write)
        fp.close()
        return ok
    value = bytearray()

    def keep(b):
        if len(value) < FIELD_MAX:
            value.extend(b[:FIELD_MAX - len(value)])
    ok = sc.until(delim, keep)
    form.fields.setdefault(name, value.decode("utf-8", "replace"))
    return ok
