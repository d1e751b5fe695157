"""Real HTTP client libraries as applications use them, traced by the real
BPF programs: Node's fetch (undici) and axios, Python requests (Session),
httpx (sync and async) and aiohttp, Java OkHttp and Apache HttpClient 5,
Go net/http with custom Transports, wget, curl --parallel and ab.

Every request a client makes must give exactly one CLIENT span (method,
url.full, server.address/port, status, error on 4xx/5xx, body sizes) with
the server's SERVER span as its child (same-host 4-tuple) inside it; a
redirect the client follows is one span per hop. A call made in a traced
thread-per-request server's handler is a child of that request's span. A
request the client gives up on before any answer makes no span
(docs/limits.md); one whose answer it stops reading midway does.

The tracer is this module's own, selected with --pid of the test process:
the target server and every client are its children. Dependencies: pip
(requests, httpx, aiohttp: tests/deps.sh), npm (axios, into the cache) and
Maven Central (OkHttp, HttpClient 5: tests/peers/JavaClients/pom.xml,
copied into the cache); nothing skips, a missing one fails saying so.
"""
import os
import shutil
import subprocess
import time

import pytest

from lib.peers import CACHE, PEERS, ReadyPeer, maven_jars, npm_modules
from lib.tracer import SKEW, Span, traced_self

SERVER, CLIENT = 2, 3
ERROR = 2         # span status code


def need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is not installed: run tests/deps.sh (make deps)")
    return path


@pytest.fixture(scope="module")
def tracer():
    yield from traced_self()


@pytest.fixture(scope="module")
def target(tracer):
    p = ReadyPeer("python3", "-u", os.path.join(PEERS, "client_target.py"), "0")
    yield p
    p.stop()


def run(*cmd, env=None, timeout=120):
    out = subprocess.run(cmd, capture_output=True, timeout=timeout,
                         env=dict(os.environ, **(env or {})))
    assert out.returncode == 0, out
    return out.stdout.decode()


def codes(out):
    return [int(x) for x in out.split()]


def spans(t, kind, port, since, count, quiet=1.0):
    """Exactly count spans of kind with server.port port since `since`
    (waits for them, then `quiet` seconds for any extra), in start order."""
    def mine(s):
        return s.kind == kind and s.attrs.get("server.port") == port

    t.wait_for(mine, count, since=since)
    time.sleep(quiet)
    got = sorted(t.wait_for(mine, count, since=since), key=lambda s: s.start)
    assert len(got) == count, "\n".join(map(repr, got))
    return got


def check_pair(c, s, method, path, status, req=None, resp=None, host="127.0.0.1"):
    """Client span c and its server span s: one exchange, right on both
    ends. req/resp: exact body sizes (None: absent, an empty body)."""
    a = c.attrs
    assert c.name == method, c
    assert a["http.request.method"] == method, c
    assert a["http.response.status_code"] == status, c
    assert a["url.full"].split("?")[0] == f"http://{host}:{s.attrs['server.port']}{path}", c
    assert a["server.address"] == host, c
    assert c.status == (ERROR if status >= 400 else 0), c
    assert s.attrs["url.path"] == path, s
    assert s.attrs["http.request.method"] == method, s
    assert s.attrs["http.response.status_code"] == status, s
    assert s.status == (ERROR if status >= 500 else 0), s
    for x in (c, s):
        assert x.attrs.get("http.request.body.size") == req, (x, x.attrs)
        assert x.attrs.get("http.response.body.size") == resp, (x, x.attrs)
    child_of(s, c)


def child_of(child, parent, nested=True):
    assert child.trace_id == parent.trace_id, (child, parent)
    assert child.parent == parent.span_id, (child, parent)
    assert parent.start <= child.start + SKEW, (child, parent)
    if nested:
        assert child.end <= parent.end + SKEW, (child, parent)


def exchanges(t, port, since, want, host="127.0.0.1"):
    """want: (method, path, status, req, resp) per request, in any order
    (concurrent requests); the client and server spans of each must
    pair up by the 4-tuple link."""
    cli = spans(t, CLIENT, port, since, len(want))
    srv = spans(t, SERVER, port, since, len(want), quiet=0)
    by_parent = {s.parent: s for s in srv}
    assert len(by_parent) == len(srv), srv
    left = list(want)
    for c in cli:
        s = by_parent.get(c.span_id)
        assert s is not None, f"no server span under {c} in {srv}"
        key = next((w for w in left if w[1] == s.attrs["url.path"]
                    and w[0] == s.attrs["http.request.method"]), None)
        assert key is not None, (s, left)
        left.remove(key)
        check_pair(c, s, *key, host=host)
    return cli, srv


def redirect_hops(n):
    return [("GET", f"/redirect/{k}", 302 if k else 200, None, None if k else 7)
            for k in range(n, -1, -1)]


def sleeps(first, count, step=10):
    return [("GET", f"/sleep/{first + step * i}", 200, None, 6) for i in range(count)]


def echo(method, n):
    return (method, "/echo", 200, n or None, len(f'{{"method": "{method}", "got": {n}}}'))


# ---- Node.js: fetch (undici) and axios --------------------------------------

def axios_modules():
    return npm_modules("axios", "axios@1")


def test_node_fetch(tracer, target):
    """undici's keep-alive pool: sequential calls on one connection, a
    JSON POST, a 404, a redirect chain, then 6 at once on new sockets."""
    t0 = time.time_ns()
    got = codes(run(need("node"), os.path.join(PEERS, "node_clients.js"), "fetch",
                    target.url))
    assert got == [200, 200, 404, 200] + [200] * 6
    want = [("GET", "/get/1", 200, None, 27), echo("POST", 17),
            ("GET", "/status/404", 404, None, 11)] + redirect_hops(2) + sleeps(50, 6)
    cli, srv = exchanges(tracer, target.port, t0, want)
    assert cli[0].service == "node_clients.js", cli[0].resource
    # the 6 calls made one after another reuse pooled connections (undici
    # may open a second one while the first's body is being read)
    assert len({s.attrs["network.peer.port"] for s in srv[:6]}) <= 2, srv


def test_axios(tracer, target):
    """axios over a keep-alive http.Agent (4 sockets): GET, POST of an
    object (JSON), a 500, follow-redirects' chain, 6 concurrent GETs."""
    t0 = time.time_ns()
    got = codes(run(need("node"), os.path.join(PEERS, "node_clients.js"), "axios",
                    target.url, env={"NODE_PATH": axios_modules()}))
    assert got == [200, 200, 500, 200] + [200] * 6
    want = [("GET", "/get/1", 200, None, 27), echo("POST", 17),
            ("GET", "/status/500", 500, None, 11)] + redirect_hops(2) + sleeps(50, 6)
    exchanges(tracer, target.port, t0, want)


# ---- Python: requests, httpx, aiohttp ---------------------------------------

def py_client(mode, url):
    return codes(run("python3", os.path.join(PEERS, "py_clients.py"), mode, url))


def need_module(*names):
    for n in names:
        r = subprocess.run(["python3", "-c", f"import {n}"], capture_output=True)
        if r.returncode != 0:
            pytest.fail(f"python module {n} is missing: run tests/deps.sh (make deps)")


def test_python_requests(tracer, target):
    """A requests Session: one keep-alive connection for a GET, a JSON
    POST, a chunked upload from a generator (5 x 1000 bytes), a chunked
    download read with iter_content, a 404, a redirect chain, a PUT; then
    a 30 MB download the app stops reading after 1 kB and closes: it got
    its 200, so it has its span (no body size: it never had the body), and
    so has the server, whose writes failed midway."""
    need_module("requests")
    t0 = time.time_ns()
    assert py_client("requests", target.url) == [200, 200, 200, 200, 404, 200, 200, 200]
    want = [("GET", "/get/1", 200, None, 27), echo("POST", 8), echo("POST", 5000),
            ("GET", "/chunked/50000", 200, None, 50000),
            ("GET", "/status/404", 404, None, 11)] + redirect_hops(2) + [
            echo("PUT", 3000)]
    cli = spans(tracer, CLIENT, target.port, t0, len(want) + 1)
    srv = spans(tracer, SERVER, target.port, t0, len(want) + 1, quiet=0)
    for c, s, w in zip(cli, srv, want):
        check_pair(c, s, *w)
    local = {c.attrs["network.peer.port"] for c in cli}
    assert local == {target.port}
    # one keep-alive connection for the Session's calls: one client port
    assert len({s.attrs["network.peer.port"] for s in srv[:-1]}) == 1, srv
    c, s = cli[-1], srv[-1]
    assert c.attrs["url.full"] == f"{target.url}/bytes/30000000", c
    assert s.attrs["url.path"] == "/bytes/30000000", s
    for x in (c, s):
        assert x.attrs["http.response.status_code"] == 200 and x.status == 0, x
        assert "http.response.body.size" not in x.attrs, x.attrs
    # the server goes on writing into its socket buffer until it learns of
    # the close: its last write may come after the client's close (2.2 ms
    # in a CI run), so its span need not end inside the client's
    child_of(s, c, nested=False)
    assert s.end <= c.end + 1_000_000_000, (s, c)


def test_httpx_sync(tracer, target):
    need_module("httpx")
    t0 = time.time_ns()
    assert py_client("httpx", target.url) == [200, 200, 200, 503, 200]
    want = [("GET", "/get/1", 200, None, 27), echo("POST", 7), echo("POST", 5000),
            ("GET", "/status/503", 503, None, 11)] + redirect_hops(2)
    exchanges(tracer, target.port, t0, want)


def test_httpx_async(tracer, target):
    need_module("httpx")
    t0 = time.time_ns()
    assert py_client("httpx-async", target.url) == [200] * 6
    exchanges(tracer, target.port, t0, sleeps(30, 5) + [echo("POST", 9)])


def test_aiohttp(tracer, target):
    need_module("aiohttp")
    t0 = time.time_ns()
    assert py_client("aiohttp", target.url) == [200] * 7 + [500]
    want = sleeps(30, 5) + [echo("POST", 16)] + redirect_hops(1) + [
        ("GET", "/status/500", 500, None, 11)]
    exchanges(tracer, target.port, t0, want)


def test_python_server_calls_out(tracer, target):
    """A ThreadingHTTPServer handler calling out with a requests Session
    shared by the threads (pooled connections written by several threads)
    and with httpx.get: each call is a child of the request it serves,
    also with 6 requests at once."""
    need_module("requests", "httpx")
    front = ReadyPeer("python3", "-u", os.path.join(PEERS, "py_clients.py"), "serve",
                      target.url)
    try:
        t0 = time.time_ns()
        run(need("curl"), "-s", "-o", "/dev/null", front.url + "/call/requests",
            "--next", "-s", "-o", "/dev/null", front.url + "/call/httpx")
        run(need("curl"), "-s", "-o", "/dev/null", "--parallel",
            front.url + "/call/requests?[1-6]")
        outer = spans(tracer, SERVER, front.port, t0, 8)
        down, _ = exchanges(tracer, target.port, t0, sleeps(20, 8, step=0))
    finally:
        front.stop()
    by_id = {s.span_id: s for s in outer}
    for d in down:
        assert d.parent in by_id, f"{d} is not under a /call span: {outer}"
        child_of(d, by_id[d.parent])
    assert len({d.parent for d in down}) == 8
    assert {s.attrs["url.path"] for s in outer} == {"/call/requests", "/call/httpx"}


def test_aiohttp_server_calls_out(tracer, target):
    """An aiohttp server whose handler calls out with a shared
    ClientSession on the event loop: one request at a time, the call is
    its child; 6 at once on the one thread, nothing tells which request a
    call serves (docs/limits.md): each call is under its own request or a
    root, never under another request."""
    need_module("aiohttp")
    front = ReadyPeer("python3", "-u", os.path.join(PEERS, "py_clients.py"), "serve-aio",
                      target.url)
    try:
        t0 = time.time_ns()
        run(need("curl"), "-s", "-o", "/dev/null", front.url + "/call/21",
            "--next", "-s", "-o", "/dev/null", front.url + "/call/22")
        outer = spans(tracer, SERVER, front.port, t0, 2)
        down, _ = exchanges(tracer, target.port, t0, sleeps(21, 2, step=1))
        for o, d in zip(outer, down):
            child_of(d, o)
        t1 = time.time_ns()
        run(need("curl"), "-s", "-o", "/dev/null", "--parallel",
            front.url + "/call/[30-35]")
        outer = spans(tracer, SERVER, front.port, t1, 6)
        down, _ = exchanges(tracer, target.port, t1, sleeps(30, 6, step=1))
    finally:
        front.stop()
    by_id = {s.span_id: s for s in outer}
    for d in down:
        if not d.parent:
            continue
        o = by_id.get(d.parent)
        assert o is not None, (d, outer)
        assert o.attrs["url.path"].split("/")[-1] == d.attrs["url.full"].split("/")[-1], (d, o)
        child_of(d, o)


# ---- Java: OkHttp, Apache HttpClient 5 --------------------------------------

def java_client_jars():
    """The jars of tests/peers/JavaClients/pom.xml (OkHttp, HttpClient 5)."""
    return maven_jars("JavaClients", "okhttp-4.12.0.jar")


def java(*args):
    return [need("java"), "-cp", java_client_jars(),
            os.path.join(PEERS, "JavaClients", "JavaClients.java"), *args]


JAVA_WANT = [("GET", "/get/1", 200, None, 27), echo("POST", 17), echo("POST", 3500)]


def test_okhttp(tracer, target):
    """OkHttp 4: pooled connection, JSON POST, a body of unknown length
    (chunked, flushed per 1000 bytes), 404, redirects followed, 6 async
    calls through its dispatcher."""
    t0 = time.time_ns()
    assert codes(run(*java("okhttp", target.url))) == [200, 200, 200, 404] + [200] * 7
    want = JAVA_WANT + [("GET", "/status/404", 404, None, 11)] + redirect_hops(2) + sleeps(50, 6)
    exchanges(tracer, target.port, t0, want)


def test_apache_httpclient5(tracer, target):
    """Apache HttpClient 5 classic with its pooling manager: the same calls
    (a 500 in place of the 404), the 6 concurrent ones from a thread pool."""
    t0 = time.time_ns()
    assert codes(run(*java("apache", target.url))) == [200, 200, 200, 500] + [200] * 7
    want = JAVA_WANT + [("GET", "/status/500", 500, None, 11)] + redirect_hops(2) + sleeps(50, 6)
    exchanges(tracer, target.port, t0, want)


JAVA_CALLS = ["okhttp", "apache", "okhttp", "okhttp-async", "reactor"]


def test_java_server_calls_out(tracer, target):
    """A JDK HttpServer handler calling out with OkHttp and Apache
    HttpClient (which write on the calling thread) and Reactor Netty
    (Spring's WebClient: its event loop writes while the handler waits):
    each call is a child of the request being served, Reactor's as the
    only request in flight in the process. OkHttp's enqueue writes from
    its dispatcher threads, which are not guessed at (the OpenTelemetry
    SDK's exporter writes from them too): a root."""
    front = ReadyPeer(*java("serve", target.url))
    try:
        t0 = time.time_ns()
        args = []
        for lib in JAVA_CALLS:
            args += ["--next"] * bool(args) + ["-s", "-o", "/dev/null",
                                                front.url + "/call/" + lib]
        run(need("curl"), *args)
        outer = spans(tracer, SERVER, front.port, t0, len(JAVA_CALLS))
        down, _ = exchanges(tracer, target.port, t0,
                            [("GET", "/get/7", 200, None, 27)] * len(JAVA_CALLS))
    finally:
        front.stop()
    for lib, o, d in zip(JAVA_CALLS, outer, down):
        assert o.attrs["url.path"] == "/call/" + lib, o
        assert o.attrs["http.response.status_code"] == 200, o
        inferred = d.attrs.get("ebpftrace.parent.inferred")
        if lib == "okhttp-async":
            assert not d.parent and d.trace_id != o.trace_id and not inferred, (d, o)
            continue
        child_of(d, o)
        assert inferred == ("only_server_span_in_flight" if lib == "reactor" else None), (lib, d)


def newer_java():
    """A JDK with virtual threads (21+): the machine's second JDK."""
    import glob
    import re
    found = []
    for d in glob.glob("/usr/lib/jvm/*/bin/java"):
        m = re.search(r"/(?:[a-z-]*?)(\d+)[^/]*/bin/java$", d)
        if m and int(m.group(1)) >= 21:
            found.append((int(m.group(1)), d))
    if not found:
        pytest.fail("virtual threads need a JDK 21+ under /usr/lib/jvm "
                    "(the machine's Temurin): none found")
    return max(found)[1]


def test_jvm_virtual_threads_never_get_a_wrong_parent(tracer, target):
    """A JDK HttpServer on a virtual-thread executor, each request calling
    the target twice. Its carrier threads (ForkJoinPool workers) run the
    virtual threads in turn and one may resume on another carrier: one at a
    time, both calls are children of their request whichever carrier makes
    them; eight at a time, a call is a root or under its own request, never
    under another (15 of 400 were, taking the carrier's latest request)."""
    front = ReadyPeer(newer_java(), os.path.join(PEERS, "JdkVirtualThreads.java"),
                      target.url)
    try:
        t0 = time.time_ns()
        for i in range(5):
            run(need("curl"), "-s", "-o", "/dev/null", f"{front.url}/call/{i}")
        outer = spans(tracer, SERVER, front.port, t0, 5)
        calls = spans(tracer, CLIENT, target.port, t0, 10)
        for o in outer:
            kids = [c for c in calls if c.parent == o.span_id]
            n = o.attrs["url.path"].rsplit("/", 1)[1]
            assert [c.attrs["url.full"].rsplit("/", 1)[1] for c in kids] == [n, n], (o, calls)
        t1 = time.time_ns()
        script = ("import sys, threading, urllib.request\n"
                  "def w(k):\n"
                  "    for i in range(10):\n"
                  "        urllib.request.urlopen(sys.argv[1] + '/call/%d' % (100 + 10 * k + i)).read()\n"
                  "ts = [threading.Thread(target=w, args=(k,)) for k in range(8)]\n"
                  "[t.start() for t in ts]; [t.join() for t in ts]\n")
        run(need("python3"), "-c", script, front.url)
        outer = {o.span_id: o for o in spans(tracer, SERVER, front.port, t1, 80)}
        calls = spans(tracer, CLIENT, target.port, t1, 160)
    finally:
        front.stop()
    for c in calls:
        if c.parent:
            o = outer.get(c.parent)
            assert o is not None, c
            assert o.attrs["url.path"].rsplit("/", 1)[1] == c.attrs["url.full"].rsplit("/", 1)[1], (c, o)
            child_of(c, o)


# ---- Go net/http ----------------------------------------------------------

def go_clients_binary():
    out = os.path.join(CACHE, "bin", "goclients")
    src = os.path.join(PEERS, "GoClients")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(
            os.path.join(src, "main.go")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([need("go"), "build", "-o", out, "."], cwd=src, check=True,
                       env=dict(os.environ, CGO_ENABLED="0"))
    return out


def go(mode, url):
    return codes(run(go_clients_binary(), mode, url))


def test_go_pool_and_no_keepalive(tracer, target):
    """Transport{MaxIdleConnsPerHost: 2}, 3 rounds of 6 concurrent GETs
    (connections reused and closed over the limit); then
    DisableKeepAlives: a connection per request."""
    t0 = time.time_ns()
    assert go("pool", target.url) == [200] * 18
    exchanges(tracer, target.port, t0, sleeps(20, 18, step=1))
    t1 = time.time_ns()
    assert go("close", target.url) == [200, 503, 200]
    _, srv = exchanges(tracer, target.port, t1, [
        ("GET", "/get/1", 200, None, 27), ("GET", "/status/503", 503, None, 11),
        ("GET", "/get/3", 200, None, 27)])
    assert len({s.attrs["network.peer.port"] for s in srv}) == 3


def test_go_chunked_redirect_cancel(tracer, target):
    """Request bodies of unknown length (0, 1, 20 000 bytes in 700-byte
    writes: chunked) then a GET on the same connection; a 3-hop redirect
    chain and a 404; a call cancelled by its context before the answer is
    a failed call (error.type connection_closed, no status code), and the
    server's answer written after it left, if it makes a span, is that
    span's child; the next call is right."""
    t0 = time.time_ns()
    assert go("chunked", target.url) == [200] * 4
    exchanges(tracer, target.port, t0, [
        echo("POST", 0), echo("POST", 1), echo("POST", 20000),
        ("GET", "/get/2", 200, None, 27)])
    t1 = time.time_ns()
    assert go("redirect", target.url) == [200, 404]
    exchanges(tracer, target.port, t1, redirect_hops(3) + [
        ("GET", "/status/404", 404, None, 11)])
    t2 = time.time_ns()
    assert go("cancel", target.url) == [-1, 200]
    time.sleep(1.2)  # the server finishes the abandoned /sleep/1000
    cli = spans(tracer, CLIENT, target.port, t2, 2)
    gone, ok = cli
    assert "/sleep/" in gone.attrs["url.full"], cli
    assert gone.status == ERROR and "http.response.status_code" not in gone.attrs, gone
    assert gone.attrs["error.type"] == "connection_closed", gone
    srv = [s for s in tracer.all_spans() if isinstance(s, Span) and s.start >= t2
           and s.kind == SERVER and s.attrs.get("server.port") == target.port]
    late = [s for s in srv if s.attrs["url.path"].startswith("/sleep/")]
    assert all(s.parent == gone.span_id for s in late), (late, gone)
    answer = [s for s in srv if s.parent == ok.span_id]
    assert len(answer) == 1, (srv, ok)
    check_pair(ok, answer[0], "GET", "/get/1", 200, None, 27)


# ---- command-line clients ----------------------------------------------------

def test_wget_curl_parallel_ab(tracer, target):
    """wget following a redirect chain, POSTing a form and getting a 404;
    curl --parallel with 8 connections at once; ab with 4 concurrent
    HTTP/1.0 connections, 12 requests."""
    t0 = time.time_ns()
    run(need("wget"), "-q", "-O", "/dev/null", target.url + "/redirect/2")
    run(need("wget"), "-q", "-O", "/dev/null", "--post-data=k=v&x=y", target.url + "/echo")
    r = subprocess.run([need("wget"), "-q", "-O", "/dev/null", target.url + "/status/404"])
    assert r.returncode == 8  # wget: the server answered an error
    exchanges(tracer, target.port, t0, redirect_hops(2) + [
        echo("POST", 7), ("GET", "/status/404", 404, None, 11)])
    t1 = time.time_ns()
    run(need("curl"), "-s", "-o", "/dev/null", "--parallel", "--parallel-max", "8",
        target.url + "/sleep/[20-27]")
    exchanges(tracer, target.port, t1, sleeps(20, 8, step=1))
    t2 = time.time_ns()
    out = run(need("ab"), "-n", "12", "-c", "4", target.url + "/bytes/100")
    assert "Failed requests:        0" in out, out
    cli, srv = exchanges(tracer, target.port, t2, [("GET", "/bytes/100", 200, None, 100)] * 12)
    for s in cli + srv:
        assert s.attrs["network.protocol.version"] == "1.0", s.attrs
