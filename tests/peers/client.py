#!/usr/bin/env python3
"""Small HTTP/1.1 test client; prints one status code per response.

client.py <url> [--count N] [--keepalive] [--pipeline N] [--header K:V]
          [--post-bytes N]

Default: one new connection per request (Connection: close).
--keepalive: all requests on one connection (http.client).
--pipeline N: raw socket, N requests written back to back before reading
              their N responses; repeated until --count requests are sent.
--post-bytes N: POST a body of N bytes instead of GET.
"""
import argparse
import http.client
import socket
import sys
import urllib.parse


class _KeepOpen:
    """Buffered reader proxy whose close() is a no-op: http.client closes
    the file after each response body, but pipelined responses share it."""

    def __init__(self, rfile):
        self._rfile = rfile

    def __getattr__(self, name):
        return getattr(self._rfile, name)

    def close(self):
        pass


class _FileSock:
    """Lets http.client.HTTPResponse parse successive responses from one
    buffered reader (needed for pipelining)."""

    def __init__(self, rfile):
        self.rfile = _KeepOpen(rfile)

    def makefile(self, *_args, **_kw):
        return self.rfile


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--keepalive", action="store_true")
    p.add_argument("--pipeline", type=int, default=0)
    p.add_argument("--header", action="append", default=[], metavar="K:V")
    p.add_argument("--post-bytes", type=int, default=None)
    p.add_argument("--timeout", type=float, default=10.0)
    return p.parse_args(argv)


def request_parts(args):
    url = urllib.parse.urlsplit(args.url)
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    headers = {}
    for h in args.header:
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    body = None
    method = "GET"
    if args.post_bytes is not None:
        method = "POST"
        body = b"x" * args.post_bytes
    return url, method, path, headers, body


def raw_request(host, method, path, headers, body):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    lines += ["%s: %s" % kv for kv in headers.items()]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def run_pipelined(args, url, method, path, headers, body):
    sock = socket.create_connection((url.hostname, url.port or 80), args.timeout)
    rfile = sock.makefile("rb")
    fake = _FileSock(rfile)
    sent = 0
    try:
        while sent < args.count:
            batch = min(args.pipeline, args.count - sent)
            req = raw_request(url.netloc, method, path, headers, body)
            sock.sendall(req * batch)
            for _ in range(batch):
                resp = http.client.HTTPResponse(fake, method=method)
                resp.begin()
                resp.read()
                print(resp.status, flush=True)
            sent += batch
    finally:
        rfile.close()
        sock.close()


def run_http_client(args, url, method, path, headers, body):
    conn = None
    for _ in range(args.count):
        if conn is None:
            conn = http.client.HTTPConnection(url.hostname, url.port or 80,
                                              timeout=args.timeout)
        hdrs = dict(headers)
        if not args.keepalive:
            hdrs["Connection"] = "close"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        resp.read()
        print(resp.status, flush=True)
        if not args.keepalive:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def main(argv):
    args = parse_args(argv)
    parts = request_parts(args)
    if args.pipeline > 0:
        run_pipelined(args, *parts)
    else:
        run_http_client(args, *parts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
