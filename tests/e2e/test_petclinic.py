"""The product's reference workload: a PetClinic-shaped Spring Boot app
(tests/peers/petclinic: embedded Tomcat, Spring MVC controllers with path
variables, hand-rendered HTML, a static CSS file Tomcat sends with
sendfile(2), form POSTs answered with 302, /oups throwing -> 500, a
controller calling /api/vets over HTTP with RestTemplate, which Spring Boot
3.5 backs with java.net.http.HttpClient; Logback to stdout), traced by the
real ebpftrace (real BPF, --pid of the JVM).

1. ebpftrace alone, --format json: exactly one server span per request with
   method, status, url.path, http.route (the mapping read from the jar, else
   the path templated), name, error on 5xx; the downstream client span is a child of its server span and the parent of
   the downstream server span, in one trace; form body size; the 302; the
   sendfile'd CSS with its size; service.name `spring-petclinic`; every
   controller's Logback line with the trace and span id of its request.
2. Side by side with the OpenTelemetry Java agent (the version the bench
   pins) on a second run of the app: agent -> Tempo as `petclinic-direct`,
   ebpftrace -> the same Tempo as `spring-petclinic`; what Tempo returns for
   both is compared request by request. Differences that are by design are
   asserted as such and written down in docs/limits.md.

Every test runs: no root, no Maven, no agent jar, a failed build: it fails
and says why (the Maven output is in the message).
"""
import http.client
import json
import os
import subprocess
import time
import urllib.parse

import pytest

import backends
from lib import petclinic
from lib.tracer import SKEW, Span, Tracer

SERVICE = petclinic.SERVICE            # ebpftrace's service.name for the jar
AGENT_SERVICE = "petclinic-direct"     # as in the seed's Helm values
CSS = os.path.join(petclinic.SRC, "src/main/resources/static/resources/css/petclinic.css")
OWNER_FORM = "firstName=Jean&lastName=Coleman&address=105+N.+Lake+St.&city=Monona&telephone=6085552654"
VISIT_FORM = "date=2026-01-02&description=rabies+shot"


class Req:
    def __init__(self, key, via, method, target, status, route, log=None, body=None):
        self.key, self.via, self.method, self.target = key, via, method, target
        self.status, self.route, self.log, self.body = status, route, log, body
        self.path = urllib.parse.urlsplit(target).path
        self.got_status = None
        self.got_len = None


def requests():
    """The fixed set, in this order; `via` is the client that sends it."""
    return [
        Req("owner", "curl", "GET", "/owners/1", 200, "/owners/{ownerId}", "show owner 1 Franklin"),
        Req("search", "curl", "GET", "/owners?lastName=Davis", 200, "/owners",
            "owner search lastName=Davis found 2"),
        Req("vets", "python", "GET", "/api/vets", 200, "/api/vets", "vets api: 4 vets"),
        Req("new_owner", "python", "POST", "/owners/new", 302, "/owners/new",
            "created owner 5 Jean Coleman", body=OWNER_FORM),
        Req("visit_form", "python", "GET", "/owners/3/pets/4/visits/new", 200,
            "/owners/{ownerId}/pets/{petId}/visits/new", "new visit form owner 3 pet 4"),
        Req("visit_post", "curl", "POST", "/owners/3/pets/4/visits/new", 302,
            "/owners/{ownerId}/pets/{petId}/visits/new",
            "visit added owner 3 pet 4 description rabies shot", body=VISIT_FORM),
        Req("css", "curl", "GET", "/resources/css/petclinic.css", 200,
            "/resources/css/petclinic.css"),
        Req("oups", "curl", "GET", "/oups", 500, "/oups", "oups: about to throw"),
        Req("missing", "python", "GET", "/owners/999", 404, "/owners/{ownerId}", "owner 999 not found"),
        Req("chain", "curl", "GET", "/owners/2/vets", 200, "/owners/{ownerId}/vets",
            "vets for owner 2 from http://127.0.0.1:"),
        # no mapping: Spring Boot sends them on to its error page, /error
        Req("unmapped", "curl", "GET", "/no/such/page", 404, "/error"),
        Req("not_allowed", "python", "DELETE", "/owners/1", 405, "/error"),
        # Spring Boot Actuator's endpoints, mapped by its own handler mapping
        Req("health", "curl", "GET", "/actuator/health", 200, "/actuator/health"),
        Req("liveness", "python", "GET", "/actuator/health/liveness", 404,
            "/actuator/health/**"),
    ]


def send_all(app):
    """curl for some, one keep-alive http.client connection for the rest."""
    reqs = requests()
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    for r in reqs:
        if r.via == "curl":
            args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"]
            if r.body:
                args += ["-X", r.method, "--data", r.body]
            out = subprocess.run(args + [app.url + r.target], capture_output=True,
                                 timeout=30, check=True).stdout.decode().split()
            r.got_status, r.got_len = int(out[0]), int(out[1])
        else:
            headers = {"Content-Type": "application/x-www-form-urlencoded"} if r.body else {}
            conn.request(r.method, r.target, body=r.body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            r.got_status, r.got_len = resp.status, len(data)
        assert r.got_status == r.status, (r.key, r.got_status, app.log_tail())
    conn.close()
    return reqs


def require_root():
    if os.geteuid() != 0:
        pytest.fail("needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to load the tracer's BPF")


@pytest.fixture(scope="session")
def petclinic_jar():
    try:
        return petclinic.build()
    except petclinic.PeerError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def agent_jar():
    try:
        return petclinic.agent_jar()
    except petclinic.PeerError as e:
        pytest.fail(str(e), pytrace=False)


def start_traced(app, *tracer_args):
    """The JVM first, then the tracer on its pid, then wait for the port
    (tests/bpf/test_cli.py covers a tracer attached while the acceptor is
    already blocked in accept())."""
    app.spawn()
    t = Tracer("--pid", str(app.pid), "--cri-socket=", *tracer_args)
    try:
        t.start()
        app.wait_port()
    except Exception:
        t.stop()
        app.stop()
        raise
    return t


def servers(spans):
    return [s for s in spans if isinstance(s, Span) and s.kind == 2 and s.service == SERVICE]


def wait_quiet(t, pred, count, timeout=30, settle=1.5):
    """At least count spans matching pred, then no new one for settle s."""
    got = t.wait_for(pred, count=count, timeout=timeout)
    time.sleep(settle)
    return [s for s in t.all_spans() if isinstance(s, Span) and pred(s)]


# ---- 1. ebpftrace alone ------------------------------------------------------

@pytest.fixture(scope="module")
def alone(petclinic_jar, tmp_path_factory):
    require_root()
    d = tmp_path_factory.mktemp("petclinic")
    app = petclinic.PetClinic(petclinic_jar, str(d / "app.log"))
    t = start_traced(app)
    try:
        reqs = send_all(app)
        # 10 requests + the downstream /api/vets of "chain"
        spans = wait_quiet(t, lambda s: s.kind == 2 and s.service == SERVICE, len(reqs) + 1)
        time.sleep(1.5)  # logs: flushed within --logs-flush-timeout
        logs = list(t.logs)
    finally:
        t.stop()
        app.stop()
    return {"reqs": reqs, "spans": t.all_spans(), "servers": servers(spans), "logs": logs,
            "app": app, "tracer": t}


def the_server_span(run, r):
    """The one server span of request r (the downstream /api/vets, which has
    a parent, is not the direct request)."""
    got = [s for s in run["servers"] if s.attrs.get("url.path") == r.path
           and s.attrs.get("http.request.method") == r.method and not s.parent]
    assert len(got) == 1, f"{r.key}: expected exactly one server span, got {got}"
    return got[0]


def test_one_server_span_per_request(alone):
    reqs = alone["reqs"]
    bad = [s for s in alone["spans"] if not isinstance(s, Span)]
    assert not bad, bad
    assert len(alone["servers"]) == len(reqs) + 1, alone["servers"]
    for r in reqs:
        s = the_server_span(alone, r)
        assert s.attrs["http.response.status_code"] == r.status, r.key
        assert s.attrs["http.route"] == r.route, r.key
        assert s.name == f"{r.method} {r.route}", r.key
        assert s.attrs["url.scheme"] == "http"
        assert s.attrs["server.port"] == alone["app"].port
        # semconv: a server span is an error on 5xx only (404 and 302 are not)
        assert s.status == (2 if r.status >= 500 else 0), (r.key, s.status)
        assert s.start < s.end


def test_query_string_and_form_posts(alone):
    reqs = {r.key: r for r in alone["reqs"]}
    search = the_server_span(alone, reqs["search"])
    assert search.attrs["url.path"] == "/owners"
    assert search.attrs["url.query"] == "lastName=REDACTED"  # --http-query redact (default)
    for key, form in (("new_owner", OWNER_FORM), ("visit_post", VISIT_FORM)):
        s = the_server_span(alone, reqs[key])
        assert s.attrs["http.response.status_code"] == 302
        assert s.attrs["http.request.body.size"] == len(form), key


def test_static_file_sent_with_sendfile(alone):
    css = the_server_span(alone, {r.key: r for r in alone["reqs"]}["css"])
    size = os.path.getsize(CSS)
    assert size >= 48 * 1024, "must stay above Tomcat's sendfile threshold"
    assert {r.key: r for r in alone["reqs"]}["css"].got_len == size
    assert css.attrs["http.response.status_code"] == 200
    assert css.attrs["http.response.body.size"] == size


def test_downstream_call_is_child_of_its_server_span(alone):
    chain = the_server_span(alone, {r.key: r for r in alone["reqs"]}["chain"])
    clients = [s for s in alone["spans"] if isinstance(s, Span) and s.kind == 3]
    assert len(clients) == 1, clients
    (c,) = clients
    assert (c.trace_id, c.parent) == (chain.trace_id, chain.span_id)
    assert c.name == "GET"
    assert c.attrs["url.full"] == f"http://127.0.0.1:{alone['app'].port}/api/vets"
    assert c.attrs["http.response.status_code"] == 200
    # RestTemplate -> JDK HttpClient: written by an HttpClient worker thread
    assert c.attrs.get("ebpftrace.parent.inferred") == "only_server_span_in_flight"
    down = [s for s in alone["servers"] if s.parent]
    assert len(down) == 1, down
    assert (down[0].trace_id, down[0].parent) == (chain.trace_id, c.span_id)
    assert down[0].name == "GET /api/vets"
    assert chain.start <= c.start <= c.end <= chain.end
    # across processes the stamps may cross by a preempted syscall exit
    assert c.start <= down[0].start + SKEW and down[0].end <= c.end + SKEW


def test_service_name_from_the_jar(alone):
    for s in alone["servers"]:
        assert s.service == SERVICE
        assert s.resource["process.pid"] == alone["app"].pid
        assert s.resource["telemetry.sdk.name"] == "ebpftrace"


def body(rec):
    return rec["body"].get("stringValue", "")


def test_logback_lines_carry_their_request(alone):
    logs, reqs = alone["logs"], alone["reqs"]
    by_span = {s.span_id: s for s in alone["servers"]}
    for r in reqs:
        if not r.log:
            continue
        s = the_server_span(alone, r)
        recs = [x for x in logs if r.log in body(x) and x.get("spanId") == s.span_id]
        others = [x for x in logs if r.log in body(x)]
        assert len(recs) == 1, (r.key, others)
        assert recs[0]["traceId"] == s.trace_id
        assert "INFO" in body(recs[0]) and "exec-" in body(recs[0])
    # "vets api" twice: the direct request and the downstream one, each its own
    vets = [x for x in logs if "vets api: 4 vets" in body(x)]
    assert len(vets) == 2, vets
    assert {x["spanId"] for x in vets} <= set(by_span)
    assert len({x["spanId"] for x in vets}) == 2
    # /oups: Tomcat's ERROR line and its stack trace (Spring Boot prints a
    # blank line between them) are one record, in the request
    oups = the_server_span(alone, {r.key: r for r in reqs}["oups"])
    err = [x for x in logs if "Servlet.service() for servlet [dispatcherServlet]" in body(x)]
    assert len(err) == 1 and err[0].get("spanId") == oups.span_id, err
    assert "\n\njava.lang.RuntimeException: Expected:" in body(err[0]), body(err[0])[:400]
    assert "\tat org.springframework.samples.petclinic.CrashController" in body(err[0])
    assert not [x for x in logs if body(x).startswith("java.lang.RuntimeException")], \
        [body(x)[:120] for x in logs]
    # every line written while a request was served names that request
    for x in logs:
        if x.get("spanId"):
            assert x["spanId"] in by_span, x


# ---- 2. side by side with the OpenTelemetry Java agent -------------------------

def tempo_spans(tempo, trace_id):
    trace = tempo.fetch_trace(trace_id)
    out = []
    for res, span in backends.iter_spans(trace or {"resourceSpans": []}):
        out.append(dict(span, res=res, attrs=backends.attributes(span.get("attributes"))))
    return out


def kind(s):
    k = s["kind"]
    return {2: "SERVER", 3: "CLIENT", 1: "INTERNAL"}.get(k, str(k).replace("SPAN_KIND_", ""))


@pytest.fixture(scope="module")
def side_by_side(petclinic_jar, agent_jar, _tempo_shared, tmp_path_factory):
    # module-scoped: takes the session's Tempo and heals it itself, as the
    # function-scoped `tempo` fixture does for each test
    tempo = _tempo_shared
    tempo.heal()
    require_root()
    d = tmp_path_factory.mktemp("petclinic-agent")
    # The agent is configured by file: ebpftrace itself takes service.name
    # from OTEL_SERVICE_NAME / -Dotel.service.name of the process (by
    # design), which would name both exports petclinic-direct.
    conf = d / "agent.properties"
    conf.write_text("\n".join([
        f"otel.service.name={AGENT_SERVICE}",
        f"otel.exporter.otlp.endpoint={tempo.otlp_http_url}",
        "otel.exporter.otlp.protocol=http/protobuf",
        "otel.metrics.exporter=none",
        "otel.logs.exporter=none",
        "otel.bsp.schedule.delay=200",
        "otel.traces.sampler=always_on",
    ]) + "\n")
    app = petclinic.PetClinic(petclinic_jar, str(d / "app.log"),
                              jvm_args=[f"-javaagent:{agent_jar}",
                                        f"-Dotel.javaagent.configuration-file={conf}"])
    t = start_traced(app, "--otlp-endpoint", tempo.otlp_http_url,
                     "--otlp-batch-timeout", "200ms")
    try:
        t0 = int(time.time()) - 5
        reqs = send_all(app)
        ours = wait_quiet(t, lambda s: s.kind == 2 and s.service == SERVICE, len(reqs) + 1)
        time.sleep(1)
    finally:
        t.stop()
        app.stop()
    assert "opentelemetry-javaagent" in app.log_tail(200000), "the agent did not start"
    # ours, from Tempo: the traces of our server spans
    our_traces = {}
    for s in ours:
        tempo.get_trace(s.trace_id, timeout=30)
        our_traces[s.trace_id] = [x for x in tempo_spans(tempo, s.trace_id)
                                  if x["res"].get("service.name") == SERVICE]
    # the agent's, from Tempo: one trace per request
    found = tempo.search(service_name=AGENT_SERVICE, min_results=len(reqs), timeout=60,
                         start=t0, limit=200)
    agent_traces = {}
    for tr in found:
        spans = [x for x in tempo_spans(tempo, tr["traceID"])
                 if x["res"].get("service.name") == AGENT_SERVICE]
        agent_traces[tr["traceID"]] = spans
    return {"reqs": reqs, "ours": our_traces, "agent": agent_traces, "app": app}


def roots(traces):
    """(trace spans, root server span) per trace."""
    out = []
    for spans in traces.values():
        for s in spans:
            if kind(s) == "SERVER" and not s.get("parentSpanId"):
                out.append((spans, s))
    return out


def by_request(traces, reqs):
    out = {}
    for spans, root in roots(traces):
        for r in reqs:
            if (root["attrs"].get("url.path"), root["attrs"].get("http.request.method")) == \
                    (r.path, r.method):
                assert r.key not in out, f"two root server spans for {r.key}"
                out[r.key] = (spans, root)
    return out


def test_same_server_spans_as_the_agent(side_by_side):
    reqs = side_by_side["reqs"]
    ours = by_request(side_by_side["ours"], reqs)
    agent = by_request(side_by_side["agent"], reqs)
    assert sorted(ours) == sorted(r.key for r in reqs), sorted(ours)
    assert sorted(agent) == sorted(r.key for r in reqs), sorted(agent)
    n_ours = sum(1 for sp in side_by_side["ours"].values() for s in sp if kind(s) == "SERVER")
    n_agent = sum(1 for sp in side_by_side["agent"].values() for s in sp if kind(s) == "SERVER")
    assert n_ours == n_agent == len(reqs) + 1
    for r in reqs:
        o, a = ours[r.key][1], agent[r.key][1]
        for k in ("http.request.method", "http.response.status_code", "url.path"):
            assert o["attrs"][k] == a["attrs"][k], (r.key, k, o["attrs"], a["attrs"])
        # 5xx: both mark the server span as an error
        err = lambda s: s.get("status", {}).get("code") in (2, "STATUS_CODE_ERROR")  # noqa: E731
        assert err(o) == err(a) == (r.status >= 500), (r.key, o.get("status"), a.get("status"))


def test_routes_are_the_agent_s_but_static_files(side_by_side):
    """ebpftrace reads the app's Spring MVC mappings from its jar, so its
    routes and span names are the agent's (/owners/{ownerId}). The static
    file is the exception (docs/limits.md): the agent reports the servlet
    mapping /resources/*, which is in no annotation; we template the path."""
    reqs = side_by_side["reqs"]
    ours = by_request(side_by_side["ours"], reqs)
    agent = by_request(side_by_side["agent"], reqs)
    expected_agent = {
        "owner": "/owners/{ownerId}", "search": "/owners", "vets": "/api/vets",
        "new_owner": "/owners/new",
        "visit_form": "/owners/{ownerId}/pets/{petId}/visits/new",
        "visit_post": "/owners/{ownerId}/pets/{petId}/visits/new",
        "css": "/resources/*", "oups": "/oups", "missing": "/owners/{ownerId}",
        "chain": "/owners/{ownerId}/vets", "unmapped": "/error", "not_allowed": "/error",
        "health": "/actuator/health", "liveness": "/actuator/health/**",
    }
    got = {k: agent[k][1]["attrs"].get("http.route") for k in agent}
    assert got == expected_agent
    for r in reqs:
        assert ours[r.key][1]["attrs"]["http.route"] == r.route
        assert ours[r.key][1]["name"] == f"{r.method} {r.route}"
        assert agent[r.key][1]["name"] == f"{r.method} {expected_agent[r.key]}"
        if r.key != "css":
            assert r.route == expected_agent[r.key], r.key


def chain_of(spans, root):
    """Kinds from the downstream server span up to the root: INTERNAL spans
    (controller spans, if an agent makes them) are passed over."""
    by_id = {s["spanId"]: s for s in spans}
    down = [s for s in spans if kind(s) == "SERVER" and s.get("parentSpanId")]
    assert len(down) == 1, [(kind(s), s["name"]) for s in spans]
    path, s = [], down[0]
    while s is not None:
        path.append(kind(s))
        s = by_id.get(s.get("parentSpanId"))
    assert path[-1] == "SERVER" and by_id.get(root["spanId"]) is not None
    return [k for k in path if k != "INTERNAL"][::-1], down[0]


def test_downstream_call_has_the_agents_structure(side_by_side):
    reqs = side_by_side["reqs"]
    ours = by_request(side_by_side["ours"], reqs)
    agent = by_request(side_by_side["agent"], reqs)
    o_path, o_down = chain_of(*ours["chain"])
    a_path, a_down = chain_of(*agent["chain"])
    assert o_path == a_path == ["SERVER", "CLIENT", "SERVER"]
    assert o_down["name"] == a_down["name"] == "GET /api/vets"
    # exactly the three spans on both sides: agent 2.x makes no INTERNAL
    # controller spans unless controller-telemetry is turned on
    assert sorted(kind(s) for s in ours["chain"][0]) == ["CLIENT", "SERVER", "SERVER"]
    assert sorted(kind(s) for s in agent["chain"][0]) == ["CLIENT", "SERVER", "SERVER"]
    o_client = [s for s in ours["chain"][0] if kind(s) == "CLIENT"][0]
    a_client = [s for s in agent["chain"][0] if kind(s) == "CLIENT"][0]
    for k in ("http.request.method", "http.response.status_code", "url.full"):
        assert o_client["attrs"][k] == a_client["attrs"][k], (k, o_client, a_client)
    # every other request is one server span in ours; the agent's too, but
    # for a 404 or 405 (HttpServletResponse.sendError: a
    # ResponseStatusException, no mapping, a method not allowed) it adds an
    # INTERNAL "ResponseFacade.sendError" span (by design)
    for r in reqs:
        if r.key == "chain":
            continue
        assert [kind(s) for s in ours[r.key][0]] == ["SERVER"], r.key
        got = sorted((kind(s), s["name"]) for s in agent[r.key][0])
        want = [("SERVER", agent[r.key][1]["name"])]
        if r.key == "missing":
            want = [("INTERNAL", "ResponseFacade.sendError")] + want
        if r.status in (404, 405) and r.key != "missing":
            got = [g for g in got if g != ("INTERNAL", "ResponseFacade.sendError")]
        assert got == want, r.key
