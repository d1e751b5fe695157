"""End to end, logs and traces together: the real tracer (real BPF) traces
real HTTP servers that log inside their handlers, and exports spans to a
real Tempo (OTLP) and the lines to a real Loki (push API) at once.

Checked, for the Python and the JDK test servers:
* every line a handler writes is in Loki exactly once, with the trace_id and
  span_id structured metadata of the server span of its request (the span as
  the tracer printed it with --format json, and as Tempo returns it), with
  the host-mode labels (host, service_name, process, cluster, stream);
* `{service_name="..."} | trace_id="..."`, the query behind the Grafana
  span-to-logs link, returns exactly the lines of that request;
* a stack trace written line by line is one Loki entry, frames joined;
* Loki down for a few seconds: spans keep reaching Tempo, the lines logged
  meanwhile arrive once Loki is back, and what overflows the queue bound is
  counted, not lost silently.

Nothing here skips: without root, BPF, Tempo or Loki a test fails and says
why.
"""

import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
import uuid

import pytest

import backends
from lib.peers import Server, curl
from lib.tracer import Span, Tracer

PAGE = 5000  # Loki's default max_entries_limit_per_query
CLUSTER = "e2e-logs"
LOKI_SETTLE = 1.5  # after everything arrived: would a duplicate show up?


def require_root():
    if os.geteuid() != 0:
        pytest.fail("needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to "
                    "load the tracer's BPF programs")


def uid():
    return uuid.uuid4().hex[:8]


# ---- servers whose output is drained ----------------------------------------

class LoggingServer:
    """A test peer (tests/peers) with a unique service name; what it writes
    (stdout and stderr share one pipe) is drained on a thread, so a handler
    never blocks on a full pipe, and kept for diagnostics."""

    def __init__(self, kind, downstream=None):
        self.kind = kind
        self.service = f"e2e-logs-{kind}-{uid()}"
        self.srv = Server(kind, downstream,
                          env={"OTEL_SERVICE_NAME": self.service})
        self.output = []

    def start(self):
        self.srv.start(timeout=90)
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self):
        for line in self.srv.proc.stdout:
            self.output.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def pid(self):
        return self.srv.proc.pid

    @property
    def port(self):
        return self.srv.port

    @property
    def process_label(self):
        """What host mode puts in the `process` label: the executable's
        base name."""
        return os.path.basename(os.readlink(f"/proc/{self.pid}/exe"))

    def get(self, path, traceparent=None, query=None):
        url = self.srv.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        args = ["-H", f"traceparent: {traceparent}"] if traceparent else []
        return curl(*args, url)

    def stop(self):
        self.srv.stop()


@pytest.fixture
def servers():
    started = []

    def make(kind, downstream=None):
        s = LoggingServer(kind, downstream).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def start_tracer(tempo, loki, pids, stats_file, *extra):
    require_root()
    args = ["--otlp-endpoint", tempo.otlp_http_url,
            "--otlp-batch-timeout", "200ms",
            "--loki-endpoint", loki.url, "--loki-batch-timeout", "200ms",
            "--cluster", CLUSTER, "--http-query", "keep", *extra]
    for pid in pids:
        args += ["--pid", str(pid)]
    return Tracer(*args, stats_file=str(stats_file)).start()


def stop_tracer(t, stats_file):
    rc = t.stop()
    assert rc == 0, ("ebpftrace exited with %r; stderr:\n%s"
                     % (rc, t.stderr.decode(errors="replace")[-3000:]))
    with open(stats_file) as f:
        return json.load(f)


# ---- requests and what they must produce -------------------------------------

class Req:
    """One request to a logging route, with the line(s) it must log."""

    def __init__(self, server, path, msg, stream="stdout", traceparent=None,
                 extra=None):
        self.server = server
        self.path = path
        self.msg = msg
        self.stream = stream
        self.query = dict({"msg": msg}, **(extra or {}))
        if stream == "stderr" and path == "/log":
            self.query["stream"] = "stderr"
        self.traceparent = traceparent
        self.span = None  # the tracer's server span, once found

    @property
    def url_query(self):
        return urllib.parse.urlencode(self.query)

    def send(self, want_status=200):
        status = self.server.get(self.path, self.traceparent, self.query)
        assert status == want_status, (self.path, self.query, status)

    def __repr__(self):
        return f"<{self.server.kind} {self.path}?{self.url_query}>"


def new_traceparent():
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{parent}-01", trace_id, parent


def find_server_span(t, req, timeout=20, root=True):
    """The tracer's (--format json) server span of `req`, by its query;
    without a traceparent it starts a trace (root) unless a traced peer
    called it."""
    (s,) = t.wait_for(lambda s: s.kind == 2
                      and s.attrs.get("url.query") == req.url_query
                      and s.attrs.get("server.port") == req.server.port,
                      timeout=timeout)
    time.sleep(0.05)
    same = [x for x in t.all_spans() if isinstance(x, Span) and x.kind == 2
            and x.attrs.get("url.query") == req.url_query]
    assert len(same) == 1, f"{req}: {len(same)} server spans: {same}"
    assert s.name == f"GET {req.path}", s
    assert s.service == req.server.service, s
    assert s.resource.get("process.pid") == req.server.pid, s.resource
    if req.traceparent:
        _, trace_id, parent = req.traceparent.split("-")[:3]
        assert (s.trace_id, s.parent) == (trace_id, parent), (req, s)
    elif root:
        assert not s.parent or set(s.parent) == {"0"}, (req, s)
    req.span = s
    return s


def tracer_logs(t, pred):
    return [r for r in list(t.logs) if pred(r["body"].get("stringValue", ""))]


def wait_tracer_logs(t, pred, count, timeout=15):
    deadline = time.time() + timeout
    while True:
        got = tracer_logs(t, pred)
        if len(got) >= count or time.time() > deadline:
            return got
        time.sleep(0.1)


def log_attrs(rec):
    return backends.attributes(rec.get("attributes"))


# ---- Loki queries -------------------------------------------------------------

def loki_page(loki, logql, start_ns, end_ns):
    """One forward query_range page: entries with labels and structured
    metadata kept apart (categorize-labels), oldest first."""
    params = urllib.parse.urlencode({
        "query": logql, "start": str(start_ns), "end": str(end_ns),
        "limit": str(PAGE), "direction": "forward"})
    status, body = backends.http_request(
        f"{loki.url}/loki/api/v1/query_range?{params}",
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels",
                 "Accept": "application/json"})
    if status != 200:
        return None
    entries = []
    for stream in json.loads(body)["data"]["result"]:
        for v in stream["values"]:
            cat = v[2] if len(v) > 2 else {}
            entries.append({"ts": int(v[0]), "line": v[1],
                            "labels": stream["stream"],
                            "meta": cat.get("structuredMetadata", {})})
    entries.sort(key=lambda e: e["ts"])
    return entries


def loki_wait(loki, logql, start_ns, done, timeout=60):
    """Poll `logql` until done(entries) holds; then query once more after
    LOKI_SETTLE seconds, so an extra (duplicate) entry would be seen, and
    return that answer. Fails with the last answer on timeout."""
    end_ns = time.time_ns() + 3600 * 10**9
    last = []

    def ok():
        nonlocal last
        got = loki_page(loki, logql, start_ns, end_ns)
        if got is not None:
            last = got
        return got is not None and done(got)
    try:
        backends.poll(ok, timeout, 0.5, f"Loki: {logql}")
    except TimeoutError as e:
        pytest.fail(f"{e}; last answer ({len(last)} entries): "
                    f"{[x['line'][:80] for x in last][:50]}")
    time.sleep(LOKI_SETTLE)
    got = loki_page(loki, logql, start_ns, end_ns)
    assert got is not None, f"Loki stopped answering {logql}"
    return got


def has_lines(lines):
    want = set(lines)
    return lambda got: want <= {e["line"] for e in got}


def selector(server):
    return '{service_name="%s"}' % server.service


def host_labels(server, stream):
    return {"host": socket.gethostname(), "service_name": server.service,
            "process": server.process_label, "cluster": CLUSTER,
            "stream": stream}


def assert_one_entry(entries, line, req):
    """`line` is in `entries` exactly once, from `req`'s process and
    stream, with the trace context of `req`'s server span."""
    got = [e for e in entries if e["line"] == line]
    assert len(got) == 1, f"{req}: {len(got)} entries of {line!r}: {got}"
    e = got[0]
    assert e["labels"] == host_labels(req.server, req.stream), e
    assert e["meta"].get("trace_id") == req.span.trace_id, (req, e)
    assert e["meta"].get("span_id") == req.span.span_id, (req, e)
    assert "trace_id" not in e["labels"] and "span_id" not in e["labels"]
    # written inside the handler: its time lies within the server span
    assert req.span.start <= e["ts"] <= req.span.end, (req.span, e)
    return e


# ---- Tempo ----------------------------------------------------------------------

def assert_span_in_tempo(tempo, span, timeout=30):
    """Tempo has the trace of `span`, and in it that server span with the
    same ids, service and request."""
    trace = tempo.get_trace(span.trace_id, timeout=timeout)
    found = [(res, s) for res, s in backends.iter_spans(trace)
             if s["spanId"] == span.span_id]
    assert len(found) == 1, f"span {span} not in Tempo's trace: {trace}"
    res, s = found[0]
    assert s.get("kind") in ("SPAN_KIND_SERVER", 2), s
    assert s.get("name") == span.name
    assert (s.get("parentSpanId") or "") == (span.parent or "")
    assert res.get("service.name") == span.service
    attrs = backends.attributes(s.get("attributes"))
    assert attrs.get("url.query") == span.attrs["url.query"]
    assert attrs.get("ebpftrace.log_lines") == \
        span.attrs.get("ebpftrace.log_lines"), attrs
    return s


# ---- 1. handler log lines carry their request's trace -------------------------

def log_requests(server):
    """Requests to /log: some with a traceparent we choose, some without,
    on stdout and stderr."""
    tag = uid()
    reqs = []
    for i in range(6):
        tp = new_traceparent()[0] if i % 2 else None
        stream = "stderr" if i in (2, 5) else "stdout"
        msg = f"{server.kind}-{tag}-req{i}-{'tp' if tp else 'new'}-{stream}"
        reqs.append(Req(server, "/log", msg, stream, tp))
    return reqs


def check_request_lines(t, tempo, loki, server, reqs, t0):
    for r in reqs:
        find_server_span(t, r)
        assert r.span.attrs.get("ebpftrace.log_lines") == 1, r.span.attrs
        assert r.span.status != 2, r.span  # not an error

    # the console (--format json) log records
    msgs = {r.msg for r in reqs}
    recs = wait_tracer_logs(t, lambda b: b in msgs, len(reqs))
    for r in reqs:
        (rec,) = [x for x in recs if x["body"]["stringValue"] == r.msg]
        assert (rec["traceId"], rec["spanId"]) == \
            (r.span.trace_id, r.span.span_id), (r, rec)
        assert log_attrs(rec)["log.iostream"] == r.stream, rec

    # Tempo has each request's trace, with that very server span
    for r in reqs:
        assert_span_in_tempo(tempo, r.span)

    # Loki: each line once, right labels and trace context, nothing else
    entries = loki_wait(loki, selector(server), t0,
                        has_lines(r.msg for r in reqs))
    for r in reqs:
        assert_one_entry(entries, r.msg, r)
    assert sorted(e["line"] for e in entries) == sorted(msgs), \
        f"unexpected lines of {server.service}: {entries}"

    # the span -> logs query Grafana runs: exactly that request's line
    for r in reqs:
        q = '%s | trace_id="%s"' % (selector(server), r.span.trace_id)
        got = loki_wait(loki, q, t0, lambda g: len(g) >= 1)
        assert [e["line"] for e in got] == [r.msg], (q, got)


def test_handler_lines_in_loki_with_the_trace_in_tempo(tempo, loki, servers,
                                                       tmp_path):
    py, jdk = servers("python"), servers("jdk")
    t0 = time.time_ns() - 10**9
    stats_file = tmp_path / "stats.json"
    t = start_tracer(tempo, loki, [py.pid, jdk.pid], stats_file)
    try:
        reqs = {s: log_requests(s) for s in (py, jdk)}
        for i in range(6):  # interleave the two servers
            for s in (py, jdk):
                reqs[s][i].send()
        for s in (py, jdk):
            check_request_lines(t, tempo, loki, s, reqs[s], t0)
        # two requests of one trace id: the link query gets both lines
        tp, trace_id, _ = new_traceparent()
        pair = [Req(py, "/log", f"py-{uid()}-same-trace-{k}", "stdout", tp)
                for k in range(2)]
        for r in pair:
            r.send()
            find_server_span(t, r)
        assert pair[0].span.span_id != pair[1].span.span_id
        q = '%s | trace_id="%s"' % (selector(py), trace_id)
        got = loki_wait(loki, q, t0, lambda g: len(g) >= 2)
        assert [e["line"] for e in got] == [r.msg for r in pair]
        assert [e["meta"]["span_id"] for e in got] == \
            [r.span.span_id for r in pair]
        keepalive_requests_and_lines_after_the_response(t, loki, py, t0)
    finally:
        stats = stop_tracer(t, stats_file)
    assert stats["loki_entries_sent"] == 2 * 6 + 2 + 2 * 3, stats
    assert stats["loki_entries_dropped"] == 0, stats
    assert stats["spans_exported"] >= 2 * 6 + 2, stats


def keepalive_requests_and_lines_after_the_response(t, loki, py, t0):
    """Three requests on one connection (one server thread): each handler
    line carries its own request's span; a line written after the
    response, when no request is active on the thread, carries none."""
    tag = uid()
    reqs = [Req(py, "/log", f"py-{tag}-ka{i}",
                extra={"after": f"py-{tag}-ka{i}-after"}) for i in range(3)]
    conn = http.client.HTTPConnection("127.0.0.1", py.port, timeout=10)
    try:
        for r in reqs:
            conn.request("GET", f"/log?{r.url_query}")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            time.sleep(0.2)  # the after-line is out before the next request
    finally:
        conn.close()
    for r in reqs:
        find_server_span(t, r)
    assert len({r.span.span_id for r in reqs}) == 3
    assert len({r.span.trace_id for r in reqs}) == 3
    afters = [r.query["after"] for r in reqs]
    entries = loki_wait(loki, selector(py), t0,
                        has_lines([r.msg for r in reqs] + afters))
    for r, after in zip(reqs, afters):
        assert_one_entry(entries, r.msg, r)
        (e,) = [x for x in entries if x["line"] == after]
        assert "trace_id" not in e["meta"] and "span_id" not in e["meta"], e
        assert e["labels"] == host_labels(py, "stdout"), e
        assert e["ts"] > r.span.end, (r.span, e)


def test_downstream_line_carries_the_callers_trace(tempo, loki, servers,
                                                   tmp_path):
    """Python front calls the JDK back on the request's thread; the back
    logs in its handler. Its Loki line carries the trace of the whole
    request (started at the front, or by our traceparent) and the span id
    of the back's server span; Tempo has all three spans."""
    back = servers("jdk")
    front = servers("python", downstream=back.srv.url)
    t0 = time.time_ns() - 10**9
    stats_file = tmp_path / "stats.json"
    t = start_tracer(tempo, loki, [front.pid, back.pid], stats_file)
    try:
        for tp in (None, new_traceparent()[0]):
            r = Req(back, "/log", f"jdk-{uid()}-called-by-python")
            assert front.get("/chain", tp, {"to": f"/log?{r.url_query}"}) \
                == 200
            bs = find_server_span(t, r, root=False)
            (fc,) = t.wait_for(lambda s: s.span_id == bs.parent)
            (fs,) = t.wait_for(lambda s: s.span_id == fc.parent)
            assert (fc.kind, fc.service) == (3, front.service), fc
            assert (fs.kind, fs.service, fs.name) == \
                (2, front.service, "GET /chain"), fs
            assert bs.trace_id == fc.trace_id == fs.trace_id
            if tp:
                assert (fs.trace_id, fs.parent) == tuple(tp.split("-")[1:3])
            trace = tempo.get_trace(bs.trace_id, timeout=30, min_spans=3)
            ids = {s["spanId"] for _, s in backends.iter_spans(trace)}
            assert {bs.span_id, fc.span_id, fs.span_id} <= ids, trace
            entries = loki_wait(loki, selector(back), t0,
                                has_lines([r.msg]))
            assert_one_entry(entries, r.msg, r)
            both = '{service_name=~"%s|%s"} | trace_id="%s"' % (
                front.service, back.service, bs.trace_id)
            got = loki_wait(loki, both, t0, lambda g: len(g) >= 1)
            assert [e["line"] for e in got] == [r.msg], got
    finally:
        stats = stop_tracer(t, stats_file)
    assert stats["loki_entries_sent"] == 2, stats


# ---- 2. a stack trace is one entry ----------------------------------------------

PY_FRAMES = ["\tat com.example.Shop.checkout(Shop.java:42)",
             "\tat com.example.Shop.handle(Shop.java:17)",
             "Caused by: java.io.IOException: disk full",
             "\t... 2 more"]


def stack_entries(entries, msg):
    head = f"java.lang.IllegalStateException: {msg}"
    return [e for e in entries if e["line"].split("\n")[0] == head]


def check_jdk_stack(line, msg):
    lines = line.split("\n")
    assert lines[0] == f"java.lang.IllegalStateException: {msg}", line
    assert len(lines) >= 3, f"frames not joined: {line!r}"
    assert lines[1].startswith("\tat JdkServer.failDeep(JdkServer.java:"), \
        line
    assert lines[2].startswith("\tat JdkServer.stack(JdkServer.java:"), line
    assert all(x.startswith("\tat ") for x in lines[1:]), line
    return len(lines)


def test_stack_trace_is_one_entry_with_the_trace(tempo, loki, servers,
                                                 tmp_path):
    py, jdk = servers("python"), servers("jdk")
    t0 = time.time_ns() - 10**9
    stats_file = tmp_path / "stats.json"
    t = start_tracer(tempo, loki, [py.pid, jdk.pid], stats_file)
    try:
        reqs = []
        for s in (py, jdk):
            for tp in (None, new_traceparent()[0]):
                r = Req(s, "/stack", f"{s.kind}-boom-{uid()}", "stderr", tp)
                r.send(want_status=500)
                # a plain line after the trace: a record of its own
                after = Req(s, "/log", f"{s.kind}-after-{uid()}", "stderr")
                after.send()
                reqs.append((r, after))
        for r, after in reqs:
            find_server_span(t, r)
            find_server_span(t, after)
            assert r.span.attrs["http.response.status_code"] == 500
            assert_span_in_tempo(tempo, r.span)

        for s in (py, jdk):
            mine = [(r, a) for r, a in reqs if r.server is s]
            heads = [f"java.lang.IllegalStateException: {r.msg}"
                     for r, _ in mine]
            afters = [a.msg for _, a in mine]

            def done(got):
                firsts = {e["line"].split("\n")[0] for e in got}
                return set(heads) | set(afters) <= firsts
            entries = loki_wait(loki, selector(s), t0, done)
            assert len(entries) == 2 * len(mine), \
                f"want each trace as one entry: {entries}"
            for r, after in mine:
                (e,) = stack_entries(entries, r.msg)
                if s.kind == "python":
                    assert e["line"] == "\n".join(
                        [f"java.lang.IllegalStateException: {r.msg}"]
                        + PY_FRAMES)
                else:
                    check_jdk_stack(e["line"], r.msg)
                assert_one_entry(entries, e["line"], r)
                assert_one_entry(entries, after.msg, after)
                # the link query finds the whole trace
                q = '%s | trace_id="%s"' % (selector(s), r.span.trace_id)
                got = loki_wait(loki, q, t0, lambda g: len(g) >= 1)
                assert [x["line"] for x in got] == [e["line"]], (q, got)
            # the console record says how many lines were joined
            for r, _ in mine:
                (rec,) = wait_tracer_logs(
                    t, lambda b, m=r.msg: b.startswith(
                        f"java.lang.IllegalStateException: {m}\n"), 1)
                nlines = rec["body"]["stringValue"].count("\n") + 1
                assert log_attrs(rec).get("ebpftrace.log.lines") == nlines
                assert rec["spanId"] == r.span.span_id
    finally:
        stats = stop_tracer(t, stats_file)
    assert stats["loki_entries_dropped"] == 0, stats


# ---- 3. Loki down for a while ------------------------------------------------------

def metrics(addr):
    """The tracer's Prometheus /metrics as {"name{labels}": value}."""
    status, body = backends.http_request(f"http://{addr}/metrics", timeout=5)
    assert status == 200, f"/metrics: {status} {body[:200]!r}"
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def wait_metric(addr, name, pred, what, timeout=60):
    """Poll /metrics until pred(value of `name`) holds; return the value."""
    box = {}

    def ok():
        box["v"] = metrics(addr).get("ebpftrace_" + name)
        return box["v"] is not None and pred(box["v"])
    try:
        backends.poll(ok, timeout, 0.2, what)
    except TimeoutError as e:
        pytest.fail(f"{e}: ebpftrace_{name} = {box.get('v')}")
    return box["v"]


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_loki_down_then_up(tempo, loki, servers, tmp_path, outage):
    """Loki stopped (connections refused) or frozen (SIGSTOP: connections
    hang until the push timeout) for several seconds while handlers log:
    spans keep reaching Tempo, the tracer keeps running, and the lines
    arrive once Loki is back, each once. Then an outage with more lines
    than the queue bound: what fits arrives, the rest is counted."""
    py, jdk = servers("python"), servers("jdk")
    t0 = time.time_ns() - 10**9
    stats_file = tmp_path / "stats.json"
    maddr = f"127.0.0.1:{backends.free_ports(1)[0]}"
    t = start_tracer(tempo, loki, [py.pid, jdk.pid], stats_file,
                     "--loki-timeout", "2s", "--loki-queue-bytes", "64KiB",
                     "--metrics-listen", maddr)
    down = False
    try:
        warm = Req(py, "/log", f"py-before-{uid()}")
        warm.send()
        find_server_span(t, warm)
        assert_one_entry(loki_wait(loki, selector(py), t0,
                                   has_lines([warm.msg])), warm.msg, warm)

        down_at = time.monotonic()
        loki.stop() if outage == "stopped" else loki.pause()
        down = True
        during = []
        for i in range(8):
            s = (py, jdk)[i % 2]
            tp = new_traceparent()[0] if i % 3 == 0 else None
            r = Req(s, "/log", f"{s.kind}-during-{outage}-{uid()}-{i}",
                    "stderr" if i == 5 else "stdout", tp)
            r.send()
            during.append(r)
            time.sleep(0.2)
        for r in during:
            find_server_span(t, r)
        for r in during:  # Tempo gets the spans while Loki is down
            assert_span_in_tempo(tempo, r.span)
        assert t.proc.poll() is None, "the tracer died with Loki down"
        wait_metric(maddr, "loki_push_errors_total", lambda v: v >= 1,
                    "a failed push while Loki is down")
        time.sleep(max(0.0, 6 - (time.monotonic() - down_at)))
        assert t.proc.poll() is None, "the tracer died with Loki down"
        assert metrics(maddr)["ebpftrace_loki_queue_bytes"] > 0, \
            "the lines logged during the outage must wait in the queue"
        loki.restart() if outage == "stopped" else loki.resume()
        down = False

        for s in (py, jdk):
            mine = [r for r in during if r.server is s]
            entries = loki_wait(loki, selector(s), t0,
                                has_lines(r.msg for r in mine), timeout=90)
            for r in mine:
                assert_one_entry(entries, r.msg, r)

        # more than the queue bound (64 KiB) logged while Loki is down
        loki.stop() if outage == "stopped" else loki.pause()
        down = True
        burst = Req(py, "/log", f"py-burst-{outage}-{uid()}",
                    extra={"count": "3000"})
        burst.send()
        find_server_span(t, burst)
        assert burst.span.attrs.get("ebpftrace.log_lines") == 3000
        assert_span_in_tempo(tempo, burst.span)
        wait_metric(maddr, 'loki_lines_dropped_total{reason="queue_full"}',
                    lambda v: v > 0, "lines dropped on a full queue")
        time.sleep(2)
        assert t.proc.poll() is None, "the tracer died with Loki down"
        loki.restart() if outage == "stopped" else loki.resume()
        down = False
        # the queue drains before the next line is logged, so it fits
        wait_metric(maddr, "loki_queue_bytes", lambda v: v == 0,
                    "the Loki queue to drain", timeout=90)
        after = Req(py, "/log", f"py-after-{outage}-{uid()}")
        after.send()
        find_server_span(t, after)
        entries = loki_wait(loki, selector(py), t0, has_lines([after.msg]),
                            timeout=90)
        assert_one_entry(entries, after.msg, after)
    finally:
        if down:
            loki.restart() if outage == "stopped" else loki.resume()
        stats = stop_tracer(t, stats_file)

    prefix = burst.msg + " "
    got = [e for e in entries if e["line"].startswith(prefix)]
    idx = [int(e["line"][len(prefix):]) for e in got]
    assert idx == sorted(set(idx)), "burst lines duplicated or out of order"
    assert idx and idx[0] == 0, "the oldest queued lines must be kept"
    for e in got:
        assert e["meta"].get("trace_id") == burst.span.trace_id, e
        assert e["meta"].get("span_id") == burst.span.span_id, e
    total = 1 + len(during) + 3000 + 1
    assert 0 < stats["loki_entries_dropped"] < 3000, stats
    assert stats["loki_entries_sent"] + stats["loki_entries_dropped"] == \
        total, stats
    assert stats["loki_entries_sent"] == 1 + len(during) + len(got) + 1, \
        (stats, len(got))
    assert stats["loki_errors"] >= 1, stats
    err = t.stderr.decode(errors="replace")
    assert "queue full" in err, "dropped lines must be said in the log"
    said = (f"{stats['loki_entries_dropped']} log lines not delivered "
            f"(queue full {stats['loki_entries_dropped']}, rejected 0, "
            f"failed 0, at shutdown 0), {stats['loki_entries_sent']} "
            "delivered")
    assert said in err, f"no exit report {said!r} in: {err[-2000:]}"


def test_exit_with_loki_down_counts_and_says_the_loss(tempo, servers,
                                                      tmp_path):
    """The tracer stops (SIGINT) while Loki refuses connections: it exits
    in time with status 0, its spans are in Tempo, and the lines Loki never
    got are counted and said in its log."""
    py = servers("python")
    stats_file = tmp_path / "stats.json"
    down = f"http://127.0.0.1:{backends.free_ports(1)[0]}"
    require_root()
    t = Tracer("--otlp-endpoint", tempo.otlp_http_url,
               "--otlp-batch-timeout", "200ms", "--loki-endpoint", down,
               "--http-query", "keep", "--pid", str(py.pid),
               stats_file=str(stats_file)).start()
    try:
        reqs = [Req(py, "/log", f"py-{uid()}-unsent-{i}") for i in range(3)]
        for r in reqs:
            r.send()
        for r in reqs:
            find_server_span(t, r)
        assert len(wait_tracer_logs(t, lambda b: "-unsent-" in b, 3)) == 3
        for r in reqs:
            assert_span_in_tempo(tempo, r.span)
        time.sleep(1)  # a push or two fails
    finally:
        t0 = time.monotonic()
        stats = stop_tracer(t, stats_file)
        took = time.monotonic() - t0
    assert took < 12, f"exit took {took:.1f}s with Loki down"
    assert stats["loki_entries_sent"] == 0, stats
    assert stats["loki_entries_dropped"] == 3, stats
    assert stats["loki_errors"] >= 1, stats
    err = t.stderr.decode(errors="replace")
    said = ("3 log lines not delivered (queue full 0, rejected 0, failed 0, "
            "at shutdown 3), 0 delivered")
    assert said in err, f"no exit report {said!r} in: {err[-2000:]}"
