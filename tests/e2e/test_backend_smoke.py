"""Proves the backend harness works, independently of the tracer: data sent
by hand to real Tempo / Loki comes back through their query APIs."""

import base64
import os
import signal
import time

import backends


def otlp_trace(service, trace_id, span_ids, name="GET /smoke"):
    """A hand-made OTLP/JSON ExportTraceServiceRequest: a root span and
    one child per extra span id, ids in hex as OTLP/JSON requires."""
    now = time.time_ns()
    spans = []
    for i, sid in enumerate(span_ids):
        span = {
            "traceId": trace_id,
            "spanId": sid,
            "name": name if i == 0 else f"child-{i}",
            "kind": 2 if i == 0 else 3,
            "startTimeUnixNano": str(now - 5_000_000 + i),
            "endTimeUnixNano": str(now),
            "attributes": [
                {"key": "http.request.method",
                 "value": {"stringValue": "GET"}},
                {"key": "http.response.status_code",
                 "value": {"intValue": "200"}},
            ],
            "status": {"code": 0},
        }
        if i:
            span["parentSpanId"] = span_ids[0]
        spans.append(span)
    return {"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
        ]},
        "scopeSpans": [{"scope": {"name": "smoke-test"}, "spans": spans}],
    }]}


def test_tempo_trace_by_id_and_search(tempo):
    trace_id = os.urandom(16).hex()
    span_ids = [os.urandom(8).hex() for _ in range(2)]
    service = f"smoke-{os.urandom(4).hex()}"
    tempo.post_otlp_json(otlp_trace(service, trace_id, span_ids))

    trace = tempo.get_trace(trace_id, timeout=30, min_spans=2)
    got = list(backends.iter_spans(trace))
    assert sorted(s["spanId"] for _, s in got) == sorted(span_ids)
    assert {s["traceId"] for _, s in got} == {trace_id}
    assert {r["service.name"] for r, _ in got} == {service}
    root = next(s for _, s in got if s["spanId"] == span_ids[0])
    assert root["name"] == "GET /smoke"
    assert backends.attributes(root["attributes"])[
        "http.response.status_code"] == 200
    child = next(s for _, s in got if s["spanId"] == span_ids[1])
    assert child["parentSpanId"] == span_ids[0]

    found = tempo.search(service_name=service, trace_id=trace_id, timeout=60)
    assert [t["traceID"] for t in found] == [trace_id]
    assert found[0]["rootServiceName"] == service

    by_tag = tempo.search(tags={"service.name": service},
                          trace_id=trace_id, timeout=30)
    assert trace_id in {t["traceID"] for t in by_tag}


def test_tempo_unknown_trace_is_absent(tempo):
    assert tempo.fetch_trace(os.urandom(16).hex()) is None
    assert tempo.search_once(service_name="no-such-service-xyz") == []


def test_id_normalisation():
    tid = bytes(range(16))
    assert backends.normalize_id(tid.hex().upper(), 16) == tid.hex()
    assert backends.normalize_id(base64.b64encode(tid).decode(), 16) == \
        tid.hex()
    doc = {"batches": [{"instrumentationLibrarySpans": [{"spans": [
        {"traceId": base64.b64encode(tid).decode(),
         "spanId": base64.b64encode(b"\x01" * 8).decode()}]}]}]}
    span = next(backends.iter_spans(backends.normalize_trace(doc)))[1]
    assert span == {"traceId": tid.hex(), "spanId": "01" * 8}


def test_loki_push_and_query_range(loki):
    job = f"smoke-{os.urandom(4).hex()}"
    start = time.time_ns()
    loki.push({"job": job, "service_name": job},
              ["first line", "second line"],
              metadata={"trace_id": "ab" * 16})
    res = loki.query_range('{job="%s"}' % job, start - 10**9,
                           time.time_ns() + 10**9, min_entries=2)
    lines = [v[1] for s in res for v in s["values"]]
    assert lines == ["first line", "second line"]
    assert all(s["stream"]["job"] == job for s in res)
    hit = loki.query_range('{job="%s"} | trace_id="%s"' % (job, "ab" * 16),
                           start - 10**9, time.time_ns() + 10**9)
    assert sum(len(s["values"]) for s in hit) == 2


def test_tempo_pause_and_restart_keep_data(tempo):
    """The fault-test tools: a paused Tempo does not answer, a stopped one
    refuses connections, and after restart() earlier traces are still there
    and new ones are accepted on the same ports."""
    service = f"restart-{os.urandom(4).hex()}"
    before = os.urandom(16).hex()
    tempo.post_otlp_json(otlp_trace(service, before, [os.urandom(8).hex()]))
    tempo.get_trace(before, timeout=30)

    tempo.pause()
    try:
        status, body = backends.http_request(tempo.url + "/ready", timeout=1)
        assert status == 0, (f"a paused Tempo answered {status} {body[:80]!r} "
                             f"(process state {tempo.proc_state()})")
    finally:
        tempo.resume()
    tempo.wait_ready(30)

    tempo.stop()
    status, err = backends.http_request(tempo.otlp_http_url + "/v1/traces",
                                        "POST", b"{}", timeout=2)
    assert status == 0 and b"refused" in err
    tempo.restart()

    trace = tempo.get_trace(before, timeout=30)
    assert {s["traceId"] for _, s in backends.iter_spans(trace)} == {before}
    after = os.urandom(16).hex()
    tempo.post_otlp_json(otlp_trace(service, after, [os.urandom(8).hex()]))
    found = tempo.search(service_name=service, min_results=2, timeout=60)
    assert {t["traceID"] for t in found} == {before, after}


def test_unknown_backend_fails_loudly():
    try:
        backends.ensure_built("no-such-backend")
    except backends.BackendError as e:
        assert "usage:" in str(e)
    else:
        raise AssertionError("ensure_built accepted an unknown backend")


def test_heal_brings_a_shared_backend_back(tempo):
    """What the fixtures do before each test: a Tempo frozen behind the
    harness's back is resumed, a stopped one is restarted on its ports."""
    os.kill(tempo.proc.pid, signal.SIGSTOP)
    backends.poll(lambda: tempo.proc_state() == "T", 5, 0.05, "Tempo stopped")
    assert tempo.heal() == ""
    assert tempo.proc_state() in ("R", "S")
    tempo.stop()
    assert tempo.heal() == "not running; restarted"
    assert backends.http_request(tempo.url + "/ready", timeout=5)[0] == 200
