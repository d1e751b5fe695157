#!/usr/bin/env python3
"""Test peer: the server the real client libraries of
tests/bpf/test_real_clients.py talk to. Stdlib only.

Run: python3 tests/peers/client_target.py <port>; prints "READY <port>".
ThreadingHTTPServer, HTTP/1.1 keep-alive; any method on:
  /status/<code>    <code>, body "status <code>\\n"
  /redirect/<n>     302 to /redirect/<n-1>, empty body; /redirect/0: 200 "landed\\n"
  /sleep/<ms>       sleeps, then 200 "slept\\n"
  /bytes/<n>        200, n bytes with Content-Length
  /chunked/<n>      200, n bytes in 1000-byte chunks
  anything else     reads the body (Content-Length or chunked), 200 JSON
                    {"method": M, "got": <body bytes>}
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            n = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return n
                n += len(self.rfile.read(size))
                self.rfile.readline()
        return len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def route(self):
        n = self.body()
        p = self.path.split("?")[0].split("/")[1:]
        if p[0] == "status":
            return self.reply(int(p[1]), b"status %s\n" % p[1].encode())
        if p[0] == "redirect":
            k = int(p[1])
            if k == 0:
                return self.reply(200, b"landed\n")
            return self.reply(302, b"", [("Location", "/redirect/%d" % (k - 1))])
        if p[0] == "sleep":
            time.sleep(int(p[1]) / 1000)
            return self.reply(200, b"slept\n")
        if p[0] == "bytes":
            return self.reply(200, b"x" * int(p[1]))
        if p[0] == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = int(p[1])
            while left:
                k = min(left, 1000)
                self.wfile.write(b"%x\r\n%s\r\n" % (k, b"c" * k))
                left -= k
            self.wfile.write(b"0\r\n\r\n")
            return
        body = json.dumps({"method": self.command, "got": n}).encode()
        self.reply(200, body, [("Content-Type", "application/json")])

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = route


class S(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    s = S(("127.0.0.1", int(sys.argv[1])), H)
    print("READY", s.server_address[1], flush=True)
    s.serve_forever()
