"""End to end: spans exported over https to a real Tempo whose OTLP/HTTP
receiver asks for a client certificate (mutual TLS), with the CA and the
client's certificate given as the OTel SDK variables name them; and the
same endpoint without the CA: export errors are counted, tracing goes on."""
import json
import os
import time
import uuid

import pytest

from lib.peers import Server, curl
from lib.pki import make_pki
from lib.tracer import Tracer
import backends


@pytest.fixture(scope="module")
def tls_tempo(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    pki = make_pki(d)
    t = backends.Tempo(otlp_tls={"cert_file": pki["server.pem"],
                                 "key_file": pki["server.key"],
                                 "client_ca_file": pki["ca.pem"]})
    t.start(tmp_path_factory.mktemp("tempo-tls"))
    yield t, pki
    t.stop()


def test_spans_reach_tempo_over_mutual_tls(tls_tempo, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("needs root to load BPF")
    tempo, pki = tls_tempo
    assert tempo.otlp_http_url.startswith("https://")
    service = "e2e-tls-" + uuid.uuid4().hex[:6]
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": tempo.otlp_http_url,
           "OTEL_EXPORTER_OTLP_CERTIFICATE": pki["ca.pem"],
           "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": pki["client.pem"],
           "OTEL_EXPORTER_OTLP_CLIENT_KEY": pki["client.key"],
           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    srv = Server("python", None, {"OTEL_SERVICE_NAME": service}).start()
    t = Tracer("--otlp-batch-timeout", "200ms", env=env,
               stats_file=str(tmp_path / "stats.json")).start()
    try:
        assert curl(srv.url + "/hello") == 200
        (s,) = t.wait_for(lambda s: s.kind == 2 and s.service == service)
        trace = tempo.get_trace(s.trace_id, timeout=30)
        (span,) = [sp for res, sp in backends.iter_spans(trace)
                   if res.get("service.name") == service]
        assert span["name"] == "GET /hello"
    finally:
        assert t.stop() == 0
        srv.stop()
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["spans_exported"] >= 1
    assert stats["export_errors"] == 0
    # its own exports, plaintext to the TLS uprobes, are not traced either
    assert not [sp for sp in t.all_spans() if sp.name == "POST /v1/traces"]


def test_unknown_ca_is_an_export_error_not_a_stop(tls_tempo, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("needs root to load BPF")
    tempo, pki = tls_tempo
    service = "e2e-tls-noca-" + uuid.uuid4().hex[:6]
    srv = Server("python", None, {"OTEL_SERVICE_NAME": service}).start()
    t = Tracer("--otlp-endpoint", tempo.otlp_http_url, "--otlp-batch-timeout",
               "200ms", "--otlp-timeout", "2s",
               stats_file=str(tmp_path / "stats.json")).start()
    try:
        for _ in range(3):
            assert curl(srv.url + "/hello") == 200
        spans = t.wait_for(lambda s: s.kind == 2 and s.service == service,
                           count=3)
        assert len(spans) == 3  # tracing goes on while export fails
        deadline = time.time() + 20
        while b"certificate" not in t.stderr and time.time() < deadline:
            time.sleep(0.2)
        assert b"certificate" in t.stderr, t.stderr.decode(errors="replace")
    finally:
        assert t.stop() == 0
        srv.stop()
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["export_errors"] >= 1
    assert stats["spans_exported"] == 0
