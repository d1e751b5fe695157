"""Random legal HTTP/1.x connections through the real BPF programs.

A seeded generator writes connections of exchanges in the forms RFC 9110
and 9112 allow (any field-name case, optional whitespace, obs-text, leading
zeros in Content-Length, chunk extensions and trailers, 1xx interim
responses, HEAD, 204, 304, extension methods, absolute-form and asterisk
targets, a close-delimited last response, HTTP/1.0 keep-alive); a raw
client sends them in random pieces and a raw server answers in random
pieces, both reading with random buffer sizes (some longer than what BPF
copies of a syscall). Every exchange must make exactly one server span and
one client span, linked, with its method, path, status and body sizes
(a size may be absent where the capture hid chunk framing, never wrong).
"""
import os
import random
import socket
import threading
import time

import pytest

from lib.tracer import traced_self
from test_http_edge import exchanges

SERVER, CLIENT = 2, 3
SEED = int(os.environ.get("EBT_RANDOM_SEED", "20261202"))
CONNECTIONS = int(os.environ.get("EBT_RANDOM_CONNECTIONS", "100"))
KNOWN = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}


@pytest.fixture(scope="module")
def me():
    yield from traced_self()


# ---- generating ------------------------------------------------------------

def name_case(r, name):
    return "".join(c.upper() if r.random() < 0.3 else c.lower() if r.random() < 0.5 else c
                   for c in name)


def field(r, name, value):
    ows = r.choice(["", "", " ", "\t", "  "])
    sep = " " if r.random() < 0.8 else r.choice(["", "\t", "  "])
    return name_case(r, name).encode() + b":" + sep.encode() + value + ows.encode() + b"\r\n"


ODD = [(b"Accept", b"text/html, */*;q=0.8"), (b"X-Empty", b""),
       (b"X-Quoted", b'"a \\" b"'), (b"X-Utf8", "caf\u00e9 \u2713".encode()),
       (b"X-Latin1", b"r\xe9sum\xe9"), (b"Cache-Control", b"no-cache"),
       (b"Link", b"</a.css>; rel=preload"), (b"X-Tabs", b"a\tb  c")]


def odd_fields(r):
    return b"".join(field(r, n.decode(), v) for n, v in r.sample(ODD, r.randrange(4)))


def body_bytes(r, n):
    return bytes(r.choice(b"abcdefghij\r\n0123456789") for _ in range(n))


def chunked(r):
    out, size = b"", 0
    for _ in range(r.randrange(5)):
        k = 1 + r.randrange(9000 if r.random() < 0.2 else 300)
        fmt = r.choice(["%x", "%X", "%04x"])
        ext = r.choice([b"", b"", b";a", b";n=v", b';q="x;y"'])
        out += (fmt % k).encode() + ext + b"\r\n" + body_bytes(r, k) + b"\r\n"
        size += k
    out += r.choice([b"0", b"000"]) + b"\r\n"
    if r.random() < 0.3:
        out += field(r, "X-Checksum", b"abc")
    return out + b"\r\n", size


def sized(r, n):
    v = ("00%d" if r.random() < 0.1 else "%d") % n
    return field(r, "Content-Length", v.encode())


def make_request(r, first, port):
    method = r.choice(["GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH",
                       "HEAD", "OPTIONS", "PURGE"])
    path = "".join("/" + r.choice(["api", "users", "42", "x-y", "~me", "a.b", "v1"])
                   for _ in range(1 + r.randrange(3)))
    target = path + r.choice(["", "", "?q=1", "?a=b&c=d"])
    if r.random() < 0.05:
        target, path = f"http://localhost:{port}/abs?x=1", "/abs"  # a proxy's form
    elif method == "OPTIONS" and r.random() < 0.3:
        target = path = "*"
    minor = 0 if r.random() < 0.15 else 1
    head = (b"\r\n" if first and r.random() < 0.1 else b"")
    head += f"{method} {target} HTTP/1.{minor}\r\n".encode() + field(r, "Host", b"example.com")
    if minor == 0:
        head += field(r, "Connection", b"keep-alive")
    body, size = b"", None
    if method in ("POST", "PUT", "PATCH"):
        if minor == 1 and r.random() < 0.4:
            head += field(r, "Transfer-Encoding", r.choice([b"chunked", b"Chunked", b"gzip, chunked"]))
            body, size = chunked(r)
        else:
            size = r.randrange(20000 if r.random() < 0.2 else 400)
            head += sized(r, size)
            body = body_bytes(r, size)
    data = head + odd_fields(r) + b"\r\n" + body
    return data, {"method": method, "path": path, "req_size": size or None,
                  "req_exact": b"hunked" not in head}


def make_response(r, want, last):
    status = r.choice([200, 200, 201, 204, 206, 301, 304, 400, 404, 418, 429, 500, 503])
    out = b""
    for _ in range(r.randrange(2) if r.random() < 0.15 else 0):
        out += b"HTTP/1.1 %d %s\r\n" % (r.choice([100, 102, 103]), r.choice([b"Continue", b""]))
        out += field(r, "Link", b"</s.css>; rel=preload") + b"\r\n"
    bodiless = want["method"] == "HEAD" or status in (204, 304)
    kind = r.choice(["len", "chunked"] + (["close"] if last else []))
    close = kind == "close" and not bodiless
    # HTTP/1.0 has no chunked framing (RFC 9112 6.1): 1.0 answers are sized
    minor = 0 if kind == "len" and r.random() < 0.1 else 1
    reason = r.choice([b"OK", b"", b"I'm a teapot", b"R\xe9sum\xe9"])
    out += b"HTTP/1.%d %d %s\r\n" % (minor, status, reason)
    if minor == 0:
        out += field(r, "Connection", b"keep-alive")
    size, n = None, r.randrange(30000 if r.random() < 0.2 else 500)
    if status == 204 or (bodiless and r.random() < 0.5):
        out += odd_fields(r) + b"\r\n"
    elif bodiless:
        out += sized(r, n) + odd_fields(r) + b"\r\n"
    elif kind == "chunked":
        out += field(r, "Transfer-Encoding", b"chunked") + odd_fields(r) + b"\r\n"
        body, size = chunked(r)
        out += body
    elif close:
        out += field(r, "Connection", b"close") + b"\r\n" + body_bytes(r, n)
        size = n
    else:
        out += sized(r, n) + odd_fields(r) + b"\r\n" + body_bytes(r, n)
        size = n
    want.update(status=status, resp_size=size or None, close=close,
                resp_exact=kind != "chunked")
    return out


def make_connection(r, port):
    n = 1 + r.randrange(6)
    conn = []
    for i in range(n):
        req, want = make_request(r, i == 0, port)
        resp = make_response(r, want, i == n - 1)
        conn.append((req, resp, want))
    return conn


# ---- moving the bytes --------------------------------------------------------

def pieces(r, data):
    """data cut as a program's writes might cut it."""
    out, i = [], 0
    while i < len(data):
        k = r.choice([1 + r.randrange(16), 1 + r.randrange(1500), 1 + r.randrange(20000), 65536])
        out.append(data[i:i + k])
        i += k
    return out


def read_exactly(r, sock, n):
    got = b""
    while len(got) < n:
        d = sock.recv(min(n - len(got), r.choice([1 + r.randrange(64), 4096, 65536])))
        assert d, "peer closed early"
        got += d
    return got


def read_to_close(sock):
    got = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return got
        got += d


def serve(listener, plans, errors):
    r = random.Random(SEED + 1)
    try:
        for conn in plans:
            s, _ = listener.accept()
            with s:
                for req, resp, want in conn:
                    assert read_exactly(r, s, len(req)) == req
                    for p in pieces(r, resp):
                        s.sendall(p)
    except Exception as e:  # reported by the test
        errors.append(e)


def client(port, plans):
    r = random.Random(SEED + 2)
    for conn in plans:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for req, resp, want in conn:
                for p in pieces(r, req):
                    s.sendall(p)
                got = read_to_close(s) if want["close"] else read_exactly(r, s, len(resp))
                assert got == resp


def test_random_legal_connections(me):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    r = random.Random(SEED)
    plans = [make_connection(r, port) for _ in range(CONNECTIONS)]
    wants = [want for conn in plans for _, _, want in conn]
    errors = []
    t0 = time.time_ns()
    th = threading.Thread(target=serve, args=(listener, plans, errors), daemon=True)
    th.start()
    client(port, plans)
    th.join(30)
    listener.close()
    assert not errors, errors
    srv, cli = exchanges(me, port, t0, len(wants), quiet=2.0)
    for i, (s, c, want) in enumerate(zip(srv, cli, wants)):
        for span in (s, c):
            check(span, want, i)


def check(span, want, i):
    a = span.attrs
    method = want["method"] if want["method"] in KNOWN else "_OTHER"
    where = (i, want, span)
    assert a["http.request.method"] == method, where
    if method == "_OTHER":
        assert a["http.request.method_original"] == want["method"], where
    assert a["http.response.status_code"] == want["status"], where
    if span.kind == SERVER:
        assert a["url.path"] == want["path"], where
    else:
        assert a["url.full"].split("?")[0].endswith(want["path"].lstrip("*")), where
    # a length-framed body's size is exact even where the capture cut its
    # middle; a chunked one's is exact when the whole message fits in what
    # BPF copies of a syscall, else absent where the framing was hidden
    for key, size, exact in (
            ("http.request.body.size", want["req_size"], want["req_exact"]),
            ("http.response.body.size", want["resp_size"], want["resp_exact"])):
        assert a.get(key) in (None, size), (key, where)
        if exact or (size or 0) < 7000:
            assert a.get(key) == size, (key, where)
