"""Command line behaviour of the real binary: check, bad input, filters."""
import json
import subprocess
import uuid

from lib.peers import Server, curl
from lib.tracer import BINARY, Tracer, attrs


def run(*args, **kw):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60, **kw)


def test_check_passes_here_and_names_features():
    r = run("check")
    assert r.returncode == 0, r.stdout + r.stderr
    for feature in ("BTF", "ring buffer", "tracefs", "sys_enter_accept4"):
        assert feature.lower() in r.stdout.lower(), feature


def test_unknown_flag_is_one_clear_line_and_exit_2():
    r = run("run", "--no-such-flag")
    assert r.returncode == 2
    assert "--no-such-flag" in r.stderr.splitlines()[0]


def test_unknown_command():
    r = run("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_bad_config_key_and_value_name_the_key(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("otlp:\n  endpiont: http://x:4318\n")
    r = run("run", "--config", str(cfg))
    assert r.returncode == 2 and "otlp.endpiont" in r.stderr and "otlp.endpoint" in r.stderr
    cfg.write_text("format: yaml\n")
    r = run("run", "--config", str(cfg))
    assert r.returncode == 2 and "format" in r.stderr


def test_help_for_every_command():
    for cmd in ("run", "check", "attach"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, cmd
    assert run("--help").returncode == 0


def test_duration_stops_the_tracer():
    r = run("run", "--duration", "2s", "--format", "none")
    assert r.returncode == 0, r.stderr


def test_pid_filter_traces_only_that_process(tmp_path):
    a = Server("python", env={"OTEL_SERVICE_NAME": "pid-a-" + uuid.uuid4().hex[:6]}).start()
    b = Server("python", env={"OTEL_SERVICE_NAME": "pid-b-" + uuid.uuid4().hex[:6]}).start()
    t = Tracer("--pid", str(a.proc.pid)).start()
    try:
        assert curl(b.url + "/hello") == 200
        assert curl(a.url + "/hello") == 200
        got = t.wait_for(lambda s: s.kind == 2 and s.attrs.get("server.port") == a.port)
        assert got[0].resource["process.pid"] == a.proc.pid
        import time; time.sleep(1)
        assert not [s for s in t.all_spans() if s.resource.get("process.pid") != a.proc.pid]
    finally:
        t.stop(); a.stop(); b.stop()


def test_stdout_lines_carry_the_trace_of_the_request(tmp_path):
    srv = Server("python", env={"OTEL_SERVICE_NAME": "logs-" + uuid.uuid4().hex[:6]}).start()
    t = Tracer("--pid", str(srv.proc.pid)).start()
    try:
        assert curl(srv.url + "/log") == 200
        (s,) = t.wait_for(lambda x: x.kind == 2 and x.name == "GET /log")
        import time
        deadline = time.time() + 10
        recs = []
        while time.time() < deadline and not recs:
            recs = [r for r in t.logs if r["body"]["stringValue"] == "handled /log"]
            time.sleep(0.2)
        assert len(recs) == 1, t.logs
        assert recs[0]["traceId"] == s.trace_id
        assert recs[0]["spanId"] == s.span_id
        assert s.attrs["ebpftrace.log_lines"] == 1
    finally:
        t.stop(); srv.stop()


WRITER = r"""
import os, sys
sys.stdin.readline()
os.write(1, b"plain stdout\n")
d = os.dup(1)
os.write(d, b"through a dup\n")
with open("/dev/stdout", "wb", buffering=0) as f:
    f.write(b"through /dev/stdout\n")
with open("/dev/stderr", "wb", buffering=0) as f:
    f.write(b"through /dev/stderr\n")
with open(sys.argv[1], "wb", buffering=0) as f:
    f.write(b"to a plain file\n")
os.writev(d, [b"vectored ", b"through a dup\n"])
sys.stdin.readline()
"""


def test_stdout_reached_through_dup_and_dev_stdout_is_captured(tmp_path):
    """nginx-style logging: /dev/stdout opened by path, or a dup of fd 1."""
    w = subprocess.Popen(["python3", "-c", WRITER, str(tmp_path / "f.log")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        import time
        want = {"plain stdout": 1, "through a dup": 1, "through /dev/stdout": 1,
                "through /dev/stderr": 2, "vectored through a dup": 1}
        deadline = time.time() + 10
        got = {}
        while time.time() < deadline and len(got) < len(want):
            got = {r["body"]["stringValue"]: r for r in list(t.logs)}
            time.sleep(0.2)
        w.stdin.write(b"done\n"); w.stdin.flush()
        assert set(want) <= set(got), got.keys()
        assert "to a plain file" not in got
        for line, fd in want.items():
            stream = "stdout" if fd == 1 else "stderr"
            assert attrs(got[line])["log.iostream"] == stream, (line, got[line])
    finally:
        t.stop(); w.kill()


def test_raw_hooks_mode_makes_the_same_spans():
    """--hooks raw (tp_btf sys_enter/sys_exit) is a full alternative."""
    srv = Server("python", env={"OTEL_SERVICE_NAME": "raw-" + uuid.uuid4().hex[:6]}).start()
    t = Tracer("--hooks", "raw", "--pid", str(srv.proc.pid)).start()
    try:
        assert curl(srv.url + "/users/42") == 200
        (s,) = t.wait_for(lambda x: x.kind == 2 and x.service == srv.env["OTEL_SERVICE_NAME"])
        assert s.name == "GET /users/{id}"
        assert s.attrs["http.response.status_code"] == 200
        assert s.end > s.start
    finally:
        t.stop(); srv.stop()


def wait_logs(t, pred, count=1, timeout=10):
    import time
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline and len(got) < count:
        got = [r for r in list(t.logs) if pred(r)]
        time.sleep(0.2)
    return got


def test_comm_filter_matches_the_process_not_its_renamed_threads():
    """--comm java: the JDK accepts and serves on threads it renamed
    (HTTP-Dispatcher, pool-N-thread-M); --comm matches the process name."""
    tag = "comm-" + uuid.uuid4().hex[:6]
    srv = Server("jdk", env={"OTEL_SERVICE_NAME": tag}).start()
    t = Tracer("--comm", "java").start()
    try:
        assert curl(srv.url + "/log?msg=" + tag) == 200
        (s,) = t.wait_for(lambda x: x.kind == 2 and x.attrs.get("server.port") == srv.port)
        assert s.name == "GET /log" and s.resource["service.name"] == tag
        recs = wait_logs(t, lambda r: r["body"]["stringValue"] == tag)
        assert len(recs) == 1, t.logs
        assert recs[0]["traceId"] == s.trace_id and recs[0]["spanId"] == s.span_id
    finally:
        t.stop(); srv.stop()


PARENT = r"""
import subprocess, sys
sys.stdin.readline()
for i in range(5):
    subprocess.run(["curl", "-s", "-o", "/dev/null", sys.argv[1] + "/hello"])
print("children done", flush=True)
sys.stdin.readline()
"""


def test_pid_filter_follows_short_lived_children():
    """--pid of a parent that runs curl five times: each child is selected
    from its first syscall, so each makes its client span."""
    srv = Server("python").start()
    p = subprocess.Popen(["python3", "-c", PARENT, srv.url], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    t = Tracer("--pid", str(p.pid)).start()
    try:
        p.stdin.write(b"go\n"); p.stdin.flush()
        assert p.stdout.readline() == b"children done\n"
        got = t.wait_for(lambda x: x.kind == 3 and x.attrs.get("server.port") == srv.port,
                         count=5)
        assert len(got) == 5, t.all_spans()
        assert all(s.resource["process.executable.name"] == "curl" for s in got)
        assert not [s for s in t.all_spans() if s.kind == 2], "the server is not selected"
    finally:
        p.stdin.write(b"end\n"); p.stdin.flush()
        t.stop(); srv.stop(); p.kill()


LONG_WRITER = r"""
import os, sys
sys.stdin.readline()
big = 1100000  # over the ~1 MiB a log write is captured up to
os.write(1, b"x" * big + b"\n")
os.write(1, b"after the long line\n")
os.writev(1, [b"y" * 600000, b"z" * 600000 + b"\n"])
os.write(1, b"after the long writev\n")
os.write(1, b"w" * big)
os.write(1, b" end of the cut line\n")
sys.stdin.readline()
"""


def test_long_log_write_that_ends_its_line_leaves_the_next_whole(tmp_path):
    """A write bigger than the capture: BPF reports its last byte, so the
    line after a cut write that ended in a newline is not flagged
    truncated, and the rest of a cut line still is."""
    out = open(tmp_path / "out", "wb")
    w = subprocess.Popen(["python3", "-c", LONG_WRITER], stdin=subprocess.PIPE,
                         stdout=out, stderr=subprocess.PIPE)
    # The three cut writes are about 3 MiB of records, written within a few
    # ms: the default 2 MiB ring drops 4 or 5 of them in every run (counted),
    # and a drop next to an "after the" line rightly flags it truncated. The
    # cut is what this test is about, so the ring holds it all.
    stats = tmp_path / "stats.json"
    t = Tracer("--pid", str(w.pid), "--ringbuf-size", "8MiB", stats_file=str(stats)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        wait_logs(t, lambda r: r["body"]["stringValue"] == " end of the cut line")
        recs = list(t.logs)
        w.stdin.write(b"done\n"); w.stdin.flush()
        by = {r["body"]["stringValue"][:8]: attrs(r) for r in recs}
        assert by["xxxxxxxx"].get("ebpftrace.log.truncated") is True, recs
        after = [attrs(r) for r in recs if r["body"]["stringValue"].startswith("after the")]
        assert len(after) == 2 and all("ebpftrace.log.truncated" not in a for a in after), recs
        (cut_rest,) = [attrs(r) for r in recs
                       if r["body"]["stringValue"] == " end of the cut line"]
        assert cut_rest.get("ebpftrace.log.truncated") is True, recs
    finally:
        t.stop(); w.kill()
    assert json.loads(stats.read_text())["ringbuf_drops"] == 0


DEVNULL_WRITER = r"""
import os, sys
sys.stdin.readline()
os.write(1, b"into the void\n")
os.write(2, b"to the stderr pipe\n")
d = os.dup(1)
os.write(d, b"into the void through a dup\n")
sys.stdin.readline()
"""


def test_stdout_to_dev_null_is_not_captured():
    """A line written to /dev/null reaches no log (no container log, no
    file): only the stderr line, which goes to a pipe, is a record."""
    w = subprocess.Popen(["python3", "-c", DEVNULL_WRITER], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        recs = wait_logs(t, lambda r: r["body"]["stringValue"] == "to the stderr pipe")
        assert len(recs) == 1, t.logs
        import time; time.sleep(1)
        bodies = [r["body"]["stringValue"] for r in list(t.logs)]
        assert not [b for b in bodies if "void" in b], bodies
    finally:
        w.stdin.write(b"end\n"); w.stdin.flush()
        t.stop(); w.kill()


BLOCKED_ACCEPT_SERVER = r"""
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print("READY", s.getsockname()[1], flush=True)
conn, _ = s.accept()  # blocked here when the tracer attaches
f = conn.makefile("rb")
for i in range(2):
    while f.readline() not in (b"\r\n", b"\n", b""):
        pass
    body = b"hello %d\n" % i
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
conn.close()
"""


def test_connection_accepted_by_a_call_that_began_before_the_tracer():
    """A server blocked in accept() when the tracer attaches (Tomcat's
    acceptor always is): the connection it then accepts is traced, so a
    keep-alive client's requests on it are not all lost."""
    srv = subprocess.Popen(["python3", "-c", BLOCKED_ACCEPT_SERVER], stdout=subprocess.PIPE)
    port = int(srv.stdout.readline().split()[1])
    t = Tracer("--pid", str(srv.pid)).start()
    try:
        url = f"http://127.0.0.1:{port}"
        r = subprocess.run(["curl", "-s", url + "/first", url + "/second"],
                           capture_output=True, timeout=30)
        assert r.stdout == b"hello 0\nhello 1\n", r
        got = t.wait_for(lambda s: s.kind == 2, count=2)
        assert sorted(s.name for s in got) == ["GET /first", "GET /second"]
    finally:
        t.stop(); srv.kill()


def test_sampler_and_ignored_paths_from_the_otel_environment(tmp_path):
    """OTEL_TRACES_SAMPLER=parentbased_traceidratio with a ratio of 0
    (from OTEL_TRACES_SAMPLER_ARG): requests without a traceparent are
    dropped, one whose traceparent is sampled is kept, one whose is not is
    dropped; --http-ignore-path makes no span for a health check. The
    stats file counts each."""
    import json
    import time
    srv = Server("python", env={"OTEL_SERVICE_NAME": "sampled-" + uuid.uuid4().hex[:6]}).start()
    stats = tmp_path / "stats.json"
    t = Tracer("--pid", str(srv.proc.pid), "--http-ignore-path", "/healthz,/ready*",
               env={"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                    "OTEL_TRACES_SAMPLER_ARG": "0"},
               stats_file=str(stats)).start()
    kept = uuid.uuid4().hex
    try:
        assert curl(srv.url + "/hello") == 200
        assert curl(srv.url + "/hello", "-H", f"traceparent: 00-{uuid.uuid4().hex}-{'1' * 16}-00") == 200
        assert curl(srv.url + "/healthz") == 404
        assert curl(srv.url + "/readyz?full=1") == 404
        assert curl(srv.url + "/hello", "-H", f"traceparent: 00-{kept}-{'2' * 16}-01") == 200
        (s,) = t.wait_for(lambda s: s.kind == 2 and s.trace_id == kept)
        assert s.parent == "2" * 16
        time.sleep(1)
        assert [x.trace_id for x in t.all_spans()] == [kept]
    finally:
        t.stop(); srv.stop()
    st = json.loads(stats.read_text())
    assert st["spans"] == 3 and st["spans_sampled_out"] == 2, st
    assert st["spans_ignored"] == 2, st
