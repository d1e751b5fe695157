#!/usr/bin/env python3
"""Local OTLP/HTTP sink for benchmarks: accepts every POST, discards it.

Run: otlp_sink.py <port>   (0 = pick one; prints "READY <port>")
Answers 200 with an empty body (an empty protobuf message is a valid
Export*ServiceResponse, i.e. no partial success). GET /stats returns JSON
counters: requests, bytes, by path.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {"requests": 0, "bytes": 0, "paths": {}}


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", ctype="application/x-protobuf"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        left = n
        while left > 0:
            got = self.rfile.read(min(left, 1 << 16))
            if not got:
                break
            left -= len(got)
        with LOCK:
            STATS["requests"] += 1
            STATS["bytes"] += n - left
            STATS["paths"][self.path] = STATS["paths"].get(self.path, 0) + 1
        ctype = self.headers.get("Content-Type", "application/x-protobuf")
        self.answer(200, b"{}" if "json" in ctype else b"", ctype)

    def do_GET(self):
        if self.path != "/stats":
            self.answer(404, b"", "text/plain")
            return
        with LOCK:
            body = json.dumps(STATS).encode()
        self.answer(200, body, "application/json")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
    server.daemon_threads = True
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
