"""End to end: log lines pushed over https to a real Loki whose HTTP API
asks for a client certificate (mutual TLS), with loki.certificate,
loki.client_certificate and loki.client_key; and the same Loki without
the CA: push errors are counted and named, the lines still reach the
console, tracing goes on."""
import json
import os
import ssl
import subprocess
import sys
import time
import uuid

import pytest

from lib.pki import make_pki
from lib.tracer import Tracer
import backends

# Prints its lines when told (a line on stdin), then waits to be told to go.
WRITER = r"""
import sys
marker = sys.argv[1]
sys.stdin.readline()
for i in range(5):
    print(marker, "line", i, flush=True)
sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def tls_loki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    pki = make_pki(d)
    b = backends.Loki(http_tls={"cert_file": pki["server.pem"],
                                "key_file": pki["server.key"],
                                "ca_file": pki["ca.pem"],
                                "client_cert": pki["client.pem"],
                                "client_key": pki["client.key"]})
    b.start(tmp_path_factory.mktemp("loki-tls"))
    yield b, pki
    b.stop()


def start_writer(service):
    marker = "tls-line-" + uuid.uuid4().hex[:8]
    p = subprocess.Popen([sys.executable, "-c", WRITER, marker],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=dict(os.environ, OTEL_SERVICE_NAME=service))
    return p, marker


def write_lines(p):
    p.stdin.write(b"go\n")
    p.stdin.flush()
    for _ in range(5):
        p.stdout.readline()


def stop(p, t):
    p.stdin.close()
    p.wait(timeout=10)
    assert t.stop() == 0


def console_lines(t, marker, count=5, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [r for r in t.logs if marker in r["body"]["stringValue"]]
        if len(got) >= count:
            return got
        time.sleep(0.2)
    return [r for r in t.logs if marker in r["body"]["stringValue"]]


def test_lines_reach_loki_over_mutual_tls(tls_loki, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("needs root to load BPF")
    loki, pki = tls_loki
    assert loki.url.startswith("https://")
    # Loki requires the client certificate: the CA alone is refused
    bare = ssl.create_default_context(cafile=pki["ca.pem"])
    assert backends.http_request(loki.url + "/ready", context=bare)[0] == 0
    service = "e2e-loki-tls-" + uuid.uuid4().hex[:6]
    p, marker = start_writer(service)
    t = Tracer("--pid", str(p.pid), "--loki-endpoint", loki.url,
               "--loki-certificate", pki["ca.pem"],
               "--loki-client-certificate", pki["client.pem"],
               "--loki-client-key", pki["client.key"],
               "--loki-batch-timeout", "200ms",
               stats_file=str(tmp_path / "stats.json")).start()
    try:
        write_lines(p)
        res = loki.query_range('{service_name="%s"} |= "%s"' % (service, marker),
                               timeout=30, min_entries=5)
        lines = sorted(v[1] for s in res for v in s["values"])
        assert lines == ["%s line %d" % (marker, i) for i in range(5)]
    finally:
        stop(p, t)
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["loki_entries_sent"] >= 5
    assert stats["loki_errors"] == 0


def test_unknown_ca_is_a_push_error_not_a_stop(tls_loki, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("needs root to load BPF")
    loki, _ = tls_loki
    service = "e2e-loki-noca-" + uuid.uuid4().hex[:6]
    p, marker = start_writer(service)
    t = Tracer("--pid", str(p.pid), "--loki-endpoint", loki.url,
               "--loki-batch-timeout", "200ms", "--loki-timeout", "2s",
               stats_file=str(tmp_path / "stats.json")).start()
    try:
        write_lines(p)
        assert len(console_lines(t, marker)) == 5  # the console still has them
        deadline = time.time() + 20
        while b"certificate" not in t.stderr and time.time() < deadline:
            time.sleep(0.2)
        assert b"certificate" in t.stderr, t.stderr.decode(errors="replace")
    finally:
        stop(p, t)
    stats = json.load(open(tmp_path / "stats.json"))
    assert stats["loki_errors"] >= 1
    assert stats["loki_entries_sent"] == 0
