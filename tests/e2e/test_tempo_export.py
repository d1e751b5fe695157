"""End to end: real BPF, real servers, spans exported by OTLP to a real Tempo."""
import json
import os
import subprocess
import time
import uuid

import pytest

from lib.peers import Server, curl
from lib.tracer import Tracer
import backends


def spans_of(trace):
    out = []
    for res, span in backends.iter_spans(trace):
        out.append(dict(span, res=res, attrs=backends.attributes(span.get("attributes"))))
    return out


@pytest.fixture
def servers():
    started = []

    def make(kind, service, downstream=None):
        s = Server(kind, downstream, {"OTEL_SERVICE_NAME": service}).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def test_two_tier_trace_in_tempo(tempo, servers, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("needs root to load BPF")
    back, front = "e2e-back-" + uuid.uuid4().hex[:6], "e2e-front-" + uuid.uuid4().hex[:6]
    t = Tracer("--otlp-endpoint", tempo.otlp_http_url, "--otlp-batch-timeout", "200ms",
               stats_file=str(tmp_path / "stats.json")).start()
    try:
        b = servers("jdk", back)
        f = servers("python", front, downstream=b.url)
        assert curl(f.url + "/chain") == 200
        (fs,) = t.wait_for(lambda s: s.kind == 2 and s.service == front)
        trace = tempo.get_trace(fs.trace_id, timeout=30, min_spans=4)
        spans = spans_of(trace)
        by_svc = {}
        for s in spans:
            by_svc.setdefault((s["res"]["service.name"], s["kind"]), s)
        server_front = by_svc[(front, "SPAN_KIND_SERVER")] if (front, "SPAN_KIND_SERVER") in by_svc else by_svc[(front, 2)]
        kinds = {s["spanId"]: s for s in spans}
        # curl -> front server -> front client -> back server
        back_server = [s for s in spans if s["res"]["service.name"] == back][0]
        front_client = kinds[back_server["parentSpanId"]]
        assert front_client["res"]["service.name"] == front
        assert front_client["parentSpanId"] == server_front["spanId"]
        assert server_front["name"] == "GET /chain"
        assert back_server["name"] == "GET /hello"
        assert back_server["attrs"]["http.response.status_code"] == 200
        assert server_front["res"]["telemetry.sdk.name"] == "ebpftrace"
        assert int(server_front["startTimeUnixNano"]) <= int(back_server["startTimeUnixNano"])
        assert int(back_server["endTimeUnixNano"]) <= int(server_front["endTimeUnixNano"])
        # found by service name through the search API too
        tempo.search(service_name=back, trace_id=fs.trace_id, timeout=30)
    finally:
        assert t.stop() == 0
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["spans_exported"] >= 4
    # the tracer's own exports must not come back as Tempo server spans
    # (other processes on the host may post OTLP too: look at Tempo's port)
    otlp_port = int(tempo.otlp_http_url.rsplit(":", 1)[1].split("/")[0])
    assert not [s for s in t.all_spans() if s.name == "POST /v1/traces"
                and otlp_port in (s.attrs.get("server.port"), s.attrs.get("network.peer.port"))]


def test_tempo_down_then_up_buffers_and_counts_drops(tempo, servers, tmp_path):
    name = "e2e-fault-" + uuid.uuid4().hex[:6]
    t = Tracer("--otlp-endpoint", tempo.otlp_http_url, "--otlp-batch-timeout", "200ms",
               "--otlp-timeout", "2s", stats_file=str(tmp_path / "stats.json")).start()
    try:
        srv = servers("python", name)
        tempo.stop()
        for _ in range(5):
            assert curl(srv.url + "/hello") == 200
        spans = t.wait_for(lambda s: s.kind == 2 and s.service == name, count=5)
        time.sleep(2)  # exports fail and are retried meanwhile
        assert t.proc.poll() is None
        tempo.restart()
        for s in spans:
            tempo.get_trace(s.trace_id, timeout=60)
    finally:
        assert t.stop() == 0
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["export_errors"] >= 1

    # a tiny queue while the backend is unreachable: drops are counted
    small = tmp_path / "small.json"
    t = Tracer("--otlp-endpoint", "http://127.0.0.1:9/", "--otlp-queue-bytes", "64KiB",
               stats_file=str(small)).start()
    try:
        srv = servers("python", name + "-drop")
        subprocess.run(["python3", os.path.join(os.path.dirname(__file__), "..", "peers", "client.py"),
                        srv.url + "/hello", "--count", "200", "--keepalive"], check=True,
                       capture_output=True, timeout=60)
        t.wait_for(lambda s: s.service == name + "-drop", count=200)
        assert t.proc.poll() is None, "tracing must go on with the backend down"
    finally:
        assert t.stop() == 0
    stats = json.load(open(small))
    assert stats["spans"] >= 200
    assert stats["spans_dropped"] > 0
