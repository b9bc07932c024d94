"""Media objects: the MIME/size table (reference §4) and the on-disk store
behind upload, GET /{media-id}, download URLs, delete and expiry."""
import base64
import hashlib
import os
import secrets
import threading
import time

MB = 1024 * 1024
KB = 1024
IMAGE = {"image/jpeg", "image/png"}
VIDEO = {"video/mp4", "video/3gpp"}
AUDIO = {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}
DOCUMENT = {
    "text/plain", "application/pdf", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml."
    "presentation",
}
STICKER = {"image/webp"}
LIMITS = [(IMAGE, 5 * MB, "5 MB"), (VIDEO, 16 * MB, "16 MB"),
          (AUDIO, 16 * MB, "16 MB"), (DOCUMENT, 100 * MB, "100 MB"),
          (STICKER, 500 * KB, "500 KB")]
MAX_UPLOAD = 100 * MB
URL_TTL = 300      # download URLs live 5 minutes


def base_mime(mime):
    return (mime or "").split(";")[0].strip().lower()


def limit_of(mime):
    """(bytes, label) for a supported MIME type, else None."""
    base = base_mime(mime)
    for kinds, limit, label in LIMITS:
        if base in kinds:
            return limit, label
    return None


def kind_accepts(kind, mime):
    """Whether media of this MIME type can be sent as a `kind` message."""
    base = base_mime(mime)
    return {"image": base in IMAGE, "video": base in VIDEO,
            "audio": base in AUDIO, "sticker": base in STICKER,
            "document": True}.get(kind, False)


class Media:
    def __init__(self, mid, pnid, mime, size, sha, filename, path, source):
        self.id = mid
        self.pnid = pnid
        self.mime = mime
        self.size = size
        self.sha256_hex = sha.hex()
        self.sha256_b64 = base64.b64encode(sha).decode()
        self.filename = filename
        self.path = path
        self.source = source          # "upload" or "inbound"
        self.created = time.time()
        self.gone = False
        self.urls = {}                # url token -> expiry (unix seconds)

    def meta(self):
        return {"id": self.id, "phone_number_id": self.pnid,
                "mime_type": self.mime, "file_size": self.size,
                "sha256": self.sha256_hex, "sha256_b64": self.sha256_b64,
                "filename": self.filename, "path": self.path,
                "source": self.source, "gone": self.gone}


class MediaStore:
    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.items = {}

    def new_id(self):
        with self.lock:
            while True:
                mid = str(10 ** 15 + secrets.randbelow(9 * 10 ** 15))
                if mid not in self.items:
                    self.items[mid] = None      # reserved
                    return mid

    def spool_path(self):
        return os.path.join(self.dir, "upload-%s.part" % secrets.token_hex(8))

    def add_file(self, pnid, tmp_path, mime, size, sha, filename,
                 source="upload", mid=None):
        """Take ownership of tmp_path; returns the new Media."""
        mid = mid or self.new_id()
        path = os.path.join(self.dir, "media-%s" % mid)
        os.replace(tmp_path, path)
        m = Media(mid, pnid, mime, size, sha, filename, path, source)
        with self.lock:
            self.items[mid] = m
        return m

    def add_bytes(self, pnid, data, mime, filename, source="inbound",
                  mid=None):
        tmp = self.spool_path()
        with open(tmp, "wb") as f:
            f.write(data)
        sha = hashlib.sha256(data).digest()
        return self.add_file(pnid, tmp, mime, len(data), sha, filename,
                             source, mid)

    def get(self, mid):
        """The live media with this id, or None (unknown, deleted, expired)."""
        with self.lock:
            m = self.items.get(mid)
        return m if m is not None and not m.gone else None

    def all(self):
        with self.lock:
            return [m for m in self.items.values() if m is not None]

    def drop(self, mid):
        """Delete or expire: the id and every download URL are gone."""
        m = self.get(mid)
        if m is None:
            return False
        m.gone = True
        m.urls.clear()
        try:
            os.unlink(m.path)
        except OSError:
            pass
        return True

    def expire_urls(self, mid):
        m = self.get(mid)
        if m is None:
            return False
        with self.lock:
            for tok in m.urls:
                m.urls[tok] = 0
        return True

    def issue_url(self, m):
        tok = secrets.token_urlsafe(24)
        exp = int(time.time()) + URL_TTL
        with self.lock:
            m.urls[tok] = exp
        return tok, exp

    def url_valid(self, m, tok):
        with self.lock:
            exp = m.urls.get(tok or "")
        return exp is not None and time.time() <= exp
