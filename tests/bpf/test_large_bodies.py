"""Long bodies (downloads and uploads of tens of MiB, on loopback at full
speed) traced by the real BPF programs, both ends.

Once userspace has parsed a head that announces a long body, BPF stops
recording the syscalls inside it (only their lengths matter) and records
the one that reaches its end. Before, an 8 KiB prefix of every 64 KiB
write and read went to the ring buffer (one of eight concurrent 64 MiB
downloads lost its span to the full 2 MiB ring that way): every exchange
must make exactly one server and one client span with the right sizes,
and the counters must show that the bodies were skipped. The first
records of each body are still copied until the tracer has read its head,
so the concurrency here stays within what a loaded 2-core CI machine
absorbs (eight downloads and three uploads at once lost records there
when other test runs kept the tracer off the CPU).
"""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from lib.tracer import Span, Tracer

SERVER, CLIENT = 2, 3
MIB = 1 << 20

BIG_SERVER = r'''
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BLOCK = b"b" * 65536
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.path.startswith("/paused/"):
            # the head now; in 0.3 s all but the last block, in 4 KiB
            # writes; the last block 0.6 s after that
            time.sleep(0.3)
            for _ in range((n - len(BLOCK)) // 4096):
                self.wfile.write(BLOCK[:4096])
            time.sleep(0.6)
            n = len(BLOCK)
        while n > 0:
            k = min(n, len(BLOCK))
            self.wfile.write(BLOCK[:k])
            n -= k
    def do_POST(self):
        left = int(self.headers["Content-Length"])
        while left > 0:
            left -= len(self.rfile.read(min(left, 65536)))
        body = b"stored\n"
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
'''


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=["tracepoints", "raw"])
def big(request, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    d = tmp_path_factory.mktemp("big")
    script = d / "big_server.py"
    script.write_text(BIG_SERVER)
    metrics = free_port()
    t = Tracer("--pid", str(os.getpid()), "--hooks", request.param,
               "--metrics-listen", f"127.0.0.1:{metrics}").start()
    srv = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    line = srv.stdout.readline().decode()
    assert line.startswith("READY"), line
    t.port = int(line.split()[1])
    t.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
    t.upload = d / "upload.bin"
    with open(t.upload, "wb") as f:
        f.write(os.urandom(MIB) * 20)
    yield t
    srv.terminate()
    srv.wait()
    rc = t.stop()
    assert rc == 0, t.stderr.decode(errors="replace")
    bad = [s for s in t.all_spans() if not isinstance(s, Span)]
    assert not bad, f"tracer printed lines that are not span JSON: {bad[:3]}"


def counter(t, name):
    text = urllib.request.urlopen(t.metrics_url, timeout=5).read().decode()
    m = re.search(r"^ebpftrace_%s (\d+)$" % name, text, re.M)
    assert m, f"{name} missing from /metrics:\n{text}"
    return int(m.group(1))


def counter_rose(t, name, before, timeout=5):
    """/metrics shows kernel counters as of the tracer's last tick: wait
    for name to pass before."""
    deadline = time.time() + timeout
    while counter(t, name) <= before and time.time() < deadline:
        time.sleep(0.2)
    return counter(t, name) > before


@contextlib.contextmanager
def stalled(t):
    """The tracer held off the CPU (SIGSTOP) for the block: BPF goes on
    filling the ring, nothing drains it."""
    t.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        t.proc.send_signal(signal.SIGCONT)


def path_of(s):
    """url.path of a server span; the path in url.full of a client span."""
    if "url.path" in s.attrs:
        return s.attrs["url.path"]
    return "/" + s.attrs.get("url.full", "").split("/", 3)[-1]


def spans_of(t, kind, path, since, count):
    return t.wait_for(lambda s: s.kind == kind and path_of(s) == path
                      and s.attrs.get("server.port") == t.port,
                      count=count, since=since, timeout=30)


def test_concurrent_downloads_and_uploads_all_make_spans(big):
    """Four 32 MiB downloads and two 20 MiB uploads at once, both ends traced."""
    t0 = time.time_ns()
    skipped0 = counter(big, "kernel_skipped_body_total")
    url = f"http://127.0.0.1:{big.port}"
    procs = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", f"{url}/dl/{32 * MIB}"])
             for _ in range(4)]
    procs += [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "--data-binary",
                                f"@{big.upload}", f"{url}/up"]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(procs)

    for kind in (SERVER, CLIENT):
        dl = spans_of(big, kind, f"/dl/{32 * MIB}", t0, 4)
        up = spans_of(big, kind, "/up", t0, 2)
        time.sleep(0.5)
        dl = spans_of(big, kind, f"/dl/{32 * MIB}", t0, 4)
        up = spans_of(big, kind, "/up", t0, 2)
        assert len(dl) == 4 and len(up) == 2, (kind, dl, up)
        assert {s.attrs.get("http.response.body.size") for s in dl} == {32 * MIB}
        assert {s.attrs.get("http.request.body.size") for s in up} == {20 * MIB}
        assert {s.attrs["http.response.status_code"] for s in up} == {201}
        assert all(s.end - s.start > 0 for s in dl + up)
    # 4 x 512 writes and 2 x 320 reads of 64 KiB (and as many on the
    # curl side): almost none recorded
    assert counter(big, "kernel_skipped_body_total") - skipped0 > 2000
    assert counter(big, "parse_errors_total") == 0


def test_keepalive_request_after_a_long_body(big):
    """The syscall that ends a skipped body is recorded: the span ends
    when the body does, and the next request on the connection is seen."""
    t0 = time.time_ns()
    url = f"http://127.0.0.1:{big.port}"
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", f"{url}/dl/{8 * MIB}",
         "-o", "/dev/null", f"{url}/dl/100",
         "--next", "-o", "/dev/null", "--data-binary", f"@{big.upload}", f"{url}/up",
         "--next", "-o", "/dev/null", f"{url}/dl/{3 * MIB + 17}"],
        capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for kind in (SERVER, CLIENT):
        a = spans_of(big, kind, f"/dl/{8 * MIB}", t0, 1)
        b = spans_of(big, kind, "/dl/100", t0, 1)
        up = spans_of(big, kind, "/up", t0, 1)
        c = spans_of(big, kind, f"/dl/{3 * MIB + 17}", t0, 1)
        assert up[0].attrs["http.request.body.size"] == 20 * MIB
        assert a[0].attrs["http.response.body.size"] == 8 * MIB
        assert b[0].attrs["http.response.body.size"] == 100
        assert c[0].attrs["http.response.body.size"] == 3 * MIB + 17
        assert a[0].end <= b[0].start <= up[0].start <= c[0].start
        # one connection: curl reused it for every request
        assert len({s[0].attrs["network.peer.port"] for s in (a, b, up, c)}) == 1


def test_records_lost_inside_bodies_keep_their_spans(big):
    """The tracer is held off the CPU (SIGSTOP) while four downloads send
    8 MiB each at once, in 4 KiB writes: nothing has told BPF to skip
    those bodies yet, so their records fill the ring (in its last eighth
    only their lengths) and many are lost. The stream offsets of the records that follow show
    where the lost bytes were (inside the bodies), so every exchange still
    makes both spans, with its size."""
    t0 = time.time_ns()
    lost0 = counter(big, "ringbuf_drops_total")
    size = 8 * MIB
    url = f"http://127.0.0.1:{big.port}/paused/{size}"
    with stalled(big):
        procs = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", url])
                 for _ in range(4)]
        time.sleep(0.6)
    assert [p.wait(timeout=60) for p in procs] == [0] * len(procs)
    for kind in (SERVER, CLIENT):
        got = spans_of(big, kind, f"/paused/{size}", t0, 4)
        assert len(got) == 4, (kind, got)
        assert {s.attrs.get("http.response.body.size") for s in got} == {size}
        assert {s.attrs["http.response.status_code"] for s in got} == {200}
    assert counter_rose(big, "ringbuf_drops_total", lost0)


def test_short_exchanges_get_through_a_ring_full_of_bodies(big):
    """With the tracer held off the CPU, two 16 MiB downloads fill the ring
    with body records. Once it is seven eighths full, BPF copies nothing
    of the long reads and writes that cannot start a message (their
    records keep only their lengths) and only the first KiB of those that
    can (curl reads a head with the start of its body), so the opens,
    heads, closes and exits of the twenty exchanges made next still fit,
    and each makes both spans with its size (one of twenty got through
    when the flood filled the ring)."""
    t0 = time.time_ns()
    url = f"http://127.0.0.1:{big.port}"
    sizes = [100, 100000] * 10
    with stalled(big):
        flood = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null",
                                   f"{url}/dl/{16 * MIB}"]) for _ in range(2)]
        assert [p.wait(timeout=60) for p in flood] == [0, 0]
        for n in sizes:
            subprocess.run(["curl", "-sS", "-o", "/dev/null", f"{url}/dl/{n}"],
                           check=True, timeout=30)
    for kind in (SERVER, CLIENT):
        for n in (100, 100000):
            got = spans_of(big, kind, f"/dl/{n}", t0, 10)
            assert len(got) == 10, (kind, n, got)
            assert {s.attrs.get("http.response.body.size") for s in got} == {n}
