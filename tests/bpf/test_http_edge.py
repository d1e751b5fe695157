"""Awkward but legal HTTP/1.x exchanges made by real clients and servers
(curl, Go net/http, Node.js http, Python), traced by the real BPF programs.

Every case checks both ends: exactly one server span and one client span
per exchange (no garbage span, nothing missing), with the right method,
path, status, sizes and parent/child link.

The tracer is this module's own, selected with --pid of the test process:
every peer is a child of it (the tracer follows forks), and the raw-socket
clients run in it. A host-wide tracer on a busy CI machine drops ring
buffer records under other people's load, and a lost record loses spans.
"""
import os
import socket
import subprocess
import time

import pytest

from lib.peers import PEERS, ReadyPeer, go_peer_binary
from lib.tracer import SKEW, Span, Tracer, traced_self

SERVER, CLIENT = 2, 3


def go_edge_binary():
    return go_peer_binary("GoEdge", "goedge")


@pytest.fixture(scope="module")
def edge():
    go_edge_binary()
    yield from traced_self()


@pytest.fixture(scope="module")
def go(edge):
    p = ReadyPeer(go_edge_binary(), "serve", "0")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def node(edge):
    p = ReadyPeer("node", os.path.join(PEERS, "node_edge.js"), "serve", "0")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def py(edge):
    p = ReadyPeer("python3", "-u", os.path.join(PEERS, "pyserver.py"), "0")
    yield p
    p.stop()


def run(*cmd, timeout=30):
    out = subprocess.run(cmd, capture_output=True, timeout=timeout)
    assert out.returncode == 0, out
    return out.stdout.decode()


CURL_OPTS = ("-s", "-o", "/dev/null", "-w", "%{http_code}\\n")
NEXT = ("--next",) + CURL_OPTS  # another transfer, same connection


def curl(*args):
    """curl's status codes, one per transfer (NEXT makes more)."""
    return [int(x) for x in run("curl", *CURL_OPTS, *args).split()]


def exchanges(t, port, since, count, quiet=1.0):
    """(server spans, client spans) of the exchanges with the server on
    port since `since`, in start order, once `count` of each exist and no
    more came for `quiet` seconds: there must be exactly `count` of each,
    and every server span's parent is one of the client spans."""
    def mine(kind):
        return lambda s: s.kind == kind and s.attrs.get("server.port") == port
    t.wait_for(mine(SERVER), count, since=since)
    t.wait_for(mine(CLIENT), count, since=since)
    time.sleep(quiet)
    srv = sorted(t.wait_for(mine(SERVER), count, since=since), key=lambda s: s.start)
    cli = sorted(t.wait_for(mine(CLIENT), count, since=since), key=lambda s: s.start)
    assert len(srv) == count and len(cli) == count, (srv, cli)
    ids = {c.span_id: c for c in cli}
    for s in srv:
        c = ids.get(s.parent)
        assert c is not None, f"server span {s} has no client parent in {cli}"
        assert c.trace_id == s.trace_id
        # the server's span inside the client's; a syscall's exit on one
        # CPU may be stamped a little after the peer's on another
        assert c.start <= s.start + SKEW and s.end <= c.end + SKEW, (c, s)
        assert c.attrs["http.request.method"] == s.attrs["http.request.method"]
        assert c.attrs["http.response.status_code"] == s.attrs["http.response.status_code"]
    return srv, cli


def check(s, method, path, status, resp_size=None, req_size=None):
    """resp_size/req_size: the exact size; "unknown": the attribute may be
    absent (the capture hid the framing) but is never a wrong number."""
    a = s.attrs
    assert a["http.request.method"] == method, s
    assert a["http.response.status_code"] == status, s
    if s.kind == SERVER:
        assert a["url.path"] == path, s
        assert s.name == f"{method} {a['http.route']}", s
    else:
        assert a["url.full"].split("?")[0].endswith(path), s
        assert s.name == method
    for key, want in (("http.response.body.size", resp_size),
                      ("http.request.body.size", req_size)):
        if isinstance(want, tuple):
            assert a.get(key) in (None,) + want, (key, s, a.get(key))
        else:
            assert a.get(key) == want, (key, s, a.get(key))


UNKNOWN = ()  # the size may be absent, not wrong


# ---- chunked bodies bigger than a capture -------------------------------

def test_big_chunked_response_read_in_big_reads(edge, go):
    """Go frames a 100 kB body without length as many chunks; curl reads
    them 16 kB and more at a time, more than BPF copies: the chunk framing
    is lost in the gaps, the exchange must not be (it was dropped, and the
    next one on the connection too)."""
    t0 = time.time_ns()
    assert curl(go.url + "/big", *NEXT, go.url + "/empty") == [200, 204]
    srv, cli = exchanges(edge, go.port, t0, 2)
    for s in (srv[0], cli[0]):
        check(s, "GET", "/big", 200, resp_size=(100000,))
    for s in (srv[1], cli[1]):
        check(s, "GET", "/empty", 204)
    assert cli[0].attrs["network.peer.port"] == cli[1].attrs["network.peer.port"] == go.port
    assert srv[0].attrs["network.peer.port"] == srv[1].attrs["network.peer.port"]


def test_chunked_request_bodies(edge, go, node):
    """curl -H 'Transfer-Encoding: chunked' (64 kB chunks) to Go, and a Go
    client streaming a body of unknown length (small chunks) to Node, which
    reads 64 kB at a time."""
    with open("/tmp/ebpftrace-edge-body", "wb") as f:
        f.write(b"b" * 1_500_000)
    t0 = time.time_ns()
    assert curl("-H", "Transfer-Encoding: chunked", "--data-binary",
                "@/tmp/ebpftrace-edge-body", go.url + "/echo") == [200]
    srv, cli = exchanges(edge, go.port, t0, 1)
    for s in srv + cli:
        check(s, "POST", "/echo", 200, resp_size=12, req_size=(1500000,))
    assert run(go_edge_binary(), "post-chunked", node.url + "/echo", "50000").split() == ["200"]
    srv, cli = exchanges(edge, node.port, t0, 1)
    for s in srv + cli:
        check(s, "POST", "/echo", 200, resp_size=10, req_size=(50000,))
    # Go writes its small chunks whole: the client side saw them all
    assert cli[0].attrs["http.request.body.size"] == 50000


# ---- request targets: absolute-form (forward proxy), asterisk-form -------

# A listener printing READY <port>, and pipe(): the head of the scripts below.
LISTEN_AND_PIPE = r'''
import socket, sys, threading
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen()
print("READY", ls.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
'''

TCP_PIPE = LISTEN_AND_PIPE + r'''while True:
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
'''


def test_forward_proxy_absolute_form(edge, py, tmp_path):
    """curl -x sends `GET http://example.com/users/8` to the proxy (here a
    byte pipe to the Python server, which accepts the absolute form): the
    URL's host and port name the server, not the proxy's socket."""
    script = tmp_path / "tcp_pipe.py"
    script.write_text(TCP_PIPE)
    proxy = ReadyPeer("python3", "-u", str(script), str(py.port))
    try:
        t0 = time.time_ns()
        assert curl("-x", proxy.url, "http://example.com/users/8?k=v") == [200]
        (c,) = edge.wait_for(lambda s: s.kind == CLIENT and s.service == "curl"
                             and s.attrs.get("network.peer.port") == proxy.port, since=t0)
        (s,) = edge.wait_for(lambda s: s.kind == SERVER
                             and s.resource.get("process.pid") == py.proc.pid, since=t0)
    finally:
        proxy.stop()
    assert c.attrs["url.full"] == "http://example.com:80/users/8?k=REDACTED"
    assert c.attrs["server.address"] == "example.com"
    assert c.attrs["server.port"] == 80  # was the proxy's port
    assert s.name == "GET /users/{id}"
    assert s.attrs["url.path"] == "/users/8"
    assert s.attrs["server.address"] == "example.com"
    assert s.attrs["server.port"] == 80
    assert s.attrs["http.response.status_code"] == 200
    assert s.trace_id == c.trace_id  # through the proxy's own two spans


def raw_exchange(port, data, slow=0.0, half_close=False):
    """Write data on a new connection (byte by byte every `slow` s if set),
    optionally shut down writing, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if slow:
            for b in data:
                s.sendall(bytes([b]))
                time.sleep(slow)
        else:
            s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return recv_to_close(s)


def recv_to_close(sock):
    """Everything sock receives until the peer closes."""
    out = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return out
        out += d


def recv_more(sock, n=65536):
    """The next bytes from sock; the peer closing first fails the test (a
    loop on recv() would spin on the empty reads)."""
    d = sock.recv(n)
    assert d, "connection closed early"
    return d


def read_head(conn):
    """Bytes from conn up to and including a blank line."""
    req = b""
    while b"\r\n\r\n" not in req:
        req += recv_more(conn, 4096)
    return req


def local_listener():
    """A listening socket on loopback, and its port."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen()
    return lsock, lsock.getsockname()[1]


def test_options_asterisk(edge, go):
    t0 = time.time_ns()
    out = raw_exchange(go.port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200")
    srv, cli = exchanges(edge, go.port, t0, 1)
    assert srv[0].attrs["url.path"] == "*"
    assert srv[0].attrs["http.request.method"] == "OPTIONS"
    assert cli[0].attrs["url.full"] == f"http://x:{go.port}"  # was ...:port*


# ---- HTTP/1.0 and bodies delimited by the close --------------------------

HTTP10_SERVER = r'''
import http.server, os, socketserver, tempfile
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        if self.path.startswith("/sendfile"):
            fd, p = tempfile.mkstemp()
            os.write(fd, b"f" * 50000)
            os.close(fd)
            self.send_response(200)
            self.send_header("Content-Length", "50000")
            self.end_headers()
            self.wfile.flush()
            with open(p, "rb") as f:
                self.connection.sendfile(f)
            os.unlink(p)
            return
        self.send_response(200)
        self.end_headers()  # no length: the body ends at the close
        for i in range(3):
            self.wfile.write(b"close delimited line %d\n" % i)
            self.wfile.flush()
    def log_message(self, *a):
        pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
'''

READ_TO_EOF_CLIENT = r'''
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n" % sys.argv[2].encode())
while s.recv(65536):
    pass
if sys.argv[2] == "linger":
    time.sleep(1.5)  # the response is over; the close comes later
    s.close()
os._exit(0)  # "exit": no close() at all
'''

BODY_10 = 3 * len(b"close delimited line 0\n")


@pytest.fixture(scope="module")
def py10(edge, tmp_path_factory):
    script = tmp_path_factory.mktemp("py10") / "http10_server.py"
    script.write_text(HTTP10_SERVER)
    p = ReadyPeer("python3", "-u", str(script))
    yield p
    p.stop()


def test_http10_close_delimited_response(edge, py10):
    t0 = time.time_ns()
    assert curl("--http1.0", py10.url + "/ten") == [200]
    srv, cli = exchanges(edge, py10.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/ten", 200, resp_size=BODY_10)
        assert s.attrs["network.protocol.version"] == "1.0"


def test_close_delimited_client_that_lingers_or_never_closes(edge, py10, tmp_path):
    """A client reads the body to EOF, then closes 1.5 s later, or exits
    without closing: its span ends with the body's last byte (it ended at
    the close, and was lost without one)."""
    script = tmp_path / "read_to_eof.py"
    script.write_text(READ_TO_EOF_CLIENT)
    t0 = time.time_ns()
    run("python3", str(script), str(py10.port), "linger")
    run("python3", str(script), str(py10.port), "exit")
    srv, cli = exchanges(edge, py10.port, t0, 2)
    for s, path in zip(srv, ("/linger", "/exit")):
        check(s, "GET", path, 200, resp_size=BODY_10)
    for c, path in zip(cli, ("/linger", "/exit")):
        check(c, "GET", path, 200, resp_size=BODY_10)
        assert c.end - c.start < 1e9, c


def test_http10_request_to_an_http11_server(edge, node):
    """curl --http1.0 with keep-alive, twice on one connection, to Node,
    which answers with HTTP/1.1 status lines: both spans say 1.0."""
    t0 = time.time_ns()
    ka = ("--http1.0", "-H", "Connection: keep-alive")
    assert curl(*ka, node.url + "/a", *NEXT, *ka, node.url + "/b") == [200, 200]
    srv, cli = exchanges(edge, node.port, t0, 2)
    for pair, path in zip(zip(srv, cli), ("/a", "/b")):
        for s in pair:
            check(s, "GET", path, 200, resp_size=len(f"node {path}\n"))
            assert s.attrs["network.protocol.version"] == "1.0", s
    assert srv[0].attrs["network.peer.port"] == srv[1].attrs["network.peer.port"]


def test_sendfile_bodies(edge, go, py10):
    """Go's http.ServeFile and Python's socket.sendfile send the body with
    sendfile(2), which moves no bytes through user memory; the next
    exchange on the connection is right too."""
    t0 = time.time_ns()
    assert curl(go.url + "/file", *NEXT, go.url + "/empty") == [200, 204]
    srv, cli = exchanges(edge, go.port, t0, 2)
    for s in (srv[0], cli[0]):
        check(s, "GET", "/file", 200, resp_size=200000)
    for s in (srv[1], cli[1]):
        check(s, "GET", "/empty", 204)
    assert curl(py10.url + "/sendfile") == [200]
    srv, cli = exchanges(edge, py10.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/sendfile", 200, resp_size=50000)


# ---- interim responses: 100 Continue, 103 Early Hints ----------------------

@pytest.fixture(scope="module")
def jdk(edge):
    p = ReadyPeer("java", os.path.join(PEERS, "JdkServer.java"), "0")
    yield p
    p.stop()


def test_expect_100_continue(edge, go, node, py, jdk):
    """curl sends Expect: 100-continue before a body over 1 MiB and waits for
    the interim 100 (Go, Node, Python and the JDK send it) before the body; Node's
    client writes the body on its 'continue' event. One span per exchange,
    with the final status, never the 100."""
    with open("/tmp/ebpftrace-edge-body", "wb") as f:
        f.write(b"b" * 1_500_000)
    for peer, answer in ((go, b"got 1500000\n"), (node, b"got 1500000\n"),
                         (py, b"got 1500000 bytes\n"), (jdk, b"got 1500000 bytes\n")):
        t0 = time.time_ns()
        assert curl("--data-binary", "@/tmp/ebpftrace-edge-body", peer.url + "/echo") == [200]
        srv, cli = exchanges(edge, peer.port, t0, 1)
        for s in srv + cli:
            check(s, "POST", "/echo", 200, req_size=1500000, resp_size=len(answer))
    t0 = time.time_ns()
    assert run("node", os.path.join(PEERS, "node_edge.js"), "post-continue",
               node.url + "/up", "100000").split() == ["200"]
    srv, cli = exchanges(edge, node.port, t0, 1)
    for s in srv + cli:
        check(s, "POST", "/up", 200, req_size=100000, resp_size=len(b"got 100000\n"))


def test_early_hints_then_final_response(edge, go, node):
    """Go (WriteHeader(103)) and Node (writeEarlyHints) send 103 before the
    200; curl reads both. Also pipelined behind other requests."""
    for peer in (go, node):
        t0 = time.time_ns()
        assert curl(peer.url + "/hints") == [200]
        srv, cli = exchanges(edge, peer.port, t0, 1)
        for s in srv + cli:
            check(s, "GET", "/hints", 200, resp_size=7)
    t0 = time.time_ns()
    out = raw_exchange(go.port, b"GET /hints HTTP/1.1\r\nHost: a\r\n\r\n"
                       b"GET /etag HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n"
                       b"HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n"
                       b"GET /empty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 ") == 5  # 103, 200, 304, 200, 204
    srv, cli = exchanges(edge, go.port, t0, 4)
    want = [("GET", "/hints", 200, 7), ("GET", "/etag", 304, None),
            ("HEAD", "/file", 200, None), ("GET", "/empty", 204, None)]
    for s, c, (m, p, st, size) in zip(srv, cli, want):
        check(s, m, p, st, resp_size=size)
        check(c, m, p, st, resp_size=size)


# ---- bodies with no content, streamed, rejected early -------------------------

def test_head_304_204_on_one_connection(edge, go, node):
    """HEAD answered with the Content-Length (Go) or Transfer-Encoding:
    chunked (Node) of a body never sent, 304 to If-None-Match, 204: none of
    them has a body, and the next exchange on the connection is right."""
    t0 = time.time_ns()
    assert curl("-I", go.url + "/file", *NEXT, "-H", 'If-None-Match: "v1"', go.url + "/etag",
                *NEXT, go.url + "/etag", *NEXT, go.url + "/empty") == [200, 304, 200, 204]
    srv, cli = exchanges(edge, go.port, t0, 4)
    want = [("HEAD", "/file", 200, None), ("GET", "/etag", 304, None),
            ("GET", "/etag", 200, 8), ("GET", "/empty", 204, None)]
    for s, c, (m, p, st, size) in zip(srv, cli, want):
        check(s, m, p, st, resp_size=size)
        check(c, m, p, st, resp_size=size)
    t0 = time.time_ns()
    assert curl("-I", node.url + "/chunked", *NEXT, node.url + "/after") == [200, 200]
    srv, cli = exchanges(edge, node.port, t0, 2)
    for s in (srv[0], cli[0]):
        check(s, "HEAD", "/chunked", 200)
    for s in (srv[1], cli[1]):
        check(s, "GET", "/after", 200, resp_size=len(b"node /after\n"))


def test_streamed_response_with_trailer(edge, go, node):
    """Go flushes five chunks 100 ms apart and ends with a trailer field;
    Node writes a chunked body in pieces: the spans last as long as the
    body took, and the size is the payload."""
    t0 = time.time_ns()
    assert curl(go.url + "/stream") == [200]
    srv, cli = exchanges(edge, go.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/stream", 200, resp_size=5 * len(b"part 0 of a streamed body\n"))
        assert s.end - s.start >= 0.4e9, s
    t0 = time.time_ns()
    assert curl(node.url + "/chunked") == [200]
    srv, cli = exchanges(edge, node.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/chunked", 200, resp_size=len(b"first part\nsecond part\nlast\n"))
        assert s.end - s.start >= 0.04e9, s


def test_server_rejects_before_reading_the_body(edge, go):
    """Go answers 413 and closes without reading the 1.5 MB body curl is
    sending: one span each, the server's 4xx not an error, the client's is."""
    with open("/tmp/ebpftrace-edge-body", "wb") as f:
        f.write(b"b" * 1_500_000)
    t0 = time.time_ns()
    assert curl("--data-binary", "@/tmp/ebpftrace-edge-body", go.url + "/reject") == [413]
    srv, cli = exchanges(edge, go.port, t0, 1)
    for s in srv + cli:
        check(s, "POST", "/reject", 413, req_size=1500000, resp_size=9)
    assert srv[0].status == 0 and cli[0].status == 2


# ---- connections: slow, half-closed, upgraded, many at once ----------------

def test_request_sent_byte_by_byte(edge, go):
    """Headers written one byte at a time over ~1 s: the server span starts
    at the first byte, so it covers the whole request."""
    t0 = time.time_ns()
    req = b"GET /etag HTTP/1.1\r\nHost: slow\r\nConnection: close\r\n\r\n"
    out = raw_exchange(go.port, req, slow=0.02)
    assert out.startswith(b"HTTP/1.1 200")
    srv, cli = exchanges(edge, go.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/etag", 200, resp_size=8)
        assert s.end - s.start >= 0.02 * (len(req) - 1) * 0.9e9, s
    assert srv[0].attrs["server.address"] == "slow"


def test_request_line_longer_than_the_capture(edge, go, py):
    """A 12 KB query string (nginx answers 414 to that; Go and Python take
    it): the request line ends past the 8 KiB a record keeps, yet both ends
    make their spans, with the path whole and the method and status right."""
    t0 = time.time_ns()
    query = "?q=" + "x" * 12000
    assert curl(f"http://127.0.0.1:{go.port}/etag{query}",
                *NEXT, f"http://127.0.0.1:{go.port}/empty") == [200, 204]
    srv, cli = exchanges(edge, go.port, t0, 2)
    for s in (srv[0], cli[0]):
        check(s, "GET", "/etag", 200, resp_size=8)
    for s in (srv[1], cli[1]):
        check(s, "GET", "/empty", 204)
    t1 = time.time_ns()
    assert curl(f"http://127.0.0.1:{py.port}/users/7{query}") == [200]
    srv, cli = exchanges(edge, py.port, t1, 1)
    assert srv[0].attrs["url.path"] == "/users/7" and srv[0].name == "GET /users/{id}"
    assert cli[0].attrs["url.full"] == f"http://127.0.0.1:{py.port}/users/7?q=REDACTED"


def test_client_half_closes_after_the_request(edge, go):
    t0 = time.time_ns()
    out = raw_exchange(go.port, b"GET /empty HTTP/1.1\r\nHost: a\r\n\r\n", half_close=True)
    assert out.startswith(b"HTTP/1.1 204")
    srv, cli = exchanges(edge, go.port, t0, 1)
    for s in srv + cli:
        check(s, "GET", "/empty", 204)


def test_websocket_upgrade_frames_are_not_http(edge, node):
    """101 Switching Protocols ends HTTP on the connection: frames whose
    payload looks like HTTP make no span on either side."""
    import base64
    t0 = time.time_ns()
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
                  b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 101")
        mask = b"\x01\x02\x03\x04"
        for m in (b"GET /inframe HTTP/1.1\r\n\r\n", b"POST /x HTTP/1.1\r\n\r\n"):
            s.sendall(bytes([0x81, 0x80 | len(m)]) + mask +
                      bytes(c ^ mask[i % 4] for i, c in enumerate(m)))
            time.sleep(0.1)
        got = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    assert got.count(b"HTTP/1.1 200 OK") == 2  # the server's frames
    srv, cli = exchanges(edge, node.port, t0, 1)
    for sp in srv + cli:
        check(sp, "GET", "/ws", 101)


def test_node_client_keepalive_agent(edge, go):
    t0 = time.time_ns()
    assert run("node", os.path.join(PEERS, "node_edge.js"), "get",
               go.url + "/empty", "3").split() == ["204"] * 3
    srv, cli = exchanges(edge, go.port, t0, 3)
    for s in srv + cli:
        check(s, "GET", "/empty", 204)
    assert len({s.attrs["network.peer.port"] for s in srv}) == 1


def test_many_concurrent_keepalive_connections(edge, go, node):
    """A Go client with 8 connections, 5 requests each, to Node: 40 pairs,
    each server span the child of its own client span."""
    t0 = time.time_ns()
    out = run(go_edge_binary(), "get", node.url + "/many", "8", "5")
    assert out.split() == ["200"] * 40
    srv, cli = exchanges(edge, node.port, t0, 40, quiet=1.5)
    for s in srv + cli:
        check(s, "GET", "/many", 200, resp_size=len(b"node /many\n"))
    assert len({s.attrs["network.peer.port"] for s in srv}) == 8
    assert len({s.parent for s in srv}) == 40


# ---- how a server reads ------------------------------------------------------

def peek_server():
    """A server that peeks at each request before it reads it; its port."""
    import threading
    lsock, port = local_listener()

    def serve():
        conn, _ = lsock.accept()
        with conn:
            for _ in range(2):
                peeked = conn.recv(4096, socket.MSG_PEEK)
                assert peeked.startswith(b"GET /peek/")
                read_head(conn)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\npeek\n")
        lsock.close()
    threading.Thread(target=serve, daemon=True).start()
    return port


@pytest.mark.parametrize("hooks", ["tracepoints", "raw"])
def test_server_peeks_before_reading(edge, hooks):
    """A server that looks at what is queued with recv(MSG_PEEK) before it
    reads it (as protocol sniffers do: Envoy's HTTP inspector, servers that
    tell TLS from plaintext on one port) is handed each byte twice, but only
    the read consumes it: two keep-alive requests are two exchanges (the
    peeked copy made a third request, and the second response went to it)."""
    t = edge if hooks == "tracepoints" else \
        Tracer("--pid", str(os.getpid()), "--hooks", "raw").start()
    try:
        port = peek_server()
        t0 = time.time_ns()
        url = f"http://127.0.0.1:{port}/peek/"
        assert curl(url + "1", *NEXT, url + "2") == [200, 200]
        srv, cli = exchanges(t, port, t0, 2)
    finally:
        if t is not edge:
            assert t.stop() == 0
    for pair, path in zip(zip(srv, cli), ("/peek/1", "/peek/2")):
        for s in pair:
            check(s, "GET", path, 200, resp_size=5)


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def _chunked_then_204(edge, path, send, recv, idle=0.0):
    """Two exchanges on one connection with a loopback server. The first
    answer, chunked, is sent by send(conn) once its request is read, and
    read by recv(sock) (then recv_more to its last chunk) once all of it is
    queued; idle seconds later a request for /next is answered 204.
    Returns (server spans, client spans)."""
    import threading
    lsock, port = local_listener()

    def serve():
        conn, _ = lsock.accept()
        with conn:
            read_head(conn)
            send(conn)
            read_head(conn)
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        lsock.close()
    th = threading.Thread(target=serve)
    th.start()
    t0 = time.time_ns()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path.encode())
        time.sleep(0.2)  # all of it is queued: one read takes it
        got = recv(c)
        while not got.endswith(b"0\r\n\r\n"):
            got += recv_more(c)
        time.sleep(idle)
        c.sendall(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 204")
    th.join()
    srv, cli = exchanges(edge, port, t0, 2)
    for s in (srv[1], cli[1]):
        check(s, "GET", "/next", 204)
    return srv, cli


def test_chunked_body_whose_end_the_capture_missed(edge):
    """A 30 kB chunked body read in one 64 kB read: BPF copies its first
    8 kB and its last bytes, the chunk framing between is not seen. The
    client keeps the connection idle for a second, then sends the next
    request: the first span ends with the read that took its body, not a
    second later."""
    body = b"".join(b"%x\r\n%s\r\n" % (1000, b"c" * 1000) for _ in range(30))
    srv, cli = _chunked_then_204(
        edge, "/whole", lambda conn: conn.sendall(CHUNKED_HEAD + body + b"0\r\n\r\n"),
        recv_more, idle=1.0)
    for s in (srv[0], cli[0]):
        check(s, "GET", "/whole", 200, resp_size=(30000,))
    assert cli[0].end - cli[0].start < 0.6e9, cli[0]
    assert cli[0].end <= cli[1].start


@pytest.mark.parametrize("how", ["write_and_read", "writev_and_readv"])
def test_long_chunk_framed_by_the_ends_of_its_syscalls(edge, how):
    """One write carries a chunk of 20 kB with the framing on both sides
    of it (size line, CRLF, last chunk), one read takes it all: more than
    BPF copies, but it sends the syscall's last bytes too, so the body is
    framed exactly on both ends (its size was unknown before). writev
    spreads the end over two iovecs, readv reads into two buffers."""
    parts = [CHUNKED_HEAD, b"%x\r\n" % 20000 + b"d" * 20000, b"\r\n0\r\n\r\n"]
    if how == "write_and_read":
        def send(conn):
            conn.sendall(b"".join(parts))

        def recv(sock):
            return sock.recv(65536)
    else:
        def send(conn):
            assert conn.sendmsg(parts) == len(b"".join(parts))

        def recv(sock):
            bufs = [bytearray(5000), bytearray(60000)]
            n = sock.recvmsg_into(bufs)[0]
            return bytes(b"".join(bufs))[:n]
    srv, cli = _chunked_then_204(edge, "/one", send, recv)
    for s in (srv[0], cli[0]):
        check(s, "GET", "/one", 200, resp_size=20000)


def test_pipeline_deeper_than_kept_never_mispairs(edge, go):
    """40 requests written at once (more than the 32 kept in flight per
    connection), then one more after their responses: the first 32 and the
    last are traced, each with its own response, and none is paired with
    another's (the 33rd response went to the 34th request, and so on)."""
    t0 = time.time_ns()
    paths = [b"/etag" if i % 2 else b"/empty" for i in range(40)]
    with socket.create_connection(("127.0.0.1", go.port), timeout=10) as s:
        s.sendall(b"".join(b"GET %s?i=%d HTTP/1.1\r\nHost: a\r\n\r\n" % (p, i)
                           for i, p in enumerate(paths)))
        got = b""
        while got.count(b"HTTP/1.1 ") < 40 or not got.endswith(b"content\n"):
            got += recv_more(s)
        s.sendall(b"GET /hints HTTP/1.1\r\nHost: a\r\n\r\n")
        while not got.endswith(b"hinted\n"):
            got += recv_more(s)
    srv, cli = exchanges(edge, go.port, t0, 33)
    for spans in (srv, cli):
        for s, p in zip(spans, paths[:32] + [b"/hints"]):
            want = {b"/etag": ("/etag", 200, 8), b"/empty": ("/empty", 204, None),
                    b"/hints": ("/hints", 200, 7)}[p]
            check(s, "GET", *want[:2], resp_size=want[2])


def test_jdk_http_client(edge, go):
    """java.net.http.HttpClient on one keep-alive connection: a POST with
    Expect: 100-continue, a POST of unknown length (chunked), a HEAD, a
    GET with a chunked answer."""
    t0 = time.time_ns()
    out = run("java", os.path.join(PEERS, "JdkEdgeClient.java"), go.url, timeout=120)
    assert out.split() == ["200"] * 4
    srv, cli = exchanges(edge, go.port, t0, 4)
    for s, c in zip(srv, cli):
        assert c.service == "JdkEdgeClient"
        assert c.attrs["network.peer.port"] == cli[0].attrs["network.peer.port"]
    for s in (srv[0], cli[0]):
        check(s, "POST", "/echo", 200, req_size=100000, resp_size=len(b"got 100000\n"))
    for s in (srv[1], cli[1]):
        check(s, "POST", "/echo", 200, req_size=(100000,), resp_size=len(b"got 100000\n"))
    for s in (srv[2], cli[2]):
        check(s, "HEAD", "/file", 200)
    for s in (srv[3], cli[3]):
        check(s, "GET", "/big", 200, resp_size=(100000,))


def test_request_dropped_unanswered_is_nobody_s_parent(edge, go):
    """A server thread reads a request whose client gives up and closes
    before the answer; the thread closes too, then calls another server.
    That call is not the child of the request that was never answered
    (an error span, ended by the close)."""
    import threading
    lsock, port = local_listener()
    out = {}

    def serve():
        conn, _ = lsock.accept()
        read_head(conn)
        assert conn.recv(4096) == b""  # the client is gone
        conn.close()
        out["later"] = raw_exchange(go.port, b"GET /empty HTTP/1.1\r\nHost: a\r\n"
                                    b"Connection: close\r\n\r\n")
        lsock.close()
    th = threading.Thread(target=serve)
    th.start()
    t0 = time.time_ns()
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(b"GET /abandoned HTTP/1.1\r\nHost: h\r\n\r\n")
    th.join()
    assert out["later"].startswith(b"HTTP/1.1 204")
    srv, cli = exchanges(edge, go.port, t0, 1)
    assert cli[0].parent == "", cli[0]
    gone = edge.wait_for(lambda s: s.kind == CLIENT and s.attrs.get(
        "url.full", "").endswith("/abandoned"), count=1, since=t0)
    assert gone[0].attrs["error.type"] == "connection_closed", gone
    left = edge.wait_for(lambda s: s.kind == SERVER and
                         s.attrs.get("url.path") == "/abandoned",
                         count=1, since=t0)
    assert left[0].attrs["error.type"] == "connection_closed", left
    # the client's span is its parent when the client was still connected
    # as the server read (the 4-tuple match needs both ends); it may have
    # closed before that
    assert left[0].parent in ("", gone[0].span_id), (left, gone)
    assert cli[0].parent != left[0].span_id


CONNECT_PROXY = LISTEN_AND_PIPE + r'''def tunnel(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(4096)
        if not d:
            return
        head += d
    host, port = head.split()[1].decode().rsplit(":", 1)
    u = socket.create_connection((host, int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    pipe(c, u)
while True:
    threading.Thread(target=tunnel, args=(ls.accept()[0],), daemon=True).start()
'''


def test_connect_tunnel_with_plain_http_inside(edge, go, tmp_path):
    """curl -p -x: CONNECT to a proxy, then plain HTTP through the tunnel.
    One CONNECT span per side (no route, no path); the tunnel's bytes are
    not parsed (docs/limits.md), and the proxy's own connection upstream is
    traced with no parent that would never be exported."""
    script = tmp_path / "connect_proxy.py"
    script.write_text(CONNECT_PROXY)
    proxy = ReadyPeer("python3", "-u", str(script))
    try:
        t0 = time.time_ns()
        assert curl("-p", "-x", proxy.url, go.url + "/empty") == [204]
        (cs,) = edge.wait_for(lambda s: s.kind == CLIENT and s.service == "curl"
                              and s.attrs.get("network.peer.port") == proxy.port, since=t0)
        (ps,) = edge.wait_for(lambda s: s.kind == SERVER
                              and s.resource.get("process.pid") == proxy.proc.pid, since=t0)
        (gs,) = edge.wait_for(lambda s: s.kind == SERVER
                              and s.resource.get("process.pid") == go.proc.pid, since=t0)
        (pc,) = edge.wait_for(lambda s: s.kind == CLIENT and s.span_id == gs.parent, since=t0)
        time.sleep(1)
    finally:
        proxy.stop()
    for s in (cs, ps):
        assert s.name == "CONNECT", s
        assert s.attrs["http.response.status_code"] == 200
    assert "http.route" not in ps.attrs and "url.path" not in ps.attrs
    assert ps.parent == cs.span_id
    check(gs, "GET", "/empty", 204)
    assert pc.resource["process.pid"] == proxy.proc.pid
    assert pc.parent == "", pc  # was the span of a request read in the tunnel
    every = [s for s in edge.all_spans() if isinstance(s, Span) and s.start >= t0]
    assert sorted(s.span_id for s in every) == sorted(
        s.span_id for s in (cs, ps, pc, gs)), every  # nothing from inside


@pytest.mark.parametrize("hooks", ["tracepoints", "raw"])
def test_body_spliced_from_a_pipe(edge, hooks):
    """A server that moves bodies with splice(2) (a pipe to the socket, as
    proxies that splice do, or Go's io.Copy between connections): the bytes
    never pass through its memory. Three keep-alive exchanges: each span
    has its own response (the body's bytes, unseen, used to swallow the
    next response head and shift every later pairing)."""
    import threading
    lsock, port = local_listener()
    bodies = [b"s" * 3000, b"t" * 10, b"u" * 20000]

    def serve():
        conn, _ = lsock.accept()
        with conn:
            rfile = conn.makefile("rb")
            for body in bodies:
                while rfile.readline() not in (b"\r\n", b""):
                    pass
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                r, w = os.pipe()
                os.set_blocking(w, True)
                threading.Thread(target=lambda: (os.write(w, body), os.close(w))).start()
                left = len(body)
                while left:
                    n = os.splice(r, conn.fileno(), left)
                    assert n > 0, "pipe closed early"
                    left -= n
                os.close(r)
        lsock.close()
    t = edge if hooks == "tracepoints" else \
        Tracer("--pid", str(os.getpid()), "--hooks", "raw").start()
    th = threading.Thread(target=serve)
    th.start()
    try:
        t0 = time.time_ns()
        url = f"http://127.0.0.1:{port}/splice/"
        assert curl(url + "1", *NEXT, url + "2", *NEXT, url + "3") == [200, 200, 200]
        th.join()
        srv, cli = exchanges(t, port, t0, 3)
    finally:
        if t is not edge:
            assert t.stop() == 0
    for i, (s, c) in enumerate(zip(srv, cli)):
        check(s, "GET", f"/splice/{i + 1}", 200, resp_size=len(bodies[i]))
        check(c, "GET", f"/splice/{i + 1}", 200, resp_size=len(bodies[i]))


def test_empty_lines_before_the_first_request(edge, go, node):
    """RFC 9112 2.2: a server ignores a CRLF before a request line (some
    clients send one after a body); Node does, Go answers 400. Either way
    a connection whose first bytes are that CRLF is HTTP: one exchange."""
    for peer, status in ((node, 200), (go, 400)):
        t0 = time.time_ns()
        req = b"\r\nGET /etag HTTP/1.1\r\nHost: crlf\r\nConnection: close\r\n\r\n"
        out = raw_exchange(peer.port, req)
        assert out.startswith(b"HTTP/1.1 %d" % status), out[:200]
        srv, cli = exchanges(edge, peer.port, t0, 1)
        for s in srv + cli:
            assert s.attrs["http.request.method"] == "GET", s
            assert s.attrs["http.response.status_code"] == status, s
        assert srv[0].attrs["url.path"] == "/etag"


def test_folded_fields_extension_methods_and_a_rejected_request(edge, py):
    """Python's server accepts what RFC 9112 lets a server accept: folded
    field lines (obs-fold), a lowercase (extension) method, also as a
    connection's first request, a field line the tracer's parser rejects. The first two are exchanges like any
    other; the rejected request gets no span, and the response Python
    still sends it is not paired with the request after it."""
    t0 = time.time_ns()
    out = raw_exchange(py.port, (
        b"GET /users/1 HTTP/1.1\r\nHost: fold\r\nX-List: one,\r\n two,\r\n"
        b"\tthree\r\n\r\n"
        b"GET /users/2 HTTP/1.1\r\nHost: fold\r\nBad Field: x\r\n\r\n"
        b"GET /after HTTP/1.1\r\nHost: fold\r\nConnection: close\r\n\r\n"))
    assert out.count(b"HTTP/1.1 200") == 2 and b"HTTP/1.1 404" in out, out
    srv, cli = exchanges(edge, py.port, t0, 2)
    check(srv[0], "GET", "/users/1", 200, resp_size=27)
    check(srv[1], "GET", "/after", 404, resp_size=10)
    check(cli[1], "GET", "/after", 404, resp_size=10)

    # a lower-case method after a first request, and opening a connection
    # (RFC 9110: a method is a case-sensitive token; "get" is an extension
    # method, which Python answers with 501)
    t0 = time.time_ns()
    out = raw_exchange(py.port, b"GET /users/4 HTTP/1.1\r\nHost: low\r\n\r\n"
                       b"get /users/3 HTTP/1.1\r\nHost: low\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 501" in out, out
    srv, cli = exchanges(edge, py.port, t0, 2)
    check(srv[0], "GET", "/users/4", 200, resp_size=27)
    for s in (srv[1], cli[1]):
        assert s.attrs["http.request.method"] == "_OTHER", s
        assert s.attrs["http.request.method_original"] == "get", s
        assert s.attrs["http.response.status_code"] == 501, s
        assert s.name.startswith("HTTP"), s

    # opening a connection: a lower-case method, one with '-' (SSDP's
    # M-SEARCH)
    for method, host in ((b"get", b"low"), (b"M-SEARCH", b"dash")):
        t0 = time.time_ns()
        out = raw_exchange(py.port, method + b" /users/7 HTTP/1.1\r\nHost: "
                           + host + b"\r\nConnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 501"), out
        srv, cli = exchanges(edge, py.port, t0, 1)
        for s in srv + cli:
            assert s.attrs["http.request.method"] == "_OTHER", s
            assert s.attrs["http.request.method_original"] == \
                method.decode(), s
            assert s.attrs["http.response.status_code"] == 501, s


UNIX_SERVER = r"""
import http.server, os, socketserver, sys
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def address_string(self):
        return "unix"
    def log_message(self, *a):
        pass
    def do_GET(self):
        body = self.path.encode()
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = S(sys.argv[1], H)
print("READY 0", flush=True)
s.serve_forever()
"""


def test_http_over_a_unix_socket(edge, tmp_path):
    """HTTP on a unix stream socket (gunicorn behind nginx, the Docker
    API): curl --unix-socket to a Python server, two requests on one
    connection. Both ends make their spans, the server's under the
    client's (the two ends of the socket pair link them as a 4-tuple does
    for TCP); the peer is the socket's path, the transport unix, no port."""
    path = str(tmp_path / "app.sock")
    srv_p = ReadyPeer("python3", "-c", UNIX_SERVER, path)
    try:
        t0 = time.time_ns()
        assert curl("--unix-socket", path, "http://localhost/users/12",
                    *NEXT, "--unix-socket", path, "http://localhost/missing") == [200, 404]

        def mine(kind):
            return lambda s: (s.kind == kind and
                              s.attrs.get("network.peer.address") == path)
        edge.wait_for(mine(SERVER), 2, since=t0)
        edge.wait_for(mine(CLIENT), 2, since=t0)
        time.sleep(1.0)
        srv = sorted(edge.wait_for(mine(SERVER), 2, since=t0), key=lambda s: s.start)
        cli = sorted(edge.wait_for(mine(CLIENT), 2, since=t0), key=lambda s: s.start)
    finally:
        srv_p.stop()
    assert len(srv) == 2 and len(cli) == 2, (srv, cli)
    for s, c, p, code in zip(srv, cli, ("/users/12", "/missing"), (200, 404)):
        assert s.parent == c.span_id and s.trace_id == c.trace_id, (s, c)
        assert s.attrs["url.path"] == p and s.attrs["http.response.status_code"] == code
        assert c.attrs["url.full"] == "http://localhost:80" + p, c
        for x in (s, c):
            assert x.attrs["network.transport"] == "unix", x
            assert "network.peer.port" not in x.attrs, x
            assert x.attrs["http.response.body.size"] == len(p), x
        assert "server.port" not in s.attrs and s.attrs["server.address"] == "localhost", s


def test_server_closes_without_answering(edge):
    """A server reads a request and closes without a word (a crash, a
    proxy dropping it): curl's call failed, and its span says so, as an
    instrumented client reports a failed call: an error with error.type
    connection_closed, no status code, ending at the close. The server's
    side is the same kind of span, under curl's: the request came in and
    was not answered. The abandoned request of the client that gives up
    first is one too (the test just above: the client closes before any
    answer)."""
    import threading
    lsock, port = local_listener()

    def serve():
        conn, _ = lsock.accept()
        read_head(conn)
        time.sleep(0.2)
        conn.close()
        lsock.close()
    th = threading.Thread(target=serve)
    th.start()
    t0 = time.time_ns()
    out = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/noanswer"],
                         capture_output=True, timeout=30)
    th.join()
    assert out.returncode == 52, out  # curl: empty reply from server
    cli = edge.wait_for(lambda s: s.kind == CLIENT and
                        s.attrs.get("url.full", "").endswith("/noanswer"),
                        count=1, since=t0)
    s = cli[0]
    assert s.status == 2, s
    assert s.attrs["error.type"] == "connection_closed", s
    assert "http.response.status_code" not in s.attrs, s
    assert s.end - s.start >= 150_000_000, s
    srv = edge.wait_for(lambda s: s.kind == SERVER and
                        s.attrs.get("url.path") == "/noanswer",
                        count=1, since=t0)[0]
    assert srv.status == 2 and srv.name == "GET /noanswer", srv
    assert srv.attrs["error.type"] == "connection_closed", srv
    assert "http.response.status_code" not in srv.attrs, srv
    assert srv.trace_id == s.trace_id and srv.parent == s.span_id, (srv, s)
    assert srv.end - srv.start >= 150_000_000, srv


def tcp_ext(name):
    """A TcpExt counter of /proc/net/netstat."""
    with open("/proc/net/netstat") as f:
        rows = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(rows[1][rows[0].index(name)])


def test_tcp_fast_open_without_connect(edge):
    """TCP Fast Open as a program does it without connect(): sendto or
    sendmsg with MSG_FASTOPEN and the server's address connects the socket
    and sends the request in one call. Non-blocking and without the
    server's cookie it fails with EINPROGRESS and the request is written
    once connected; with the cookie the request rides in the SYN. Each is
    a client span, the parent of the server's. A fresh loopback address
    per run: no cookie is cached for it yet."""
    import random
    import select
    import threading
    sysctl = "/proc/sys/net/ipv4/tcp_fastopen"
    with open(sysctl) as f:
        saved = f.read().strip()
    host = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    lsock = socket.socket()
    try:
        with open(sysctl, "w") as f:
            f.write("3")  # client and server
        lsock.bind((host, 0))
        lsock.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
        lsock.listen()
        port = lsock.getsockname()[1]

        def serve():
            for _ in range(3):
                conn, _ = lsock.accept()
                with conn:
                    read_head(conn)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        th = threading.Thread(target=serve)
        th.start()
        req = lambda n: f"GET /tfo/{n} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        passive = tcp_ext("TCPFastOpenPassive")
        t0 = time.time_ns()
        with socket.socket() as s:  # no cookie yet: EINPROGRESS
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.sendto(req(1), socket.MSG_FASTOPEN, (host, port))
            select.select([], [s], [], 10)
            s.setblocking(True)
            s.sendall(req(1))
            assert read_head(s).startswith(b"HTTP/1.1 200")
        with socket.socket() as s:  # the cookie: the request in the SYN
            assert s.sendto(req(2), socket.MSG_FASTOPEN, (host, port)) == len(req(2))
            assert read_head(s).startswith(b"HTTP/1.1 200")
        with socket.socket() as s:
            assert s.sendmsg([req(3)], [], socket.MSG_FASTOPEN, (host, port)) == len(req(3))
            assert read_head(s).startswith(b"HTTP/1.1 200")
        th.join(10)
        assert tcp_ext("TCPFastOpenPassive") >= passive + 2  # two in the SYN
    finally:
        lsock.close()
        with open(sysctl, "w") as f:
            f.write(saved)
    srv, cli = exchanges(edge, port, t0, 3)
    for n, s in enumerate(srv, 1):
        check(s, "GET", f"/tfo/{n}", 200, resp_size=2)
    for n, c in enumerate(cli, 1):
        check(c, "GET", f"/tfo/{n}", 200, resp_size=2)
        assert c.attrs["network.peer.address"] == host, c
