#!/usr/bin/env python3
"""Test peer: http.server ThreadingHTTPServer with HTTP/1.1 keep-alive.

Run: python3 tests/peers/pyserver.py <port> [downstream_base_url]
Port 0 picks a free port. Prints "READY <port>" once listening.
BIND_ADDR (env) sets the listen address, default 127.0.0.1; one with a
':' (::1, or :: for dual-stack) makes it an IPv6 socket.
/chain[?to=PATH] makes its outbound request (GET PATH, default /hello) on
the thread serving the request.
/log?msg=TEXT&stream=stderr and /stack?msg=TEXT write to stdout/stderr in
the handler (log capture tests).
"""
import http.client
import json
import os
import re
import socket
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOWNSTREAM = None


def read_chunked(rfile):
    total = 0
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return total
        total += len(rfile.read(size))
        rfile.readline()


def call_downstream(base, path="/hello"):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=5)
    try:
        conn.request("GET", url.path.rstrip("/") + path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep stdout for /log only
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body_length(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return read_chunked(self.rfile)
        n = int(self.headers.get("Content-Length", "0") or 0)
        remaining = n
        while remaining > 0:
            got = self.rfile.read(min(remaining, 65536))
            if not got:
                break
            remaining -= len(got)
        return n - remaining

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        self.body_length()
        handler = GET_ROUTES.get(path)
        if handler:
            handler(self)
            return
        m = re.fullmatch(r"/users/([0-9]+)", path)
        if m:
            uid = int(m.group(1))
            self.reply(200, json.dumps({"id": uid, "name": "user%d" % uid}) + "\n",
                       "application/json")
            return
        self.reply(404, "not found\n")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        n = self.body_length()
        if path == "/echo":
            self.reply(200, "got %d bytes\n" % n)
        else:
            self.reply(404, "not found\n")

    def hello(self):
        self.reply(200, "hello\n")

    def fail(self):
        self.reply(500, "fail\n")

    def chain(self):
        if not DOWNSTREAM:
            self.reply(502, "no downstream configured\n")
            return
        to = self.query().get("to", ["/hello"])[0]
        if not to.startswith("/"):
            self.reply(400, "to must be a path\n")
            return
        try:
            status = call_downstream(DOWNSTREAM, to)
        except OSError as e:
            self.reply(502, "downstream error: %s\n" % e)
            return
        self.reply(200, "downstream status %d\n" % status)

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    def log(self):
        """/log[?msg=TEXT][&stream=stderr][&count=N][&after=TEXT2]: one
        line written in the handler, or N lines "TEXT 00000".. in one write
        each; TEXT2 is written after the response."""
        q = self.query()
        out = sys.stderr if q.get("stream") == ["stderr"] else sys.stdout
        msg = q.get("msg", ["handled /log"])[0]
        if "count" in q:
            for i in range(int(q["count"][0])):
                out.write("%s %05d\n" % (msg, i))
                out.flush()
        else:
            out.write(msg + "\n")
            out.flush()
        self.reply(200, "logged\n")
        if "after" in q:  # once the response is out: no request active
            out.write(q["after"][0] + "\n")
            out.flush()

    def stack(self):
        """/stack[?msg=TEXT]: a Java-style stack trace on stderr, one write
        per line, as a JVM's printStackTrace does."""
        msg = self.query().get("msg", ["boom"])[0]
        for line in ("java.lang.IllegalStateException: " + msg,
                     "\tat com.example.Shop.checkout(Shop.java:42)",
                     "\tat com.example.Shop.handle(Shop.java:17)",
                     "Caused by: java.io.IOException: disk full",
                     "\t... 2 more"):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        self.reply(500, "stack\n")

    def show_headers(self):
        body = {"header_count": len(self.headers),
                "has_traceparent": "traceparent" in self.headers}
        self.reply(200, json.dumps(body) + "\n", "application/json")


GET_ROUTES = {
    "/hello": Handler.hello,
    "/fail": Handler.fail,
    "/chain": Handler.chain,
    "/log": Handler.log,
    "/stack": Handler.stack,
    "/headers": Handler.show_headers,
}


def main():
    global DOWNSTREAM
    if len(sys.argv) < 2:
        sys.stderr.write("usage: pyserver.py <port> [downstream_base_url]\n")
        sys.exit(2)
    DOWNSTREAM = sys.argv[2] if len(sys.argv) > 2 else None
    bind = os.environ.get("BIND_ADDR", "127.0.0.1")
    ThreadingHTTPServer.daemon_threads = True
    if ":" in bind:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    server = ThreadingHTTPServer((bind, int(sys.argv[1])), Handler)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
