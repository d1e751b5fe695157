"""Runs the real ebpftrace binary and collects the spans it prints as JSON."""
import json
import os
import signal
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("EBPFTRACE", os.path.join(ROOT, "build", "ebpftrace"))

# How far apart two spans' stamps may be in the "wrong" order (ns). A span's
# end is the exit of its last syscall; on a busy 2-core machine the thread that
# wrote the last bytes can be preempted before that exit while the peer reads
# them and finishes, so a server span may end after its client's. CI once
# measured 2.4 ms of it; 10 ms is a few scheduler slices.
SKEW = 10_000_000


def attrs(obj):
    """OTLP/JSON attribute list -> dict of plain values."""
    out = {}
    for a in obj.get("attributes", []):
        v = a["value"]
        if "intValue" in v:
            out[a["key"]] = int(v["intValue"])
        elif "boolValue" in v:
            out[a["key"]] = v["boolValue"]
        else:
            out[a["key"]] = v.get("stringValue")
    return out


class Span:
    def __init__(self, raw):
        self.raw = raw
        self.trace_id = raw["traceId"]
        self.span_id = raw["spanId"]
        self.parent = raw["parentSpanId"]
        self.name = raw["name"]
        self.kind = raw["kind"]
        self.start = int(raw["startTimeUnixNano"])
        self.end = int(raw["endTimeUnixNano"])
        self.status = raw["status"]["code"]
        self.attrs = attrs(raw)
        self.resource = attrs(raw.get("resource", {}))
        self.service = self.resource.get("service.name")

    def __repr__(self):
        return (f"<{'SERVER' if self.kind == 2 else 'CLIENT'} {self.name!r} "
                f"svc={self.service} trace={self.trace_id} span={self.span_id} "
                f"parent={self.parent} code={self.attrs.get('http.response.status_code')}>")


class Tracer:
    """ebpftrace run --format json, with spans gathered on a thread."""

    def __init__(self, *extra, env=None, stats_file=None):
        self.args = [BINARY, "run", "--format", "json", *extra]
        if stats_file:
            self.args += ["--stats-file", stats_file]
        self.env = dict(os.environ, **(env or {}))
        self.spans = []
        self.logs = []
        self.raw_lines = []
        self.stderr = b""
        self.proc = None
        self._lock = threading.Lock()

    def start(self, settle=1.5):
        if not os.path.exists(BINARY):
            raise RuntimeError(f"{BINARY} is missing: run `make` first")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ebpftrace exited at start (BPF cannot load?): "
                                   + self.stderr.decode(errors="replace"))
            if b"programs attached" in self.stderr:
                time.sleep(settle / 3)
                return self
            time.sleep(0.05)
        raise RuntimeError("ebpftrace did not report 'programs attached' within 20s: "
                           + self.stderr.decode(errors="replace"))

    def _read(self):
        for line in self.proc.stdout:
            line = line.decode(errors="replace").strip()
            if not line:
                continue
            with self._lock:
                self.raw_lines.append(line)
                try:
                    obj = json.loads(line)
                    if "spanId" in obj and "name" in obj:
                        self.spans.append(Span(obj))
                    elif "body" in obj and "timeUnixNano" in obj:
                        self.logs.append(obj)
                    else:
                        raise KeyError("neither a span nor a log record")
                except (ValueError, KeyError) as e:
                    self.spans.append(("BAD", line, str(e)))

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr += line

    def all_spans(self):
        with self._lock:
            return list(self.spans)

    def wait_for(self, pred, count=1, timeout=15, since=None):
        """Spans matching pred, once at least count exist (else AssertionError).
        since (time.time_ns()): only spans that started then or later, so a
        session-wide tracer does not match an earlier test's server that
        happened to have the same port."""
        deadline = time.time() + timeout
        while True:
            got = [s for s in self.all_spans() if isinstance(s, Span) and pred(s)
                   and (since is None or s.start >= since)]
            if len(got) >= count or time.time() > deadline:
                break
            time.sleep(0.1)
        assert len(got) >= count, (
            f"expected {count} matching spans, got {len(got)}; all spans:\n"
            + "\n".join(map(repr, self.all_spans()[-40:]))
            + "\nstderr:\n" + self.stderr.decode(errors="replace")[-2000:])
        return got

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def traced_self():
    """For a module fixture (`yield from traced_self()`): a tracer on this
    test process and its children (--pid), so other load on the machine
    cannot crowd the ring buffer; on exit it must have stopped cleanly and
    printed nothing but span JSON."""
    import pytest
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    t = Tracer("--pid", str(os.getpid())).start()
    yield t
    rc = t.stop()
    assert rc == 0, t.stderr.decode(errors="replace")
    bad = [s for s in t.all_spans() if not isinstance(s, Span)]
    assert not bad, f"tracer printed lines that are not span JSON: {bad[:3]}"
