#!/usr/bin/python3
"""graphsim: a local stand-in for Meta's WhatsApp Cloud API (Graph API).

Run: /usr/bin/python3 tests/graphsim/graphsim.py --port 8090 \
        --number 106540352242922:TOKEN:15550783881 \
        --app-secret SECRET --webhook-url http://127.0.0.1:8080/webhook
See README.md next to this file for the endpoints and the control API."""
import argparse
import atexit
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True        # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import control                                          # noqa: E402
import graph                                            # noqa: E402
from errors import (GraphError, PlainError, fbtrace_id,  # noqa: E402
                    unknown_error)
from http_io import BadRequest, Request, Response, json_response  # noqa
from state import Number, Sim                           # noqa: E402
from webhooks import Emitter                            # noqa: E402

COPY_CHUNK = 64 * 1024


def route(req, sim):
    if req.path.startswith("/_sim/"):
        return control.handle(req, sim)
    req.recorded = True
    if req.path.startswith("/media-download/"):
        return graph.download(req, sim, req.path[len("/media-download/"):])
    return graph.handle(req, sim)


def error_response(err):
    headers = [("x-fb-trace-id", fbtrace_id())] + list(err.headers)
    if err.status == 401:
        why = err.message.replace('"', "'")
        headers.append(("WWW-Authenticate", 'OAuth "Facebook Platform" '
                        '"invalid_token" "%s"' % why))
    return json_response(err.status, err.envelope(), headers)


def answer(req, sim):
    """The Response for req; never raises."""
    try:
        return route(req, sim)
    except GraphError as e:
        return error_response(e)
    except PlainError as e:
        return Response(e.status, e.text.encode(), "text/plain")
    except BadRequest as e:
        return error_response(GraphError(100, str(e)))
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return error_response(unknown_error())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "graphsim/1.0"
    sys_version = ""

    def do_GET(self):
        self.serve()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def setup(self):
        super().setup()
        # Headers and body must not wait on Nagle + delayed ACK (~40 ms
        # per keep-alive request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass                            # one line per request, see serve()

    def serve(self):
        sim = self.server.sim
        t0 = time.monotonic()
        req = Request(self)
        resp = answer(req, sim)
        try:
            req.body.drain()            # keep the connection in step
        except OSError:
            req.body.broken = True
        if req.body.broken:
            self.close_connection = True
        if req.recorded:
            sim.log.add(self.entry(req, resp))
        try:
            self.send(resp)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self.server.log_line(req, resp, time.monotonic() - t0)

    def entry(self, req, resp):
        return {"method": req.method, "path": req.path, "query": req.query,
                "headers": req.headers, "json": req.json, "form": req.form,
                "status": resp.status, "response": resp.logged,
                "time": time.time()}

    def send(self, resp):
        size = resp.file[1] if resp.file else len(resp.body)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.ctype)
        self.send_header("Content-Length", str(size))
        for k, v in resp.headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if not resp.file:
            self._headers_buffer.append(resp.body)   # one write, one packet
        self.flush_headers()
        if resp.file:
            self.copy_file(resp.file[0], size)

    def copy_file(self, path, size):
        try:
            f = open(path, "rb")
        except OSError:
            self.close_connection = True    # headers are out: cut it short
            return
        with f:
            left = size
            while left > 0:
                data = f.read(min(COPY_CHUNK, left))
                if not data:
                    self.close_connection = True
                    return
                self.wfile.write(data)
                left -= len(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, sim, log_path):
        super().__init__(addr, Handler)
        self.sim = sim
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1) if log_path else None

    def log_line(self, req, resp, seconds):
        if not self.log_file:
            return
        line = "%s %s %s%s %d %dms\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S"), req.method, req.path,
            "?" + "&".join(sorted(req.query)) if req.query else "",
            resp.status, seconds * 1000)
        with self.log_lock:
            self.log_file.write(line)


def parse_number(text):
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("want PNID:TOKEN[:DISPLAY_PHONE]")
    return Number(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Graph API simulator")
    p.add_argument("--port", type=int, required=True,
                   help="port to listen on (0: any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--number", type=parse_number, action="append",
                   default=[], help="PNID:TOKEN[:DISPLAY_PHONE], repeatable")
    p.add_argument("--app-secret", default=None)
    p.add_argument("--webhook-url", default=None)
    p.add_argument("--status-delay-ms", type=int, default=30)
    p.add_argument("--media-dir", default=None)
    p.add_argument("--version-min", type=int, default=17)
    p.add_argument("--log", default=None, help="one line per request")
    return p.parse_args(argv)


def media_dir(path):
    if path:
        os.makedirs(path, exist_ok=True)
        return path
    tmp = tempfile.mkdtemp(prefix="graphsim-")
    atexit.register(shutil.rmtree, tmp, True)
    return tmp


def main(argv=None):
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("graphsim: listens on loopback only")
    sim = Sim(args, media_dir(args.media_dir))
    sim.emitter = Emitter(sim)
    server = Server((args.host, args.port), sim, args.log)
    sim.port = server.server_address[1]
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("graphsim listening on %s:%d" % (args.host, sim.port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
