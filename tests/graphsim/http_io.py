"""Request and response objects over BaseHTTPRequestHandler: a body reader
that streams (Content-Length or chunked), and responses that always carry
a Content-Length so keep-alive connections stay in step."""
import json
import urllib.parse

CHUNK = 64 * 1024
JSON_MAX = 16 * 1024 * 1024
JSON_TYPE = "application/json; charset=UTF-8"


class BadRequest(Exception):
    pass


class Body:
    """The request body, read at most once, in pieces."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("transfer-encoding") or
                                     "").lower()
        self.chunk_left = 0
        self.broken = False
        try:
            self.left = 0 if self.chunked else \
                int(headers.get("content-length") or 0)
        except ValueError:
            self.left, self.broken = 0, True
        self.done = not self.chunked and self.left <= 0

    def read(self, n=CHUNK):
        if self.done:
            return b""
        data = self._chunked(n) if self.chunked else self._sized(n)
        if not data and not self.done:
            self.done = self.broken = True     # peer hung up mid-body
        return data

    def _sized(self, n):
        data = self.rfile.read(min(n, self.left))
        self.left -= len(data)
        if self.left == 0:
            self.done = True
        return data

    def _chunked(self, n):
        if self.chunk_left == 0:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0], 16)
            except ValueError:
                return b""
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                self.done = True
                return b""
            self.chunk_left = size
        data = self.rfile.read(min(n, self.chunk_left))
        self.chunk_left -= len(data)
        if data and self.chunk_left == 0:
            self.rfile.readline(8)              # the CRLF after a chunk
        return data

    def read_all(self, limit):
        parts, total = [], 0
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            total += len(data)
            if total > limit:
                raise BadRequest("body larger than %d bytes" % limit)
            parts.append(data)

    def drain(self):
        while self.read():
            pass


class Request:
    def __init__(self, handler):
        self.method = handler.command
        url = urllib.parse.urlsplit(handler.path)
        self.path = url.path
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(
            url.query, keep_blank_values=True).items()}
        self.headers = {}
        for k, v in handler.headers.items():
            k = k.lower()
            self.headers[k] = self.headers[k] + ", " + v \
                if k in self.headers else v
        self.body = Body(handler.rfile, self.headers)
        self.version = None
        self.json = None
        self.json_error = None
        self.form = None
        self.recorded = False

    def bearer(self):
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def token(self):
        """Graph takes the token from the header or ?access_token=."""
        return self.bearer() or self.query.get("access_token") or None

    def read_json(self):
        """Parse the body as JSON into .json (or set .json_error)."""
        raw = self.body.read_all(JSON_MAX)
        if not raw.strip():
            self.json_error = "empty body"
            return None
        try:
            self.json = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            self.json_error = str(e)
        return self.json


class Response:
    def __init__(self, status, body=b"", ctype=JSON_TYPE, file=None,
                 headers=None, logged=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.file = file            # (path, size) streamed from disk
        self.headers = headers or []
        self.logged = logged        # what the request log shows


def json_response(status, obj, headers=None):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, body, headers=headers, logged=obj)
