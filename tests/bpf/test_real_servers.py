"""Production servers and proxies as users run them, traced by the real BPF
programs: nginx (static files over sendfile, reverse proxy with a keep-alive
upstream pool), Apache httpd (event MPM: forked children of threads, as
www-data) and lighttpd (static files and mod_proxy), gunicorn (prefork sync
workers), uvicorn (asyncio), Express on Node.js, Netty (its native epoll
transport and NIO) and HAProxy, with a Python backend behind the proxies.

Each case checks what a user sees: exactly one server span per request
(method, url.path, http.route, status, body sizes), the client spans, the
parent/child links the design promises (same-host 4-tuple; a proxy's
upstream request under the request it forwards, also with many in flight
on one event-loop thread) and a service.name a person recognises.

The tracer is this module's own, selected with --pid of the test process:
every server is a child of it (the tracer follows forks) and so are the
curl clients. The servers are installed by tests/deps.sh (apt: nginx-light,
haproxy, apache2, lighttpd; pip: gunicorn, uvicorn); Express by npm and
Netty by Maven into the cache.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from lib.peers import PEERS, maven_jars, npm_modules, stop_process
from lib.tracer import SKEW, Span, traced_self

SERVER, CLIENT = 2, 3
ERROR = 2       # span status code


def need(tool, *extra_dirs):
    path = shutil.which(tool) or next(
        (os.path.join(d, tool) for d in extra_dirs
         if os.path.exists(os.path.join(d, tool))), None)
    if not path:
        pytest.fail(f"{tool} is not installed: run tests/deps.sh (make deps)")
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proc:
    """A server started as a child of the test process, ready once its
    port accepts connections."""

    def __init__(self, cmd, port, workdir, cwd=None, env=None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = os.path.join(workdir, f"server-{port}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         env=dict(os.environ, **(env or {})))
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"{cmd} exited: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"{cmd} not listening on {port}: {self.output()}")
                time.sleep(0.05)

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def stop(self):
        stop_process(self.proc)


@pytest.fixture(scope="module")
def tracer():
    yield from traced_self()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("real-servers"))


# ---- the backend behind the proxies -------------------------------------

BACKEND = r'''
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("?")[0].split("/")
        if "fail" in parts:
            return self.reply(500, b"fail\n")
        if "missing" in parts:
            return self.reply(404, b"missing\n")
        if "sleep" in parts:  # .../sleep/<ms>/<tag>
            time.sleep(int(parts[parts.index("sleep") + 1]) / 1000)
        self.reply(200, ("path %s\n" % self.path).encode())

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.reply(200, b"got %d\n" % len(self.rfile.read(n)))

class S(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def backend_body(path):
    return len(f"path {path}\n")


@pytest.fixture(scope="module")
def backend(tracer, workdir):
    script = os.path.join(workdir, "backend.py")
    with open(script, "w") as f:
        f.write(BACKEND)
    port = free_port()
    p = Proc([sys.executable, script, str(port)], port, workdir)
    yield p
    p.stop()


# ---- helpers --------------------------------------------------------------

def curl(*args):
    """[(status, downloaded size)] of the transfers of one curl run."""
    out = subprocess.run(["curl", "-s", *args], capture_output=True, timeout=60)
    assert out.returncode == 0, out
    words = out.stdout.decode().split()
    return [(int(a), int(b)) for a, b in zip(words[::2], words[1::2])]


W = ("-o", "/dev/null", "-w", "%{http_code} %{size_download}\\n")
NEXT = ("--next",) + W


def parallel(urls, *opts):
    """One curl process per URL, all at once: (status, size) per URL."""
    procs = [subprocess.Popen(["curl", "-s", *opts, *W, u],
                              stdout=subprocess.PIPE) for u in urls]
    res = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        a, b = out.decode().split()
        res.append((int(a), int(b)))
    return res


def spans_where(t, pred, since, count, quiet=1.0):
    """Exactly `count` spans matching pred (started since `since`), once no
    more came for `quiet` seconds; in start order."""
    t.wait_for(pred, count, since=since, timeout=20)
    time.sleep(quiet)
    got = sorted(t.wait_for(pred, count, since=since), key=lambda s: s.start)
    assert len(got) == count, (f"expected {count} spans, got {len(got)}:\n"
                               + "\n".join(map(repr, got)))
    return got


def spans_on(t, kind, port, since, count):
    """The spans of `kind` whose server.port is `port`."""
    return spans_where(t, lambda s: s.kind == kind
                       and s.attrs.get("server.port") == port, since, count)


def spans_of(t, kind, service, since, count, quiet=1.0):
    return spans_where(t, lambda s: s.kind == kind and s.service == service,
                       since, count, quiet)


def by_id(spans):
    return {s.span_id: s for s in spans}


def child_of(c, p):
    assert c.trace_id == p.trace_id and c.parent == p.span_id, (c, p)
    assert p.start <= c.start + SKEW and c.end <= p.end + SKEW, (c, p)


def check_server(s, method, path, status, resp=None, req=None):
    a = s.attrs
    assert a["http.request.method"] == method, s
    assert a["url.path"] == path, s
    assert a["http.response.status_code"] == status, s
    assert s.name == f"{method} {a['http.route']}", s
    assert (s.status == ERROR) == (status >= 500), s
    assert a.get("http.response.body.size") == resp, s
    assert a.get("http.request.body.size") == req, s


def check_client(s, method, path, status, resp=None, req=None):
    a = s.attrs
    assert s.name == method, s
    assert a["http.request.method"] == method, s
    assert a["url.full"].split("?")[0].endswith(path), s
    assert a["http.response.status_code"] == status, s
    assert (s.status == ERROR) == (status >= 400), s
    assert a.get("http.response.body.size") == resp, s
    assert a.get("http.request.body.size") == req, s


def proxy_chains(t, proxy, since, count, ab=False):
    """count chains curl -> proxy (server, client) -> backend, each in one
    trace: [(curl client, proxy server, proxy client, backend server)].
    Spans are told apart by service: a proxy that forwards the Host header
    (HAProxy) makes the backend's server.port the proxy's."""
    path = "/api/" if ab else "/"  # ab's static requests come after
    b_srv = spans_of(t, SERVER, "backend.py", since, count)
    p_srv = spans_where(t, lambda s: s.kind == SERVER and s.service == proxy
                        and s.attrs["url.path"].startswith(path), since, count,
                        quiet=0)
    p_cli = spans_of(t, CLIENT, proxy, since, count, quiet=0)
    c_cli = spans_where(t, lambda s: s.kind == CLIENT
                        and s.service == ("ab" if ab else "curl")
                        and path in s.attrs["url.full"], since, count, quiet=0)
    ups, srvs, curls = by_id(p_cli), by_id(p_srv), by_id(c_cli)
    chains = []
    for b in b_srv:
        u = ups.get(b.parent)
        assert u is not None, f"backend span {b} is not under a proxy client span"
        s = srvs.get(u.parent)
        assert s is not None, f"proxy client span {u} is not under a proxy server span"
        c = curls.get(s.parent)
        assert c is not None, f"proxy server span {s} is not under a curl span"
        child_of(b, u)
        child_of(u, s)
        child_of(s, c)
        assert b.attrs["url.path"].endswith(
            u.attrs["url.full"].split("://", 1)[1].split("/", 1)[1]
            .split("?")[0].rstrip("/") or "/"), (b, u)
        chains.append((c, s, u, b))
    assert len({s.span_id for _, s, _, _ in chains}) == count, \
        "a proxy server span is the parent of two upstream requests"
    return sorted(chains, key=lambda ch: ch[1].start)


def static_files(tracer, server, service):
    """curl fetches big.bin, index.html, a missing file and big.bin again
    from server on one connection: each is one server span of service
    under curl's. Returns the server spans."""
    t0 = time.time_ns()
    got = curl(*W, server.url + "/big.bin", *NEXT, server.url + "/index.html",
               *NEXT, server.url + "/nope.txt", *NEXT, server.url + "/big.bin")
    assert [g[0] for g in got] == [200, 200, 404, 200]
    srv = spans_on(tracer, SERVER, server.port, t0, 4)
    cli = spans_on(tracer, CLIENT, server.port, t0, 4)
    for (status, size), s, c, path in zip(got, srv, cli, (
            "/big.bin", "/index.html", "/nope.txt", "/big.bin")):
        check_server(s, "GET", path, status, resp=size)
        check_client(c, "GET", path, status, resp=size)
        child_of(s, c)
        assert s.service == service, s.resource
    assert got[0][1] == BIG
    return srv


def proxied_get_post_fail(tracer, proxy, service):
    """curl -> proxy (spans of service) -> backend: a GET, a POST of 700
    bytes and a 500, each one chain with the right fields."""
    t0 = time.time_ns()
    got = curl(*W, proxy.url + "/api/users/3", *NEXT, "-d", "y" * 700,
               proxy.url + "/api/orders", *NEXT, proxy.url + "/api/fail")
    assert [g[0] for g in got] == [200, 200, 500]
    chains = proxy_chains(tracer, service, t0, 3)
    for (c, s, u, b), (method, path, status, req), (_, size) in zip(
            chains, [("GET", "/api/users/3", 200, None),
                     ("POST", "/api/orders", 200, 700),
                     ("GET", "/api/fail", 500, None)], got):
        for x in (c, u):
            check_client(x, method, path, status, resp=size, req=req)
        for x in (s, b):
            check_server(x, method, path, status, resp=size, req=req)
        assert s.service == u.service == service, s.resource


def proxied_at_once(tracer, proxy, service, n, tag):
    """n requests at once through proxy, the backend answering after
    different delays: one chain each, the backend asked for the path
    curl asked for."""
    t0 = time.time_ns()
    paths = [f"/api/sleep/{(i * 53) % 120 + 10}/{tag}{i}" for i in range(n)]
    got = parallel([proxy.url + p for p in paths])
    assert all(g[0] == 200 for g in got), got
    chains = proxy_chains(tracer, service, t0, n)
    assert {s.attrs["url.path"] for _, s, _, _ in chains} == set(paths)
    for c, s, u, b in chains:
        assert b.attrs["url.path"] == s.attrs["url.path"]


# ---- nginx ------------------------------------------------------------------

# What every nginx of these tests has: one worker in the foreground, its
# files under {d}, no access log.
NGINX_PRELUDE = """
user root;
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
"""

NGINX_CONF = NGINX_PRELUDE + """
    sendfile on;
    tcp_nopush on;
    upstream backend {{ server 127.0.0.1:{bport}; keepalive 2; }}
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
        location /api/ {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location /strip/ {{
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""

BIG = 200_000


@pytest.fixture(scope="module")
def nginx(tracer, backend, workdir):
    binary = need("nginx", "/usr/sbin")
    d = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(d, "www"))
    with open(os.path.join(d, "www", "big.bin"), "wb") as f:
        f.write(os.urandom(BIG))
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<h1>hi</h1>\n")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(d=d, port=port, bport=backend.port))
    p = Proc([binary, "-c", conf, "-e", os.path.join(d, "nginx-error.log")],
             port, workdir)
    yield p
    p.stop()


def test_nginx_static_files(tracer, nginx):
    """Static files: nginx answers with writev + sendfile (the body never
    passes through its memory); 404 from its own error page."""
    srv = static_files(tracer, nginx, "nginx")
    # one connection (curl --next): one client port
    assert len({s.attrs["network.peer.port"] for s in srv}) == 1


def test_nginx_reverse_proxy(tracer, nginx, backend):
    """curl -> nginx -> backend over nginx's keep-alive upstream pool:
    GET, POST with a body, a 500 and a 404 from the backend, and a location
    that strips its prefix (proxy_pass http://backend/)."""
    body = os.path.join(os.path.dirname(nginx.log), "post-5000")
    with open(body, "wb") as f:
        f.write(b"p" * 5000)
    t0 = time.time_ns()
    got = curl(*W, nginx.url + "/api/users/7", *NEXT, "--data-binary",
               "@" + body, nginx.url + "/api/orders", *NEXT,
               nginx.url + "/api/fail", *NEXT, nginx.url + "/api/missing",
               *NEXT, nginx.url + "/strip/users/9")
    assert [g[0] for g in got] == [200, 200, 500, 404, 200]
    chains = proxy_chains(tracer, "nginx", t0, 5)
    want = [("GET", "/api/users/7", "/api/users/7", 200, None),
            ("POST", "/api/orders", "/api/orders", 200, 5000),
            ("GET", "/api/fail", "/api/fail", 500, None),
            ("GET", "/api/missing", "/api/missing", 404, None),
            ("GET", "/strip/users/9", "/users/9", 200, None)]
    for (c, s, u, b), (method, path, bpath, status, req), (_, size) in zip(
            chains, want, got):
        check_client(c, method, path, status, resp=size, req=req)
        check_server(s, method, path, status, resp=size, req=req)
        check_client(u, method, bpath, status, resp=size, req=req)
        check_server(b, method, bpath, status, resp=size, req=req)
        assert s.service == u.service == "nginx", s.resource
        assert b.service == "backend.py", b.resource
    assert chains[0][3].attrs["http.route"] == "/api/users/{id}"


def test_nginx_many_in_flight(tracer, nginx, backend):
    """24 requests at once through one nginx worker (one thread: an event
    loop) to a backend answering after different delays, with only two
    pooled upstream connections: nginx opens more and writes to each when
    its connect completes, after it has read other requests. Every
    upstream request must sit under the request it forwards."""
    t0 = time.time_ns()
    paths = [f"/api/sleep/{(i * 37) % 150 + 20}/r{i}" for i in range(24)]
    got = parallel([nginx.url + p for p in paths])
    assert all(g[0] == 200 for g in got), got
    chains = proxy_chains(tracer, "nginx", t0, 24)
    seen = set()
    for c, s, u, b in chains:
        path = s.attrs["url.path"]
        assert b.attrs["url.path"] == path, (s, b)
        assert c.attrs["url.full"].endswith(path)
        check_server(s, "GET", path, 200, resp=backend_body(path))
        seen.add(path)
    assert seen == set(paths)


def test_nginx_body_read_while_others_in_flight(tracer, nginx, backend):
    """nginx reads a whole request body before it contacts the upstream:
    a slow upload (A) goes upstream after requests that came later (B, to
    another target, still in flight; C, to the same target, done): A's
    upstream request belongs under A, not under the latest request read."""
    body = os.path.join(os.path.dirname(nginx.log), "post-100k")
    with open(body, "wb") as f:
        f.write(b"u" * 100_000)
    t0 = time.time_ns()
    a = subprocess.Popen(["curl", "-s", *W, "--limit-rate", "100K",
                          "--data-binary", "@" + body,
                          nginx.url + "/api/orders"], stdout=subprocess.PIPE)
    time.sleep(0.2)
    b = subprocess.Popen(["curl", "-s", *W, nginx.url + "/api/sleep/2000/b"],
                         stdout=subprocess.PIPE)
    time.sleep(0.2)
    assert curl(*W, "-d", "small", nginx.url + "/api/orders") == [(200, 6)]
    assert a.communicate(timeout=30)[0].split() == [b"200", b"11"]
    assert b.communicate(timeout=30)[0].split()[0] == b"200"
    chains = proxy_chains(tracer, "nginx", t0, 3)
    for c, s, u, b in chains:
        assert s.attrs["url.path"] == b.attrs["url.path"], (s, b)
        assert c.attrs.get("http.request.body.size") == \
            s.attrs.get("http.request.body.size") == \
            b.attrs.get("http.request.body.size"), (c, s, b)
    sizes = sorted(s.attrs.get("http.request.body.size") or 0
                   for _, s, _, _ in chains)
    assert sizes == [0, 5, 100_000]


def test_nginx_same_target_in_flight(tracer, nginx, backend):
    """16 identical requests at once: nothing in the target tells them
    apart, the connection each upstream request went out on does."""
    t0 = time.time_ns()
    path = "/api/sleep/40/same"
    got = parallel([nginx.url + path] * 16)
    assert got == [(200, backend_body(path))] * 16
    chains = proxy_chains(tracer, "nginx", t0, 16)
    for c, s, u, b in chains:
        check_server(s, "GET", path, 200, resp=backend_body(path))
        check_server(b, "GET", path, 200, resp=backend_body(path))


def test_nginx_under_ab(tracer, nginx, backend):
    """ApacheBench, keep-alive, 8 at a time: 300 proxied requests and 300
    static ones make exactly 300 spans of each kind each, chains intact."""
    ab = need("ab")
    t0 = time.time_ns()
    for url in (nginx.url + "/api/users/1", nginx.url + "/index.html"):
        out = subprocess.run([ab, "-q", "-k", "-n", "300", "-c", "8", url],
                             capture_output=True, timeout=120)
        assert out.returncode == 0, out
        text = out.stdout.decode()
        assert "Complete requests:      300" in text, text
        assert "Failed requests:        0" in text, text
    chains = proxy_chains(tracer, "nginx", t0, 300, ab=True)
    for c, s, u, b in chains:
        check_server(s, "GET", "/api/users/1", 200,
                     resp=backend_body("/api/users/1"))
    static = spans_where(tracer, lambda s: s.kind == SERVER
                         and s.service == "nginx"
                         and s.attrs["url.path"] == "/index.html", t0, 300)
    for s in static:
        check_server(s, "GET", "/index.html", 200, resp=len("<h1>hi</h1>\n"))


# ---- gunicorn, uvicorn ------------------------------------------------------

WSGI = '''
def app(environ, start_response):
    path = environ["PATH_INFO"]
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n else b""
    if path == "/fail":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"fail\\n"]
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain"),
                                         ("Content-Length", "5")])
        return [b"nope\\n"]
    out = b"hello %d\\n" % len(body)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(out)))])
    return [out]
'''

ASGI = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    n = 0
    while True:
        m = await receive()
        n += len(m.get("body", b""))
        if not m.get("more_body"):
            break
    path = scope["path"]
    status = 500 if path == "/fail" else 404 if path == "/missing" else 200
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    body = {500: b"fail\\n", 404: b"nope\\n"}.get(status, b"hello %d\\n" % n)
    await send({"type": "http.response.body", "body": body})
'''


def python_app(workdir, name, text, module):
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"python module {module} is missing: run tests/deps.sh")
    with open(os.path.join(workdir, name), "w") as f:
        f.write(text)


@pytest.fixture(scope="module")
def gunicorn(tracer, workdir):
    python_app(workdir, "wsgiapp.py", WSGI, "gunicorn")
    port = free_port()
    p = Proc([sys.executable, need("gunicorn"), "-w", "3", "-b",
              f"127.0.0.1:{port}", "wsgiapp:app"], port, workdir, cwd=workdir)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def uvicorn(tracer, workdir):
    python_app(workdir, "asgiapp.py", ASGI, "uvicorn")
    port = free_port()
    p = Proc([sys.executable, need("uvicorn"), "--port", str(port),
              "--log-level", "warning", "asgiapp:app"], port, workdir,
             cwd=workdir)
    yield p
    p.stop()


def app_server_cases(tracer, srv, name, body_len):
    """GET, POST with a body, 500, 404 on one curl run (keep-alive where
    the server keeps connections), then 20 requests at once."""
    t0 = time.time_ns()
    got = curl(*W, srv.url + "/hello", *NEXT, "-d", "x" * 3000,
               srv.url + "/items", *NEXT, srv.url + "/fail", *NEXT,
               srv.url + "/missing")
    assert [g[0] for g in got] == [200, 200, 500, 404]
    spans = spans_on(tracer, SERVER, srv.port, t0, 4)
    clis = spans_on(tracer, CLIENT, srv.port, t0, 4)
    want = [("GET", "/hello", 200, None, body_len(0)),
            ("POST", "/items", 200, 3000, body_len(3000)),
            ("GET", "/fail", 500, None, 5), ("GET", "/missing", 404, None, 5)]
    for s, c, (method, path, status, req, resp), (_, size) in zip(
            spans, clis, want, got):
        assert size == resp
        check_server(s, method, path, status, resp=resp, req=req)
        check_client(c, method, path, status, resp=resp, req=req)
        child_of(s, c)
        assert s.service == name, s.resource
    t1 = time.time_ns()
    got = parallel([f"{srv.url}/users/{i}" for i in range(20)])
    assert got == [(200, body_len(0))] * 20
    spans = spans_on(tracer, SERVER, srv.port, t1, 20)
    assert sorted(s.attrs["url.path"] for s in spans) == \
        sorted(f"/users/{i}" for i in range(20))
    assert {s.attrs["http.route"] for s in spans} == {"/users/{id}"}
    assert {s.service for s in spans} == {name}
    return spans


def test_gunicorn_prefork_workers(tracer, gunicorn):
    """gunicorn -w 3: the workers are forks of the master accepting on the
    listening socket they inherited; each answers and closes."""
    spans = app_server_cases(tracer, gunicorn, "gunicorn",
                             lambda n: len(f"hello {n}\n"))
    pids = {s.resource["process.pid"] for s in spans}
    assert gunicorn.proc.pid not in pids  # the master never serves


def test_uvicorn_asyncio(tracer, uvicorn):
    """uvicorn: one asyncio loop, keep-alive, chunked responses (no
    Content-Length from the app)."""
    app_server_cases(tracer, uvicorn, "uvicorn", lambda n: len(f"hello {n}\n"))


def test_uvicorn_spawned_workers(tracer, workdir):
    """uvicorn --workers 2 starts its workers through multiprocessing
    "spawn": each is `python3 -c 'from multiprocessing.spawn import ...'`,
    a command line that names no program. They are named after uvicorn,
    not `python3`."""
    python_app(workdir, "asgiapp.py", ASGI, "uvicorn")
    port = free_port()
    p = Proc([sys.executable, need("uvicorn"), "--port", str(port),
              "--workers", "2", "--log-level", "warning", "asgiapp:app"],
             port, workdir, cwd=workdir)
    try:
        time.sleep(1)  # both workers listening
        t0 = time.time_ns()
        got = parallel([f"{p.url}/users/{i}" for i in range(12)])
        assert got == [(200, len("hello 0\n"))] * 12
        spans = spans_on(tracer, SERVER, port, t0, 12)
    finally:
        p.stop()
    assert {s.service for s in spans} == {"uvicorn"}, \
        {s.resource["process.pid"]: s.service for s in spans}
    assert p.proc.pid not in {s.resource["process.pid"] for s in spans}


# ---- Netty (the server under Spring WebFlux, Vert.x, Micronaut) ------------

@pytest.fixture(scope="module", params=["epoll", "nio"])
def netty(request, tracer, workdir):
    """tests/peers/NettyServer on Netty's native epoll transport or on
    Java NIO."""
    jars = maven_jars("NettyServer", "netty-all-4.2.18.Final.jar")
    port = free_port()
    p = Proc([need("java"), "-cp", jars,
              os.path.join(PEERS, "NettyServer", "NettyServer.java"), str(port),
              request.param], port, workdir)
    yield p
    p.stop()


def pipelined(port, paths):
    """The GETs of paths sent in one write on one connection, the last
    with Connection: close; the whole answer."""
    reqs = "".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n"
                   + ("Connection: close\r\n" if i == len(paths) - 1 else "")
                   + "\r\n" for i, p in enumerate(paths))
    with socket.create_connection(("127.0.0.1", port), 10) as c:
        c.sendall(reqs.encode())
        out = b""
        while chunk := c.recv(65536):
            out += chunk
    return out


def test_netty(tracer, netty):
    """Netty's HTTP codec on one event-loop thread: keep-alive GET, a
    20,000-byte POST echoed (read in many reads), a chunked response
    flushed chunk by chunk, a 500 and a 404, each one server span under
    curl's; then three pipelined requests, answered in order, three
    spans."""
    t0 = time.time_ns()
    got = curl(*W, netty.url + "/items/42", *NEXT, "-d", "p" * 20000,
               netty.url + "/echo", *NEXT, netty.url + "/chunked", *NEXT,
               netty.url + "/fail", *NEXT, netty.url + "/nope")
    assert [g[0] for g in got] == [200, 200, 200, 500, 404]
    assert got[1][1] == 20000 and got[2][1] == 3000
    srv = spans_on(tracer, SERVER, netty.port, t0, 5)
    cli = spans_on(tracer, CLIENT, netty.port, t0, 5)
    want = [("GET", "/items/42", 200, None), ("POST", "/echo", 200, 20000),
            ("GET", "/chunked", 200, None), ("GET", "/fail", 500, None),
            ("GET", "/nope", 404, None)]
    for s, c, (method, path, status, req), (_, size) in zip(srv, cli, want, got):
        # an empty body (the 404) has no body size
        check_server(s, method, path, status, resp=size or None, req=req)
        check_client(c, method, path, status, resp=size or None, req=req)
        child_of(s, c)
        assert s.service == "NettyServer", s.resource
    assert srv[0].attrs["http.route"] == "/items/{id}", srv[0]

    t1 = time.time_ns()
    out = pipelined(netty.port, ["/items/1", "/items/2", "/items/3"])
    assert out.count(b"HTTP/1.1 200 OK") == 3, out
    assert out.index(b'{"id":1}') < out.index(b'{"id":2}') < out.index(b'{"id":3}'), out
    srv = spans_on(tracer, SERVER, netty.port, t1, 3)
    for s, n in zip(srv, (1, 2, 3)):
        check_server(s, "GET", f"/items/{n}", 200, resp=len(f'{{"id":{n}}}'))


# ---- Express on Node.js -----------------------------------------------------

EXPRESS_APP = r'''
const express = require("express");
const http = require("http");
const app = express();
app.use(express.json());
app.get("/users/:id", (req, res) => res.json({id: Number(req.params.id)}));
app.post("/orders", (req, res) =>
  res.status(201).json({items: (req.body.items || []).length}));
app.get("/proxy/:id", (req, res) => {
  http.get(process.argv[3] + "/users/" + req.params.id, (r) => {
    let n = 0;
    r.on("data", (d) => (n += d.length));
    r.on("end", () => res.send("upstream " + r.statusCode + " " + n));
  }).on("error", (e) => res.status(502).send(String(e)));
});
app.get("/boom", () => { throw new Error("boom"); });
app.listen(Number(process.argv[2]), "127.0.0.1");
'''


def express_modules():
    return npm_modules("express", "express@4")


@pytest.fixture(scope="module")
def express(tracer, backend, workdir):
    modules = express_modules()
    script = os.path.join(workdir, "shop.js")
    with open(script, "w") as f:
        f.write(EXPRESS_APP)
    port = free_port()
    p = Proc([need("node"), script, str(port), backend.url], port, workdir,
             env={"NODE_PATH": modules})
    yield p
    p.stop()


def test_express(tracer, express, backend):
    """Express: route params, a JSON body, the default 404 and 500 pages,
    and an outbound call made while serving (one request in flight: the
    thread rule links it; the backend's span by the 4-tuple)."""
    t0 = time.time_ns()
    got = curl(*W, express.url + "/users/42", *NEXT, "-H",
               "Content-Type: application/json", "-d", '{"items":[1,2,3]}',
               express.url + "/orders", *NEXT, express.url + "/nope", *NEXT,
               express.url + "/boom", *NEXT, express.url + "/proxy/5")
    assert [g[0] for g in got] == [200, 201, 404, 500, 200]
    srv = spans_on(tracer, SERVER, express.port, t0, 5)
    cli = spans_on(tracer, CLIENT, express.port, t0, 5)
    want = [("GET", "/users/42", 200, None), ("POST", "/orders", 201, 17),
            ("GET", "/nope", 404, None), ("GET", "/boom", 500, None),
            ("GET", "/proxy/5", 200, None)]
    for s, c, (method, path, status, req), (_, size) in zip(srv, cli, want, got):
        check_server(s, method, path, status, resp=size, req=req)
        check_client(c, method, path, status, resp=size, req=req)
        child_of(s, c)
        assert s.service == "shop.js", s.resource
    assert srv[0].attrs["http.route"] == "/users/{id}"
    down = [s for s in tracer.all_spans() if isinstance(s, Span)
            and s.kind == CLIENT and s.start >= t0
            and s.attrs.get("server.port") == backend.port
            and s.service == "shop.js"]
    assert len(down) == 1, down
    check_client(down[0], "GET", "/users/5", 200,
                 resp=backend_body("/users/5"))
    child_of(down[0], srv[4])
    b = spans_of(tracer, SERVER, "backend.py", t0, 1)
    assert b[0].attrs["url.path"] == "/users/5"
    child_of(b[0], down[0])


NODE_CLUSTER = r'''
const cluster = require("cluster");
const http = require("http");
const port = Number(process.argv[2]);
if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;  // the default off Windows
  for (let i = 0; i < 2; i++) cluster.fork();
} else {
  http.createServer((req, res) => res.end("worker " + process.pid))
    .listen(port, "127.0.0.1");
}
'''


def test_node_cluster_workers(tracer, workdir):
    """Node's cluster module (and PM2's cluster mode): the primary accepts
    every connection and hands it to a worker over IPC (SCM_RIGHTS); the
    worker that reads and answers never accepted it. Each request is one
    server span, in the worker that served it, under curl's client span."""
    script = os.path.join(workdir, "cluster-app.js")
    with open(script, "w") as f:
        f.write(NODE_CLUSTER)
    port = free_port()
    p = Proc([need("node"), script, str(port)], port, workdir)
    try:
        # the port answers once one worker listens: wait for the second
        seen, deadline = set(), time.time() + 30
        while len(seen) < 2:
            assert time.time() < deadline, f"one worker only: {seen}"
            seen.add(subprocess.run(["curl", "-s", p.url + "/warmup"],
                                    capture_output=True, timeout=10).stdout)
        t0 = time.time_ns()
        urls = [f"{p.url}/orders/{i}" for i in range(6)]
        got = parallel(urls) + curl(*W, f"{p.url}/keep/1", *NEXT,
                                    f"{p.url}/keep/2")
        assert [g[0] for g in got] == [200] * 8
        srv = spans_on(tracer, SERVER, port, t0, 8)
        cli = spans_on(tracer, CLIENT, port, t0, 8)
        assert sorted(s.attrs["url.path"] for s in srv) == sorted(
            [f"/orders/{i}" for i in range(6)] + ["/keep/1", "/keep/2"])
        pids = {s.resource["process.pid"] for s in srv}
        assert p.proc.pid not in pids and len(pids) == 2, pids  # both workers
        assert all(s.service == "cluster-app.js" for s in srv), srv
        assert all(s.name == "GET " + s.attrs["http.route"] for s in srv)
        by_path = {c.attrs["url.full"].split(str(port), 1)[1]: c for c in cli}
        for s in srv:
            child_of(s, by_path[s.attrs["url.path"]])
    finally:
        p.stop()


PASS_CLIENT = r'''
import os, socket, sys
port = int(sys.argv[1])
parent, child = socket.socketpair()
if os.fork() == 0:          # the child makes requests on a connection
    parent.close()          # it did not open
    msg, fds, _, _ = socket.recv_fds(child, 16, 1)
    conn = socket.socket(fileno=fds[0])
    for path in ("/passed/1", "/passed/2"):
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            got += conn.recv(65536)
        head, body = got.split(b"\r\n\r\n", 1)
        size = int(head.lower().split(b"content-length:")[1].split()[0])
        while len(body) < size:
            body += conn.recv(65536)
    os._exit(0)
c = socket.create_connection(("127.0.0.1", port))
socket.send_fds(parent, [b"x"], [c.fileno()])
c.close()
os.wait()
sys.stdin.readline()        # a pool manager outlives its workers
'''


def test_client_connection_passed_to_another_process(tracer, backend, workdir):
    """A connected socket handed to another process (SCM_RIGHTS) that
    writes requests on it: that process is the client. Its spans carry its
    own pid, and the backend's spans are their children. The worker (a
    fork) has exited before its spans are built: it is named after the
    program of its parent."""
    script = os.path.join(workdir, "pass_client.py")
    with open(script, "w") as f:
        f.write(PASS_CLIENT)
    t0 = time.time_ns()
    p = subprocess.Popen([sys.executable, script, str(backend.port)],
                         stdin=subprocess.PIPE)
    try:
        cli = spans_where(
            tracer, lambda s: s.kind == CLIENT
            and s.service == "pass_client.py"
            and s.attrs.get("server.port") == backend.port, t0, 2)
        srv = spans_where(
            tracer, lambda s: s.kind == SERVER
            and s.attrs.get("url.path", "").startswith("/passed/"), t0, 2)
        pids = {c.resource["process.pid"] for c in cli}
        assert len(pids) == 1 and p.pid not in pids, pids  # the worker's
        for c, s, path in zip(cli, srv, ("/passed/1", "/passed/2")):
            check_client(c, "GET", path, 200, resp=backend_body(path))
            assert s.attrs["url.path"] == path
            child_of(s, c)
        p.stdin.close()
        assert p.wait(timeout=10) == 0
    finally:
        p.kill()
        p.wait()


NODE_PROXY = r'''
const http = require("http");
const [port, upPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({keepAlive: true, maxSockets: 2});
http.createServer((req, res) => {
  const up = http.request({host: "127.0.0.1", port: upPort, path: req.url,
                           method: req.method, headers: req.headers, agent},
    (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  up.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
  req.pipe(up);
}).listen(port, "127.0.0.1");
'''


def test_node_proxy_with_queued_requests(tracer, backend, workdir):
    """A Node reverse proxy whose http.Agent keeps two sockets: of 16
    requests at once most wait in the agent's queue and go out as sockets
    free up, in an order nothing in the bytes shows. Distinct targets are
    still linked; for identical ones an upstream span may be a root, but
    never a second child of a request, and every link nests in time."""
    script = os.path.join(workdir, "edge-proxy.js")
    with open(script, "w") as f:
        f.write(NODE_PROXY)
    port = free_port()
    p = Proc([need("node"), script, str(port), str(backend.port)], port,
             workdir)
    try:
        t0 = time.time_ns()
        paths = [f"/api/sleep/{(i * 29) % 80 + 10}/n{i}" for i in range(16)]
        got = parallel([p.url + x for x in paths])
        assert [g[0] for g in got] == [200] * 16
        chains = proxy_chains(tracer, "edge-proxy.js", t0, 16)
        assert {s.attrs["url.path"] for _, s, _, b in chains} == set(paths)
        t1 = time.time_ns()
        got = parallel([p.url + "/api/sleep/30/same"] * 16)
        assert [g[0] for g in got] == [200] * 16
    finally:
        p.stop()
    srv = spans_of(tracer, SERVER, "edge-proxy.js", t1, 16)
    ups = spans_of(tracer, CLIENT, "edge-proxy.js", t1, 16, quiet=0)
    back = by_id(spans_of(tracer, SERVER, "backend.py", t1, 16, quiet=0))
    ids = by_id(srv)
    for b in back.values():
        assert b.parent in by_id(ups), f"backend span {b} not under the proxy"
    linked = [u for u in ups if u.parent]
    for u in linked:
        child_of(u, ids[u.parent])
    assert len({u.parent for u in linked}) == len(linked), \
        "a proxy server span is the parent of two upstream requests"


# ---- HAProxy ----------------------------------------------------------------

HAPROXY_CFG = """
global
    maxconn 512
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:{bport}
"""


@pytest.fixture(scope="module")
def haproxy(tracer, backend, workdir):
    binary = need("haproxy", "/usr/sbin")
    port = free_port()
    cfg = os.path.join(workdir, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(HAPROXY_CFG.format(port=port, bport=backend.port))
    p = Proc([binary, "-db", "-f", cfg], port, workdir)
    yield p
    p.stop()


def test_haproxy(tracer, haproxy, backend):
    """HAProxy (threads, connection reuse): a request chain per request,
    then 20 at once."""
    proxied_get_post_fail(tracer, haproxy, "haproxy")
    proxied_at_once(tracer, haproxy, "haproxy", 20, "h")


PROXY_HAPROXY_CFG = """
global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    use_backend v2 if {{ path_beg /v2/ }}
    default_backend v1
backend v1
    server n1 127.0.0.1:{nport} send-proxy
backend v2
    server n2 127.0.0.1:{nport} send-proxy-v2
"""

PROXY_NGINX_CONF = NGINX_PRELUDE + """
    server {{
        listen 127.0.0.1:{port} proxy_protocol;
        location / {{ return 200 "$proxy_protocol_addr\\n"; }}
    }}
}}
"""


def test_proxy_protocol_between_haproxy_and_nginx(tracer, workdir):
    """HAProxy sends the PROXY protocol header (v1 text, v2 binary) before
    the requests it relays to an nginx that listens with proxy_protocol, as
    behind a cloud load balancer. Both ends step over it: HAProxy's client spans
    and nginx's server spans are made (there were none: the connection
    looked like it was not HTTP), nginx's under HAProxy's, and the client
    the header names (curl from 127.0.0.2) is nginx's client.address."""
    d = os.path.join(workdir, "nginx-pp")
    os.makedirs(d)
    nport, hport = free_port(), free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(PROXY_NGINX_CONF.format(d=d, port=nport))
    cfg = os.path.join(workdir, "haproxy-pp.cfg")
    with open(cfg, "w") as f:
        f.write(PROXY_HAPROXY_CFG.format(port=hport, nport=nport))
    ngx = Proc([need("nginx", "/usr/sbin"), "-c", conf, "-e",
                os.path.join(d, "nginx-error.log")], nport, workdir)
    hap = Proc([need("haproxy", "/usr/sbin"), "-db", "-f", cfg], hport, workdir)
    try:
        t0 = time.time_ns()
        out = subprocess.run(["curl", "-s", "--interface", "127.0.0.2",
                              hap.url + "/v1/a", "--next", "--interface",
                              "127.0.0.2", hap.url + "/v2/b"],
                             capture_output=True, timeout=30)
        assert out.stdout == b"127.0.0.2\n127.0.0.2\n", out
        srv = spans_of(tracer, SERVER, "nginx", t0, 2)
        up = by_id(spans_of(tracer, CLIENT, "haproxy", t0, 2, quiet=0))
    finally:
        hap.stop()
        ngx.stop()
    for s, path in zip(srv, ("/v1/a", "/v2/b")):
        check_server(s, "GET", path, 200, resp=10)
        assert s.attrs["client.address"] == "127.0.0.2", s.attrs
        assert s.attrs["network.peer.address"] == "127.0.0.1", s.attrs
        u = up.get(s.parent)
        assert u is not None, (s, up)
        child_of(s, u)



# ---- Apache httpd (event MPM) and lighttpd ------------------------------------

APACHE_CONF = """
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule mime_module {m}/mod_mime.so
LoadModule proxy_module {m}/mod_proxy.so
LoadModule proxy_http_module {m}/mod_proxy_http.so
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/httpd.pid
ErrorLog {d}/error.log
Mutex file:{d} default
DocumentRoot {d}/www
User www-data
Group www-data
TypesConfig /etc/mime.types
StartServers 2
<Directory {d}/www>
  Require all granted
</Directory>
ProxyPass /api/ http://127.0.0.1:{bport}/api/
"""

LIGHTTPD_CONF = """
server.document-root = "{d}/www"
server.port = {port}
server.bind = "127.0.0.1"
server.errorlog = "{d}/error.log"
server.modules += ("mod_proxy")
mimetype.assign = (".html" => "text/html", ".bin" => "application/octet-stream")
$HTTP["url"] =~ "^/api/" {{
  proxy.server = ("" => (("host" => "127.0.0.1", "port" => {bport})))
}}
"""


@pytest.fixture(scope="module", params=["apache2", "lighttpd"])
def httpd(request, tracer, backend, workdir):
    """Apache httpd (a parent forking children of threads, answering as
    www-data: its files are in a directory of their own that www-data can
    read) or lighttpd (one process, an event loop), each serving static
    files and proxying /api/ to the backend."""
    binary = need(request.param, "/usr/sbin")
    d = tempfile.mkdtemp(prefix=f"ebt-{request.param}-")
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "www"))
    with open(os.path.join(d, "www", "big.bin"), "wb") as f:
        f.write(os.urandom(BIG))
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<h1>hi</h1>\n")
    for root, dirs, files in os.walk(d):
        for x in dirs + files:
            os.chmod(os.path.join(root, x), 0o755)
    port = free_port()
    conf = os.path.join(d, request.param + ".conf")
    with open(conf, "w") as f:
        f.write((APACHE_CONF if request.param == "apache2" else LIGHTTPD_CONF)
                .format(d=d, port=port, bport=backend.port,
                        m="/usr/lib/apache2/modules"))
    cmd = ([binary, "-f", conf, "-DFOREGROUND"] if request.param == "apache2"
           else [binary, "-D", "-f", conf])
    p = Proc(cmd, port, workdir)
    p.name = request.param
    yield p
    p.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_httpd_static_files(tracer, httpd):
    """Static files and a 404 on one keep-alive connection."""
    static_files(tracer, httpd, httpd.name)


def test_httpd_reverse_proxy(tracer, httpd, backend):
    """curl -> httpd -> backend: GET, POST with a body, a 500; then 12 at
    once."""
    proxied_get_post_fail(tracer, httpd, httpd.name)
    proxied_at_once(tracer, httpd, httpd.name, 12, "a")
