"""HTTP inside TLS, read through the uprobes on libssl (SSL_read/SSL_write,
their _ex forms, SSL_do_handshake) and GnuTLS (gnutls_record_recv/_send):
real clients and servers (curl, Python's ssl module, nginx, wget), traced
by the real BPF programs.

Every case checks both ends: one server span and one client span per
exchange, https in their URLs, the right status and sizes, and the server
span under the client's (matched by the 4-tuple, as in the clear). What is
not HTTP inside TLS (HTTP/2, binary) makes no span.

The tracer is this module's own, selected with --pid of the test process
(every peer is a child of it).
"""
import os
import re
import subprocess
import time

import pytest

from lib.peers import ReadyPeer, stop_process
from lib.tracer import Span, Tracer, traced_self

SERVER, CLIENT = 2, 3

HTTPS_SERVER = r"""
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("hello " + self.path).encode()
        self.send_response(503 if "fail" in self.path else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        got = self.rfile.read(n)
        self.send_response(201)
        self.send_header("Content-Length", str(len(got)))
        self.end_headers()
        self.wfile.write(got)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("READY", srv.server_address[1], flush=True)
srv.serve_forever()
"""

PY_CLIENT = r"""
import http.client, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx)
out = []
for path, body in (("/orders/17", None), ("/upload", b"x" * 70000)):
    c.request("POST" if body else "GET", path, body=body)
    r = c.getresponse()
    out.append("%d:%d" % (r.status, len(r.read())))
print(" ".join(out))
"""


@pytest.fixture(scope="module")
def tls_tracer():
    yield from traced_self()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = str(d / "key.pem"), str(d / "cert.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-days", "2",
                        "-keyout", key, "-out", crt], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return crt, key


@pytest.fixture(scope="module")
def https(cert):
    p = ReadyPeer("python3", "-c", HTTPS_SERVER, *cert)
    yield p
    p.stop()


def curl(*args):
    out = subprocess.run(["curl", "-sk", "--http1.1", "-o", "/dev/null",
                          "-w", "%{http_code}\n", *args],
                         capture_output=True, text=True, timeout=30)
    return [int(x) for x in out.stdout.split()]


def on_port(port, kind):
    return lambda s: s.kind == kind and s.attrs.get("server.port") == port


def pairs(t, port, since, count):
    """(server, client) span pairs of the exchanges with port since
    `since`, in start order, once `count` of each exist and no more came
    for a second: exactly `count` of each, each server span under one
    client span of the same trace."""
    t.wait_for(on_port(port, SERVER), count, since=since)
    t.wait_for(on_port(port, CLIENT), count, since=since)
    time.sleep(1.0)
    srv = sorted(t.wait_for(on_port(port, SERVER), count, since=since), key=lambda s: s.start)
    cli = sorted(t.wait_for(on_port(port, CLIENT), count, since=since), key=lambda s: s.start)
    assert len(srv) == count and len(cli) == count, (srv, cli)
    by_id = {c.span_id: c for c in cli}
    for s in srv:
        assert s.parent in by_id and by_id[s.parent].trace_id == s.trace_id, (s, cli)
    return srv, [by_id[s.parent] for s in srv]


def test_curl_and_python_clients_to_a_python_https_server(tls_tracer, https):
    """curl (SSL_read/SSL_write) makes two requests on one connection;
    Python's http.client (SSL_read_ex/SSL_write_ex) a GET and a 70 kB POST
    (many SSL records) on another."""
    t0 = time.time_ns()
    base = f"https://127.0.0.1:{https.port}"
    assert curl(base + "/items/42", "--next", "-sk", "--http1.1", "-o", "/dev/null",
                "-w", "%{http_code}\n", base + "/fail/now") == [200, 503]
    r = subprocess.run(["python3", "-c", PY_CLIENT, str(https.port)],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == ["200:16", "201:70000"], r.stderr
    srv, cli = pairs(tls_tracer, https.port, t0, 4)
    want = [("GET", "/items/42", 200, 15), ("GET", "/fail/now", 503, 15),
            ("GET", "/orders/17", 200, 16), ("POST", "/upload", 201, 70000)]
    for s, c, (method, path, code, size) in zip(srv, cli, want):
        assert s.attrs["url.scheme"] == "https", s
        assert s.attrs["url.path"] == path, s
        assert c.attrs["url.full"] == f"https://127.0.0.1:{https.port}{path}", c
        for x in (s, c):
            assert x.attrs["http.request.method"] == method, x
            assert x.attrs["http.response.status_code"] == code, x
            assert x.attrs["http.response.body.size"] == size, x
    assert srv[3].attrs["http.request.body.size"] == 70000, srv[3]
    assert cli[0].resource["process.executable.name"] == "curl", cli[0].resource
    assert srv[1].status == 2 and cli[1].status == 2, (srv[1], cli[1])  # 503: error


def test_wget_over_gnutls(tls_tracer, https):
    """wget (Debian's links GnuTLS, not OpenSSL): gnutls_record_send/_recv
    give the plaintext the same way."""
    t0 = time.time_ns()
    r = subprocess.run(["wget", "-q", "-O", "-", "--no-check-certificate",
                        f"https://127.0.0.1:{https.port}/wget/7"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == "hello /wget/7", r
    (s,), (c,) = pairs(tls_tracer, https.port, t0, 1)
    assert c.resource["process.executable.name"] == "wget", c.resource
    assert c.attrs["url.full"] == f"https://127.0.0.1:{https.port}/wget/7", c
    assert c.attrs["user_agent.original"].startswith("Wget/"), c
    for x in (s, c):
        assert x.attrs["http.response.status_code"] == 200, x
        assert x.attrs["http.response.body.size"] == 13, x


NGINX_CONF = """
daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {crt}; ssl_certificate_key {key};
    location /direct/ {{ return 200 "nginx\\n"; }}
    location /up/ {{
      proxy_pass https://127.0.0.1:{up}/;
      proxy_http_version 1.1; proxy_set_header Connection "";
    }}
  }}
}}
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nginx_terminates_and_originates_tls(tls_tracer, https, cert, tmp_path):
    """curl -> nginx (TLS, non-blocking event loop) -> Python (TLS): one
    trace of four spans. A request curl makes over HTTP/2 (ALPN h2) to the
    same nginx is not HTTP/1.x: it makes no span at all."""
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=tmp_path, port=port, crt=cert[0], key=cert[1],
                                      up=https.port))
    ngx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp_path)])
    try:
        deadline = time.time() + 10
        while time.time() < deadline and curl(f"https://127.0.0.1:{port}/direct/") != [200]:
            time.sleep(0.2)
        time.sleep(0.5)
        t0 = time.time_ns()
        h2 = subprocess.run(["curl", "-sk", "--http2", f"https://127.0.0.1:{port}/direct/h2"],
                            capture_output=True, text=True, timeout=30)
        assert h2.stdout == "nginx\n", h2
        assert curl(f"https://127.0.0.1:{port}/up/users/7") == [200]
        front_s, front_c = pairs(tls_tracer, port, t0, 1)
        back_s, back_c = pairs(tls_tracer, https.port, t0, 1)
    finally:
        stop_process(ngx)
    assert front_s[0].attrs["url.path"] == "/up/users/7", front_s
    assert back_c[0].attrs["url.full"] == f"https://127.0.0.1:{https.port}/users/7", back_c
    assert back_c[0].parent == front_s[0].span_id, (back_c, front_s)
    assert len({x.trace_id for x in front_s + front_c + back_s + back_c}) == 1
    assert back_s[0].attrs["url.scheme"] == "https"
    h2_spans = [s for s in tls_tracer.all_spans() if isinstance(s, Span) and s.start >= t0
                and "h2" in (s.attrs.get("url.path", "") + s.attrs.get("url.full", ""))]
    assert h2_spans == [], h2_spans


def test_tls_can_be_turned_off(https):
    """--tls=false: the same exchange makes no span (and the tracer says
    nothing of libssl)."""
    t = Tracer("--pid", str(os.getpid()), "--tls=false").start()
    try:
        time.sleep(0.5)
        t0 = time.time_ns()
        assert curl(f"https://127.0.0.1:{https.port}/items/1") == [200]
        time.sleep(2.0)
        mine = [s for s in t.all_spans() if isinstance(s, Span) and s.start >= t0
                and s.attrs.get("server.port") == https.port]
    finally:
        rc = t.stop()
    assert rc == 0, t.stderr.decode(errors="replace")
    assert mine == [], mine
    assert b"tls: uprobes" not in t.stderr, t.stderr


ASYNCIO_SERVER = r"""
import asyncio, ssl, sys
async def handle(r, w):
    while True:
        head = await r.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1]
        body = b"async " + path
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await w.drain()
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print("READY", srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
"""

ASYNCIO_CLIENT = r"""
import asyncio, ssl, sys
async def get(r, w, path):
    w.write(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
    head = await r.readuntil(b"\r\n\r\n")
    n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await r.readexactly(n)
    return head.split(b" ")[1].decode()
async def main():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = []
    for port in sys.argv[1:]:
        r, w = await asyncio.open_connection("127.0.0.1", int(port), ssl=ctx)
        out += [await get(r, w, "/async/1"), await get(r, w, "/async/2")]
        w.close()
    print(" ".join(out))
asyncio.run(main())
"""


def test_asyncio_memory_bios_both_ends(tls_tracer, https, cert):
    """Python's asyncio drives OpenSSL through memory BIOs: the library
    encrypts into memory and asyncio sends the ciphertext after the call,
    so the socket is learnt from the handshake's first flight. An asyncio
    client calls an asyncio TLS server and the threaded (socket BIO)
    server, two requests each on one connection: every exchange makes its
    two spans, linked."""
    srv = ReadyPeer("python3", "-c", ASYNCIO_SERVER, *cert)
    try:
        t0 = time.time_ns()
        r = subprocess.run(["python3", "-c", ASYNCIO_CLIENT, str(srv.port), str(https.port)],
                           capture_output=True, text=True, timeout=30)
        assert r.stdout.split() == ["200"] * 4, r.stderr
        for port in (srv.port, https.port):
            s, c = pairs(tls_tracer, port, t0, 2)
            for x, y, path in zip(s, c, ("/async/1", "/async/2")):
                assert x.attrs["url.path"] == path and x.attrs["url.scheme"] == "https", x
                assert y.attrs["url.full"] == f"https://localhost:{port}{path}", y
                assert y.attrs["http.response.status_code"] == 200, y
    finally:
        srv.stop()


NODE_TLS = r"""
const https = require('https'), fs = require('fs'), readline = require('readline');
const srv = https.createServer({key: fs.readFileSync(process.argv[3]),
                                cert: fs.readFileSync(process.argv[2])}, (req, res) => {
  res.setHeader('Content-Length', 4 + req.url.length);
  res.end('node' + req.url);
});
srv.listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  console.log('READY', port);
  readline.createInterface({input: process.stdin}).once('line', async () => {
    const agent = new https.Agent({keepAlive: true, rejectUnauthorized: false});
    const out = [];
    for (const p of ['/n/1', '/n/2']) {
      out.push(await new Promise((ok, bad) => https.get(
        {host: '127.0.0.1', port, path: p, agent},
        res => { res.resume(); res.on('end', () => ok(res.statusCode)); }).on('error', bad)));
    }
    const r = await fetch(`https://127.0.0.1:${port}/fetch/3`);
    await r.text();
    out.push(r.status);
    console.log(out.join(' '));
    agent.destroy();
    srv.close();
  });
});
"""


def test_node_https_with_openssl_linked_in(tls_tracer, cert, tmp_path):
    """Node.js links OpenSSL into its executable (no libssl.so mapped) and
    drives it through memory BIOs: the executable gets the uprobes (it
    defines SSL_write), found by the scan after it started. Its https
    server, and its https.get (keep-alive) and fetch (undici) clients
    calling it: three exchanges, both spans each, linked."""
    script = tmp_path / "node_tls.js"
    script.write_text(NODE_TLS)
    node = subprocess.Popen(["node", str(script), *cert], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, NODE_TLS_REJECT_UNAUTHORIZED="0"))
    try:
        line = node.stdout.readline().decode()
        assert line.startswith("READY"), line
        port = int(line.split()[1])
        deadline = time.time() + 25  # the scan runs every 10 s
        attached = re.compile(rb"tls: uprobes on \S*/node ")
        while not attached.search(tls_tracer.stderr) and time.time() < deadline:
            time.sleep(0.2)
        assert attached.search(tls_tracer.stderr), tls_tracer.stderr
        t0 = time.time_ns()
        out, _ = node.communicate(b"go\n", timeout=30)
        assert out.decode().split() == ["200", "200", "200"], out
        srv, cli = pairs(tls_tracer, port, t0, 3)
    finally:
        if node.poll() is None:
            node.kill()
    for s, c, path in zip(srv, cli, ("/n/1", "/n/2", "/fetch/3")):
        assert s.attrs["url.path"] == path and s.attrs["url.scheme"] == "https", s
        assert c.attrs["url.full"] == f"https://127.0.0.1:{port}{path}", c
        for x in (s, c):
            assert x.attrs["http.response.body.size"] == 4 + len(path), x
            assert x.resource["process.executable.name"] == "node", x.resource


def test_https_through_a_connect_proxy(tls_tracer, https, tmp_path):
    """curl -x: CONNECT to a forward proxy (a corporate egress proxy), then
    TLS through the tunnel, two requests. After its CONNECT span, curl's
    connection carries the TLS plaintext: one client span per request,
    https to the tunnel's target (host and port), the proxy its peer. The
    proxy only relays bytes; the server's spans are roots (no traceparent
    crossed the tunnel)."""
    from test_http_edge import CONNECT_PROXY
    script = tmp_path / "connect_proxy.py"
    script.write_text(CONNECT_PROXY)
    proxy = ReadyPeer("python3", "-u", str(script))
    try:
        t0 = time.time_ns()
        base = f"https://localhost:{https.port}"
        assert curl("-x", proxy.url, base + "/via/1", "--next", "-sk", "--http1.1",
                    "-o", "/dev/null", "-w", "%{http_code}\n", "-x", proxy.url,
                    base + "/via/2") == [200, 200]

        def curl_spans(s):
            return (s.kind == CLIENT and s.service == "curl"
                    and s.attrs.get("network.peer.port") == proxy.port)
        cli = tls_tracer.wait_for(curl_spans, 3, since=t0)
        def served(s):  # the proxy's CONNECT span names that port too
            return on_port(https.port, SERVER)(s) and s.name != "CONNECT"
        tls_tracer.wait_for(served, 2, since=t0)
        time.sleep(1.0)
        cli = sorted(tls_tracer.wait_for(curl_spans, 3, since=t0), key=lambda s: s.start)
        srv = tls_tracer.wait_for(served, 2, since=t0)
    finally:
        proxy.stop()
    assert [s.name for s in cli] == ["CONNECT", "GET", "GET"], cli
    for c, path in zip(cli[1:], ("/via/1", "/via/2")):
        assert c.attrs["url.full"] == base + path, c
        assert c.attrs["http.response.status_code"] == 200, c
        assert c.attrs["http.response.body.size"] == len("hello " + path), c
    assert len(srv) == 2 and all(s.attrs["url.scheme"] == "https" for s in srv), srv
