"""deploy/grafana/datasources.yaml, checked as far as it can be without a
Grafana: valid provisioning YAML with both data sources and both links,
and the LogQL query that "Logs for this span" would run, with Grafana's
variables substituted for a known span, returns from a real Loki exactly
the lines of that trace (pushed with trace_id structured metadata, as
ebpftrace pushes them), and the derived field of the Loki data source
turns each of those lines back into that trace id."""

import json
import os
import re
import time
import urllib.parse

import pytest
import yaml

import backends
import tools

PROVISIONING = tools.REPO / "deploy" / "grafana" / "datasources.yaml"


@pytest.fixture(scope="module")
def provisioning():
    doc = yaml.safe_load(PROVISIONING.read_text())
    assert doc["apiVersion"] == 1
    return doc


@pytest.fixture(scope="module")
def sources(provisioning):
    by_type = {}
    for ds in provisioning["datasources"]:
        assert ds["type"] not in by_type, f"two {ds['type']} data sources"
        by_type[ds["type"]] = ds
    assert set(by_type) == {"tempo", "loki"}
    return by_type


def grafana_env_expand(text, env=None):
    """What Grafana does to a provisioning file's values before use: `$$` is
    a literal `$`; `${NAME}` and `$NAME` are environment variables."""
    env = env or {}

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1) or m.group(2), "")
    return re.sub(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)


_VAR = re.compile(r"\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}")
_PATH = re.compile(r'\.?([A-Za-z_]\w*)|\["([^"]+)"\]|\[\'([^\']+)\'\]')


def grafana_interpolate(query, scoped):
    """Grafana's `${var.path}` substitution of a data link or trace-to-logs
    query (path with dots or ["quoted keys"]); an unknown variable or path
    is an error rather than a silent empty string."""
    def lookup(m):
        name, path, fmt = m.groups()
        assert fmt is None, f"format {fmt!r} not supported here"
        assert name in scoped, f"unknown variable ${{{name}}}"
        value = scoped[name]
        pos = 0
        while path and pos < len(path):
            pm = _PATH.match(path, pos)
            assert pm, f"cannot parse path {path!r} of ${{{name}}}"
            key = next(g for g in pm.groups() if g is not None)
            assert isinstance(value, dict) and key in value, \
                f"${{{name}.{path}}}: no {key!r}"
            value = value[key]
            pos = pm.end()
        assert isinstance(value, str), f"${{{name}}} is not a string"
        return value
    out = _VAR.sub(lookup, query)
    assert "${" not in out, f"unsubstituted variable left in {out!r}"
    return out


def test_provisioning_shape(sources):
    tempo, loki = sources["tempo"], sources["loki"]
    assert tempo["uid"] == "ebpftrace-tempo" and loki["uid"] == "ebpftrace-loki"
    assert tempo["url"] == "http://tempo-gateway.tracing"
    assert loki["url"] == "http://loki-gateway.loki"
    for ds in (tempo, loki):
        assert ds["access"] == "proxy"
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", ds["uid"]), ds["uid"]


def test_span_links_to_its_logs(sources):
    t2l = sources["tempo"]["jsonData"]["tracesToLogsV2"]
    assert t2l["datasourceUid"] == sources["loki"]["uid"]
    assert t2l["customQuery"] is True
    assert t2l["filterByTraceID"] is False and t2l["filterBySpanID"] is False
    for k in ("spanStartTimeShift", "spanEndTimeShift"):
        assert re.fullmatch(r"-?\d+(ms|s|m|h)", t2l[k]), t2l[k]
    # Written with `$$` so that Grafana's environment expansion leaves
    # the query variables to the trace view.
    query = grafana_env_expand(t2l["query"])
    assert "${__trace.traceId}" in query
    assert "trace_id=" in query


def test_log_line_links_to_its_trace(sources):
    (df,) = sources["loki"]["jsonData"]["derivedFields"]
    assert df["matcherType"] == "label"
    assert df["matcherRegex"] == "trace_id"
    assert df["datasourceUid"] == sources["tempo"]["uid"]
    assert grafana_env_expand(df["url"]) == "${__value.raw}"


def test_env_expansion_keeps_query_variables():
    raw = 'a="$${__trace.traceId}" b="${HOME_X}" c="$$x"'
    assert grafana_env_expand(raw, {"HOME_X": "h"}) == \
        'a="${__trace.traceId}" b="h" c="$x"'


def query_entries(loki, logql, start_ns, end_ns):
    """query_range with structured metadata kept apart from the labels."""
    params = urllib.parse.urlencode({
        "query": logql, "start": str(start_ns), "end": str(end_ns),
        "limit": "1000", "direction": "forward"})
    status, body = backends.http_request(
        f"{loki.url}/loki/api/v1/query_range?{params}",
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels",
                 "Accept": "application/json"})
    assert status == 200, body[:500]
    out = []
    for stream in json.loads(body)["data"]["result"]:
        for v in stream["values"]:
            meta = (v[2] if len(v) > 2 else {}).get("structuredMetadata", {})
            out.append({"line": v[1], "labels": stream["stream"],
                        "meta": meta, "ts": int(v[0])})
    return sorted(out, key=lambda e: e["ts"])


def push(loki, labels, entries):
    """entries: (ts_ns, line, structured metadata or None)."""
    values = [[str(ts), line] + ([meta] if meta else [])
              for ts, line, meta in entries]
    body = json.dumps({"streams": [{"stream": labels, "values": values}]})
    status, resp = backends.http_request(
        loki.push_url, "POST", body.encode(),
        {"Content-Type": "application/json"})
    assert status == 204, resp[:300]


def test_span_to_logs_query_against_loki(loki, sources):
    t2l = sources["tempo"]["jsonData"]["tracesToLogsV2"]
    run = os.urandom(4).hex()
    svc, other_svc = f"checkout-{run}", f"payments-{run}"
    trace = os.urandom(16).hex()
    other_trace = os.urandom(16).hex()
    span, other_span = os.urandom(8).hex(), os.urandom(8).hex()
    k8s = {"namespace": "shop", "container": "app", "job": "shop/app",
           "cluster": "vicky-test", "stream": "stdout"}
    now = time.time_ns()
    ts = iter(range(now - 10**9, now, 1000))

    def meta(t, s):
        return {"trace_id": t, "span_id": s}
    mine = [f"GET /cart {run} {i}" for i in range(3)]
    # The span's service: lines of the trace, of another trace and with no
    # trace; another service's lines of the same trace; stderr of the
    # trace in a second stream of the same service.
    push(loki, {**k8s, "pod": "checkout-1", "service_name": svc}, [
        (next(ts), mine[0], meta(trace, span)),
        (next(ts), f"other request {run}", meta(other_trace, other_span)),
        (next(ts), mine[1], meta(trace, span)),
        (next(ts), f"startup line {run}", None),
        (next(ts), mine[2], meta(trace, span)),
    ])
    err = f"WARN slow cart {run}"
    push(loki, {**k8s, "pod": "checkout-1", "service_name": svc,
                "stream": "stderr"}, [(next(ts), err, meta(trace, span))])
    push(loki, {**k8s, "pod": "payments-1", "service_name": other_svc}, [
        (next(ts), f"charge {run}", meta(trace, os.urandom(8).hex()))])

    # What Grafana does for "Logs for this span" on a span of `svc` in
    # `trace`: env expansion at provisioning, then the trace view's
    # variables (resource attributes are part of __span.tags).
    query = grafana_interpolate(grafana_env_expand(t2l["query"]), {
        "__trace": {"traceId": trace},
        "__span": {"spanId": span, "traceId": trace, "name": "GET /cart",
                   "tags": {"service.name": svc,
                            "k8s.namespace.name": "shop",
                            "k8s.pod.name": "checkout-1"}},
    })
    assert trace in query and svc in query, query
    start, end = now - 60 * 10**9, now + 60 * 10**9

    def enough():
        res = query_entries(loki, query, start, end)
        return res if len(res) >= 4 else None
    backends.poll(enough, 30, what=f"LogQL {query}")
    time.sleep(1)  # anything else that matched would be there by now too
    got = query_entries(loki, query, start, end)
    assert [e["line"] for e in got] == mine + [err], got
    for e in got:
        assert e["meta"]["trace_id"] == trace
        assert e["labels"]["service_name"] == svc

    # Log line -> trace: the derived field takes the trace_id (matcher
    # type "label") and its URL, ${__value.raw}, is the Tempo query.
    (df,) = sources["loki"]["jsonData"]["derivedFields"]
    url = grafana_env_expand(df["url"])
    for e in got:
        value = e["meta"][df["matcherRegex"]]
        assert grafana_interpolate(url, {"__value": {"raw": value}}) == trace
