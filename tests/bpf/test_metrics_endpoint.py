"""The health and metrics endpoint of the real binary (--metrics-listen):
/readyz once attached, /healthz, /metrics in Prometheus text whose counters
move with real traffic; and the one-line errors for a bad value and for a
port already in use."""
import http.server
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from lib.tracer import BINARY

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [0-9][0-9.eE+-]*$')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    """(status, content type, body); (0, '', '') when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, "", ""


def parse_metrics(text):
    """{name or name{labels}: value}; asserts every line's shape."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) ebpftrace_\w+ \S", line), line
            continue
        assert SAMPLE.match(line), f"not a sample line: {line!r}"
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    port = free_port()
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen([BINARY, "run", "--format", "none",
                             "--metrics-listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while get(base + "/readyz", timeout=1)[0] != 200:
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.time() < deadline, "/readyz never answered 200"
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        rc = proc.wait(timeout=20)
        err.close()
        assert rc == 0, (tmp_path / "stderr.txt").read_text()


def wait_metrics(base, pred, timeout=15):
    deadline = time.time() + timeout
    while True:
        status, _, text = get(base + "/metrics")
        assert status == 200
        m = parse_metrics(text)
        if pred(m) or time.time() > deadline:
            return m
        time.sleep(0.2)


def test_endpoint_counts_real_traffic(endpoint):
    status, ctype, body = get(endpoint + "/healthz")
    assert (status, body) == (200, "ok\n")
    status, ctype, text = get(endpoint + "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    before = parse_metrics(text)
    for name in ("ebpftrace_kernel_events_total", "ebpftrace_spans_total",
                 "ebpftrace_ringbuf_drops_total", "ebpftrace_export_queue_bytes",
                 'ebpftrace_spans_dropped_total{reason="queue_full"}',
                 "ebpftrace_loki_queue_bytes", "ebpftrace_ready"):
        assert name in before, name
    assert before["ebpftrace_ready"] == 1

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        for i in range(5):
            url = f"http://127.0.0.1:{srv.server_address[1]}/metrics-test/{i}"
            with urllib.request.urlopen(url, timeout=5) as r:
                assert r.status == 200
        after = wait_metrics(endpoint, lambda m: m["ebpftrace_spans_total"]
                             >= before["ebpftrace_spans_total"] + 5)
    finally:
        srv.shutdown()
        srv.server_close()
    assert after["ebpftrace_kernel_events_total"] > before["ebpftrace_kernel_events_total"]
    assert after["ebpftrace_records_total"] > before["ebpftrace_records_total"]
    assert after["ebpftrace_spans_total"] >= before["ebpftrace_spans_total"] + 5
    assert get(endpoint + "/healthz")[0] == 200
    assert get(endpoint + "/nope")[0] == 404


def run(*args, env=None):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("value", ["9464", "127.0.0.1:0", "127.0.0.1:99999",
                                   "http://127.0.0.1:9464", "::1:9464"])
def test_bad_listen_value_is_one_line_naming_the_key(value):
    r = run("run", "--metrics-listen", value)
    assert r.returncode == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert "metrics.listen" in first and value in first, r.stderr
    assert "Try 'ebpftrace run --help'" in r.stderr


def test_bad_listen_value_from_environment():
    r = run("run", env={"EBPFTRACE_METRICS_LISTEN": "nope"})
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert "EBPFTRACE_METRICS_LISTEN" in first and "metrics.listen" in first


def test_port_in_use_is_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("run", "--format", "none", "--duration", "5s",
                "--metrics-listen", f"127.0.0.1:{port}")
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "metrics.listen" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0], lines[0]
