"""stdout/stderr written in odd ways by real programs, with the real BPF
programs: every line arrives once, whole, in order per stream, with the
right stream, process and trace id, and nothing is invented.

Each writer waits for a line on stdin before it writes, so the tracer
(started with --pid of the writer, which follows its children) is
attached first.
"""
import os
import subprocess
import sys
import time
import uuid

import pytest

from lib.tracer import Tracer, attrs

HERE = os.path.dirname(os.path.abspath(__file__))


def body(r):
    return r["body"]["stringValue"]


def stream(r):
    return attrs(r)["log.iostream"]


def wait_logs(t, pred, count=1, timeout=10):
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        got = [r for r in list(t.logs) if pred(r)]
        if len(got) >= count:
            break
        time.sleep(0.1)
    return got


def settle(t, quiet=1.5, timeout=10):
    """All records, once none arrived for `quiet` seconds."""
    deadline = time.time() + timeout
    n, since = -1, time.time()
    while time.time() < deadline:
        k = len(t.logs)
        if k != n:
            n, since = k, time.time()
        elif time.time() - since >= quiet:
            break
        time.sleep(0.1)
    return list(t.logs)


class Writer:
    """python3 -c script, traced by a tracer on its pid; `go` starts it."""

    def __init__(self, script, *args, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, cmd=None, tracer_args=()):
        self.proc = subprocess.Popen(cmd or [sys.executable, "-c", script, *args],
                                     stdin=subprocess.PIPE, stdout=stdout,
                                     stderr=stderr)
        self.tracer = Tracer("--pid", str(self.proc.pid), *tracer_args).start()
        self.out = self.err = b""

    def go(self, timeout=30):
        self.out, self.err = self.proc.communicate(b"go\n", timeout=timeout)
        return self

    def stop(self):
        self.tracer.stop()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def by_stream(recs):
    """(stdout records, stderr records), each in time order."""
    recs = sorted(recs, key=lambda r: int(r["timeUnixNano"]))
    return ([r for r in recs if stream(r) == "stdout"],
            [r for r in recs if stream(r) == "stderr"])


def mine(recs, pid):
    return [r for r in recs if attrs(r["resource"]).get("process.pid") == pid]


PIECES = r"""
import os, sys, time
sys.stdin.readline()
os.write(1, b"first ")
time.sleep(0.3)
os.write(1, b"half, ")
os.write(1, b"second half\nnext line\n")
os.write(2, b"err")
time.sleep(0.2)
os.write(2, b"or line\n")
os.write(1, b"last words without a newline")
"""


def test_line_in_pieces_and_final_line_without_newline_at_exit():
    with Writer(PIECES) as w:
        w.go()
        recs = settle(w.tracer)
        out, err = by_stream(mine(recs, w.proc.pid))
        assert [body(r) for r in out] == ["first half, second half", "next line",
                                          "last words without a newline"], out
        assert [body(r) for r in err] == ["error line"], err
        assert attrs(out[-1]).get("ebpftrace.log.no_newline") is True
        assert all(attrs(r).get("ebpftrace.log.no_newline") is None for r in out[:2] + err)


KILLED = r"""
import os, signal, sys
sys.stdin.readline()
os.write(1, b"whole line\n")
os.write(1, b"partial line, then killed")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_partial_line_of_a_killed_process_arrives_once():
    with Writer(KILLED) as w:
        w.go()
        out, err = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == ["whole line", "partial line, then killed"], out
        assert not err


SOCKET_ON_FD1 = r"""
import os, socket, sys
sys.stdin.readline()
os.write(1, b"stdout before close\n")
saved = os.dup(1)
udp_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp_rx.bind(("127.0.0.1", 0))
lst = socket.socket()
lst.bind(("127.0.0.1", 0)); lst.listen(1)
os.close(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
assert u.fileno() == 1, u.fileno()
u.sendto(b"udp datagram on fd 1\n", udp_rx.getsockname())
u.connect(udp_rx.getsockname())
os.write(1, b"udp write on fd 1\n")
u.close()
a, b = socket.socketpair()
if a.fileno() != 1:
    os.dup2(a.fileno(), 1)
b.setblocking(False)
os.write(1, b"unix socket write on fd 1\n")
socket.socket(fileno=os.dup(1)).send(b"unix send on fd 1\n")
os.close(1)
c = socket.create_connection(lst.getsockname())
assert c.fileno() == 1, c.fileno()
c.send(b"tcp send on fd 1\n")
os.write(1, b"tcp write on fd 1\n")
os.dup2(saved, 1)
os.write(1, b"stdout again\n")
"""


JOURNAL = r"""
import os, socket, subprocess, sys
sys.stdin.readline()
srv = socket.socket(socket.AF_UNIX)
srv.bind("/run/systemd/journal/stdout")
srv.listen(1)
cli = socket.socket(socket.AF_UNIX)
cli.connect("/run/systemd/journal/stdout")
peer, _ = srv.accept()
subprocess.run(["sh", "-c", "echo from a service; cat /nonexistent-service-file"],
               stdout=cli, stderr=cli)
cli.close()
got = b""
while not got.endswith(b"directory\n"):
    got += peer.recv(100)
os.write(1, b"journal got: " + got.replace(b"\n", b" | ") + b"\n")
"""


def test_journald_stdout_stream_socket_is_stdout():
    """systemd gives a service a unix socket connected to journald's
    /run/systemd/journal/stdout as stdout and stderr: the service's lines
    on it are captured (here a private /run in a mount namespace, so no
    real journald is needed; stdout and stderr are one socket, so the fd
    tells the streams apart)."""
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
           'mount -t tmpfs none /run && mkdir -p /run/systemd/journal && '
           'exec python3 -c "$0"', JOURNAL]
    with Writer(None, cmd=cmd) as w:
        w.go()
        assert w.proc.returncode == 0, w.err
        assert w.out == (b"journal got: from a service | cat: /nonexistent-service-file:"
                         b" No such file or directory | \n")
        recs = [r for r in settle(w.tracer)
                if attrs(r["resource"]).get("process.pid") != w.proc.pid]
        out, err = by_stream(recs)
        assert [body(r) for r in out] == ["from a service"], out
        assert [body(r) for r in err] == [
            "cat: /nonexistent-service-file: No such file or directory"], err


RUN_CHILD = r"""
import subprocess, sys
sys.stdin.readline()
sys.exit(subprocess.run([sys.executable, "-c", sys.argv[1]], input=b"go\n").returncode)
"""


def test_a_socket_opened_on_fd_1_is_not_stdout():
    """stdout closed, then fd 1 reused: UDP (sendto and write), a unix
    socketpair (write and send) and TCP (send and write) on fd 1 are not
    stdout; fd 1 restored with dup2 over the TCP socket is again. (The
    writer starts after the tracer, which so knows its real stdout.)"""
    with Writer(RUN_CHILD, SOCKET_ON_FD1) as w:
        w.go()
        assert w.proc.returncode == 0, w.err
        recs = [r for r in settle(w.tracer)
                if attrs(r["resource"]).get("process.pid") != w.proc.pid]
        out, err = by_stream(recs)
        assert [body(r) for r in out] == ["stdout before close", "stdout again"], out
        assert not err


NODE_PARENT = r"""
const { spawnSync } = require('child_process');
require('fs').readSync(0, Buffer.alloc(16));
const r = spawnSync('sh', ['-c', 'echo from a node child; echo its stderr >&2'],
                    { stdio: ['ignore', 'pipe', 'pipe'] });
process.stdout.write('child said: ' + r.stdout);
"""


def test_child_of_node_writes_to_a_socketpair_stdout():
    """libuv (Node's child_process, PM2) gives a child unix socketpairs as
    stdout and stderr: they are its standard streams."""
    with Writer(None, cmd=["node", "-e", NODE_PARENT]) as w:
        w.go()
        assert w.out == b"child said: from a node child\n"
        recs = settle(w.tracer)
        kids = [r for r in recs if attrs(r["resource"]).get("process.pid") != w.proc.pid]
        out, err = by_stream(kids)
        assert [body(r) for r in out] == ["from a node child"], out
        assert [body(r) for r in err] == ["its stderr"], err


SHELL_REDIRECTS = r"""
import subprocess, sys
sys.stdin.readline()
subprocess.run(["sh", "-c", 'echo out 1; echo err 1 >&2; printf "err %s\\n" 2 >&2; '
                'ls /nonexistent-dir-for-the-test; exec 2>&1; echo err after 2 to 1 >&2; '
                'echo out 2'])
"""


def test_shell_redirections_to_separate_pipes():
    """stdout and stderr on two pipes, a shell started after the tracer:
    `>&2` on a builtin (dup2(2, 1), then a write to fd 1) is stderr, and
    after `exec 2>&1` what goes to fd 2 reaches the stdout pipe: stdout.
    Each line lands where the pipes say."""
    with Writer(SHELL_REDIRECTS) as w:
        w.go()
        out, err = by_stream(settle(w.tracer))
        assert w.out.decode().splitlines() == ["out 1", "err after 2 to 1", "out 2"]
        assert [body(r) for r in out] == ["out 1", "err after 2 to 1", "out 2"], out
        assert [body(r) for r in err] == w.err.decode().splitlines(), err
        assert [body(r) for r in err][:2] == ["err 1", "err 2"], err


SHARED_PIPE = r"""
import os, sys
sys.stdin.readline()
os.write(1, b"out 1\n")
os.write(2, b"err 1\n")
os.write(1, b"out 2\n")
"""


def test_stdout_and_stderr_on_one_pipe_keep_their_stream():
    """stderr=STDOUT (2>&1 before the process started): one pipe, nothing
    but the fd tells the streams apart, so the fd does."""
    with Writer(SHARED_PIPE, stderr=subprocess.STDOUT) as w:
        w.go()
        assert w.out == b"out 1\nerr 1\nout 2\n"
        out, err = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == ["out 1", "out 2"], out
        assert [body(r) for r in err] == ["err 1"], err


REDIRECT = r"""
import os, sys
sys.stdin.readline()
os.write(1, b"to the pipe\n")
saved = os.dup(1)
f = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.dup2(f, 1)
os.write(1, b"to the file through fd 1\n")
n = os.open("/dev/null", os.O_WRONLY)
os.dup2(n, 1)
os.write(1, b"to /dev/null through fd 1\n")
os.dup2(saved, 1)
os.write(1, b"to the pipe again\n")
os.pwrite(f, b"pwrite to the file\n", 1000)
os.dup2(f, 1)
os.pwrite(1, b"pwrite to stdout\n", 0)
os.pwritev(1, [b"pwritev ", b"to stdout\n"], 100)
"""


@pytest.mark.parametrize("hooks", ["tracepoints", "raw"])
def test_stdout_reopened_mid_run(tmp_path, hooks):
    """fd 1 dup2'ed onto a file (still stdout: captured), onto /dev/null
    (not), back to the pipe; pwrite/pwritev to stdout on a file. Both
    hook sets (--hooks raw switches on the syscall number)."""
    with Writer(REDIRECT, str(tmp_path / "f"), tracer_args=("--hooks", hooks)) as w:
        w.go()
        assert w.proc.returncode == 0, w.err
        out, err = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == ["to the pipe", "to the file through fd 1",
                                          "to the pipe again", "pwrite to stdout",
                                          "pwritev to stdout"], out


NONBLOCK = r"""
import errno, fcntl, os, signal, sys, time
sys.stdin.readline()
fl = fcntl.fcntl(1, fcntl.F_GETFL)
fcntl.fcntl(1, fcntl.F_SETFL, fl | os.O_NONBLOCK)
data = b"".join(b"line %05d %s\n" % (i, b"x" * 90) for i in range(3000))
off = eagain = short = 0
while off < len(data):
    try:
        n = os.write(1, data[off:off + 20000])
    except BlockingIOError:
        eagain += 1
        time.sleep(0.002)
        continue
    short += n < min(20000, len(data) - off)
    off += n
os.write(2, b"eagain %d short %d\n" % (eagain, short))
"""


def test_nonblocking_pipe_short_writes_and_eagain():
    """Only the bytes the kernel took are captured: every line once, in order."""
    w = subprocess.Popen([sys.executable, "-c", NONBLOCK], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        got = b""
        while True:
            time.sleep(0.001)
            chunk = w.stdout.read1(4096)
            if not chunk:
                break
            got += chunk
        w.wait()
        stats = w.stderr.read()
        eagain, short = map(int, stats.split()[1::2])
        assert eagain > 0 and short > 0, stats
        want = got.decode().splitlines()
        assert len(want) == 3000
        out, err = by_stream(mine(settle(t), w.pid))
        assert [body(r) for r in out] == want
        assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]
    finally:
        t.stop(); w.kill()


EPIPE = r"""
import os, signal, sys, time
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
sys.stdin.readline()
os.write(2, b"before\n")
time.sleep(0.5)
try:
    os.write(2, b"after the reader left\n")
except BrokenPipeError:
    os.write(1, b"EPIPE\n")
"""


def test_failed_write_to_a_pipe_without_reader_captures_nothing():
    w = subprocess.Popen([sys.executable, "-c", EPIPE], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        assert w.stderr.readline() == b"before\n"
        w.stderr.close()
        w.wait()
        assert w.stdout.read() == b"EPIPE\n"
        out, err = by_stream(mine(settle(t), w.pid))
        assert [body(r) for r in err] == ["before"], err
        assert [body(r) for r in out] == ["EPIPE"], out
    finally:
        t.stop(); w.kill()


WRITEV = r"""
import os, sys
sys.stdin.readline()
os.writev(1, [b"%d," % i for i in range(100)] + [b"end\n"])
os.writev(1, [b"a" * 5000, b"b" * 5000, b"c" * 5000, b"\n"])
sys.stdout.buffer.write(b"".join(b"buffered %04d\n" % i for i in range(2000)))
sys.stdout.buffer.flush()
os.write(1, b"y" * 8191 + b"\n")
os.write(1, b"z" * 8192)
os.write(1, b"\n")
"""


@pytest.mark.parametrize("hooks", ["tracepoints", "raw"])
def test_writev_many_iovecs_and_big_writes_arrive_whole(hooks):
    """writev of 101 iovecs, writes of 8191, 8192 and 15001 bytes, and
    Python's 8 KiB buffer flushes: every line whole."""
    with Writer(WRITEV, tracer_args=("--hooks", hooks)) as w:
        w.go()
        out, _ = by_stream(mine(settle(w.tracer), w.proc.pid))
        want = w.out.decode().splitlines()
        assert [body(r) for r in out] == want
        assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]


TEXT = (b"crlf line\r\n" b"progress 10%\rprogress 50%\rprogress 100%\n"
        b"\x1b[31mred\x1b[0m and\ttab\n" b"caf\xc3" b"\xa9 split\n"
        b"bad \xff\xfe utf8\n" b"nul \x00 byte\n" b"\n\n\n" b"after blanks\n")
TEXT_WRITER = r"""
import os, sys
sys.stdin.readline()
data = %r
for cut in (data.index(b"\xc3") + 1,):
    os.write(1, data[:cut]); os.write(1, data[cut:])
""" % TEXT


def test_odd_bytes():
    with Writer(TEXT_WRITER) as w:
        w.go()
        out, _ = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == [
            "crlf line", "progress 10%\rprogress 50%\rprogress 100%",
            "\x1b[31mred\x1b[0m and\ttab", "caf\u00e9 split", "bad \\xff\\xfe utf8",
            "nul \\x00 byte", "", "", "", "after blanks"], out


THREADED_SERVER = r"""
import os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        n = self.path.rsplit("/", 1)[1]
        for i in range(3):
            os.write(1, b"request %s line %d\n" % (n.encode(), i))
            time.sleep(0.02)
        if n.endswith("0"):
            subprocess.run(["sh", "-c", 'echo "child of request $0"; '
                            'printf "printf of request %s\\n" "$0" >&2', n])
        if n == "11":
            subprocess.Popen(["sh", "-c", 'sleep 0.5; echo "late child of $0"', n])
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        os.write(1, b"after response %s\n" % n.encode())

s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("READY", s.server_address[1], flush=True)
s.serve_forever()
"""


def test_lines_of_concurrent_requests_and_their_children_carry_their_trace():
    """Threads of one process write to the same stdout at once; each line
    carries the trace of the request its thread serves. A shell run by the
    handler (echo, printf >&2) writes as its own process, with the trace
    of the request that started it."""
    service = "edge-" + uuid.uuid4().hex[:8]
    srv = subprocess.Popen([sys.executable, "-c", THREADED_SERVER],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, OTEL_SERVICE_NAME=service))
    port = int(srv.stdout.readline().split()[1])
    t = Tracer("--pid", str(srv.pid)).start()
    try:
        since = time.time_ns()
        urls = [f"http://127.0.0.1:{port}/work/{n}" for n in range(1, 13)]
        procs = [subprocess.Popen(["curl", "-s", u], stdout=subprocess.PIPE) for u in urls]
        assert all(p.communicate(timeout=20)[0] == b"ok" for p in procs)
        spans = t.wait_for(lambda s: s.kind == 2 and s.attrs.get("server.port") == port,
                           count=12, since=since)
        trace = {s.attrs["url.path"].rsplit("/", 1)[1]: s.trace_id for s in spans}
        want = {f"request {n} line {i}" for n in range(1, 13) for i in range(3)}
        want |= {"child of request 10", "printf of request 10"}
        after = {f"after response {n}" for n in range(1, 13)} | {"late child of 11"}
        recs = wait_logs(t, lambda r: body(r) in want | after,
                         count=len(want) + len(after))
        late = [r for r in recs if body(r) in after]
        recs = [r for r in recs if body(r) in want]
        got = sorted(body(r) for r in recs)
        assert got == sorted(want), got
        # once the response is written the request is over: nothing then
        # carries its trace, not even a child it left running
        assert sorted(body(r) for r in late) == sorted(after)
        assert not [r for r in late if r.get("traceId")], late
        for r in recs:
            n = body(r).split()[-1] if "of request" in body(r) else body(r).split()[1]
            assert r.get("traceId") == trace[n], (body(r), r.get("traceId"), trace[n])
        kids = {body(r): r for r in recs if "of request" in body(r)}
        assert stream(kids["child of request 10"]) == "stdout"
        assert stream(kids["printf of request 10"]) == "stderr"
        for r in kids.values():
            res = attrs(r["resource"])
            assert res["process.pid"] != srv.pid, "the shell's lines are its own"
            assert res["process.executable.name"] in ("sh", "dash"), res
            assert res["service.name"] == service, res
    finally:
        t.stop(); srv.kill()


def test_jvm_stack_traces_from_concurrent_requests():
    """Real JVM: e.printStackTrace() (one write per line, System.err) on
    several request threads at once, with other threads' stderr lines in
    between: each trace is one record, whole, with its request's trace."""
    from lib.peers import Server
    srv = Server("jdk").start()
    t = Tracer("--pid", str(srv.proc.pid), "--http-query", "keep").start()
    try:
        since = time.time_ns()
        base = srv.url
        urls = []
        for n in range(8):
            urls.append(f"{base}/stack?msg=boom-{n}")
            urls.append(f"{base}/log?msg=line-{n}&stream=stderr")
        procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", u]) for u in urls]
        for p in procs:
            p.wait(timeout=30)
        spans = t.wait_for(lambda s: s.kind == 2 and s.attrs.get("server.port") == srv.port,
                           count=16, since=since)
        trace = {}
        for s in spans:
            q = s.attrs.get("url.query") or ""
            trace[q.split("=", 1)[1].split("&")[0]] = s.trace_id
        recs = wait_logs(t, lambda r: "boom-" in body(r) or body(r).startswith("line-"),
                         count=16)
        time.sleep(1.5)  # a held record would leave now; nothing more may come
        recs = [r for r in list(t.logs) if "boom-" in body(r) or body(r).startswith("line-")]
        assert len(recs) == 16, [body(r) for r in recs]
        for r in recs:
            b = body(r)
            assert stream(r) == "stderr"
            if b.startswith("line-"):
                assert b in {f"line-{n}" for n in range(8)}, b
                key = b
            else:
                lines = b.split("\n")
                assert lines[0].startswith("java.lang.IllegalStateException: boom-"), b
                assert len(lines) >= 3 and all(l.startswith("\tat ") for l in lines[1:]), b
                assert "JdkServer.failDeep" in lines[1], b
                key = lines[0].split(": ")[1]
            assert r.get("traceId") == trace[key], (b, r.get("traceId"), trace[key])
    finally:
        t.stop(); srv.stop()


PTY_PARENT = r"""
import os, pty, subprocess, sys
sys.stdin.readline()
master, slave = pty.openpty()
child = subprocess.Popen([sys.executable, "-c",
    "import sys, os\n"
    "print('on a tty, line buffered')\n"
    "sys.stdout.write('progress 1/3\\r'); sys.stdout.flush()\n"
    "sys.stdout.write('progress 3/3\\n'); sys.stdout.flush()\n"
    "print('\\u00e9t\\u00e9 \\x1b[1mbold\\x1b[0m')\n"
    "print('to stderr on the tty', file=sys.stderr)\n"],
    stdout=slave, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        b = os.read(master, 4096)
    except OSError:
        break
    if not b:
        break
    seen += b
child.wait()
print(child.pid, flush=True)
"""


def test_stdout_on_a_pty():
    """A pty as stdout and stderr (both on one terminal): Python is line
    buffered there; the terminal adds \\r\\n on output, the program wrote
    \\n and that is what the records hold; stderr stays stderr."""
    with Writer(PTY_PARENT) as w:
        w.go()
        child = int(w.out.split()[-1])
        out, err = by_stream(mine(settle(w.tracer), child))
        assert [body(r) for r in out] == [
            "on a tty, line buffered", "progress 1/3\rprogress 3/3",
            "\u00e9t\u00e9 \x1b[1mbold\x1b[0m"], out
        assert [body(r) for r in err] == ["to stderr on the tty"], err


PY_BUFFERED = r"""
import sys
sys.stdin.readline()
for i in range(3000):
    print("buffered line %04d" % i, "x" * (i % 50))
print("x" * 1000000)
print("last, no newline", end="")
"""


def test_python_print_to_a_pipe_flushed_in_blocks_and_at_exit():
    """print() to a pipe is block buffered: 8 KiB writes cutting lines
    anywhere, a 1 MB line written at once, and the rest (no newline) at
    exit. Every line once, whole; the 1 MB line in pieces of max_line
    (flagged split) that put together are the line."""
    with Writer(PY_BUFFERED) as w:
        w.go()
        out, err = by_stream(mine(settle(w.tracer), w.proc.pid))
        want = w.out.decode().split("\n")
        assert len(want) == 3002
        bodies = [body(r) for r in out]
        big = [r for r in out if body(r).startswith("xxxx")]
        assert all(attrs(r).get("ebpftrace.log.split") for r in big), len(big)
        assert len(big) > 10
        joined = bodies[:3000] + ["".join(body(r) for r in big)] + bodies[3000 + len(big):]
        assert joined == want
        assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]
        assert attrs(out[-1]).get("ebpftrace.log.no_newline") is True


NODE = r"""
const fs = require('fs');
fs.readSync(0, Buffer.alloc(16));
for (let i = 0; i < 2000; i++) console.log('node line %d %s', i, 'y'.repeat(i % 40));
console.error(JSON.stringify({level: 'error', msg: 'a json line', n: 1}));
process.stdout.write('partial ');
setTimeout(() => { process.stdout.write('then the rest\n'); console.log('bye'); }, 200);
"""


def test_node_console_log_to_a_pipe():
    with Writer(None, cmd=["node", "-e", NODE]) as w:
        w.go()
        out, err = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == w.out.decode().splitlines()
        assert len(out) == 2002
        assert [body(r) for r in err] == ['{"level":"error","msg":"a json line","n":1}']


CAT = r"""
import subprocess, sys
sys.stdin.readline()
subprocess.run(["cat", sys.argv[1]])
"""


def test_cat_of_a_big_file_to_a_pipe(tmp_path):
    """coreutils cat writes 128 KiB at a time to a pipe: each write is
    captured whole (a file as stdout makes cat use copy_file_range, which
    is not captured: docs/limits.md)."""
    f = tmp_path / "big.txt"
    f.write_bytes(b"".join(b"cat line %06d\n" % i for i in range(30000)))
    with Writer(CAT, str(f)) as w:
        w.go()
        recs = settle(w.tracer)
        out, _ = by_stream([r for r in recs if attrs(r["resource"]).get("process.executable.name") == "cat"])
        assert [body(r) for r in out] == f.read_text().splitlines()
        assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]


def go_logs_binary():
    from lib.peers import go_peer_binary
    return go_peer_binary("GoLogs", "gologs")


def test_go_log_and_fmt_from_goroutines():
    """Go: log.Printf (stderr) and fmt.Println (stdout) in handlers of
    concurrent requests carry their request's trace, never another's; 8
    goroutines writing at once give every line once; two fmt.Print calls
    make one line. Go runs goroutines on threads in turn: when one thread
    has read two of the requests before the first one's handler writes
    (a goroutine parked or preempted, the other run there meanwhile), the
    thread holds two in flight and its lines get no trace (limits.md:
    event-loop servers); a wrong trace would be a bug."""
    p = subprocess.Popen([go_logs_binary()], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = int(p.stdout.readline().split()[1])
    t = Tracer("--pid", str(p.pid)).start()
    try:
        since = time.time_ns()
        urls = [f"http://127.0.0.1:{port}/work/{n}" for n in range(1, 9)]
        procs = [subprocess.Popen(["curl", "-s", u], stdout=subprocess.PIPE) for u in urls]
        assert all(c.communicate(timeout=20)[0] == b"ok" for c in procs)
        spans = t.wait_for(lambda s: s.kind == 2 and s.attrs.get("server.port") == port,
                           count=8, since=since)
        trace = {s.attrs["url.path"].rsplit("/", 1)[1]: s.trace_id for s in spans}
        p.stdin.write(b"burst\n"); p.stdin.flush()
        while p.stderr.readline() not in (b"done\n", b""):
            pass
        recs = settle(t)
        out, err = by_stream(mine(recs, p.pid))
        req = [r for r in out + err if body(r).startswith("go request ")]
        assert len(req) == 32, [body(r) for r in req]
        traced = 0
        for r in req:
            n = body(r).split()[2]
            assert r.get("traceId") in (trace[n], "", None), (body(r), r.get("traceId"), trace[n])
            traced += r.get("traceId") == trace[n]
            assert stream(r) == ("stdout" if body(r).endswith("stdout") else "stderr")
        assert traced >= 24, [(body(r), r.get("traceId")) for r in req]
        burst = [body(r) for r in out if body(r).startswith("goroutine ")]
        assert sorted(burst) == sorted(f"goroutine {g} line {i}"
                                       for g in range(8) for i in range(200))
        for g in range(8):  # in order per goroutine
            mine_g = [b for b in burst if b.startswith(f"goroutine {g} ")]
            assert mine_g == [f"goroutine {g} line {i}" for i in range(200)]
        assert "two prints" in [body(r) for r in out]
    finally:
        t.stop(); p.kill()


SCRIPT = r"""
import subprocess, sys
sys.stdin.readline()
subprocess.run(["sh", "-c", "echo 1 from sh; /bin/echo 2 from echo; echo 3 from sh; "
                "/usr/bin/printf '4 from %s\\n' printf; echo 5 from sh; "
                "printf 'progress... '; /bin/echo 6 from echo; echo done"])
"""


def test_shell_script_with_child_commands_in_order():
    """A script's own lines (builtins) and its commands' (processes of
    their own, on the inherited stdout) come out in the order written,
    each named by the program that wrote it; the script's line split by a
    child's output stays the script's line."""
    with Writer(SCRIPT) as w:
        w.go()
        recs = [r for r in settle(w.tracer) if stream(r) == "stdout"
                and attrs(r["resource"]).get("process.pid") != w.proc.pid]
        # dash run as sh: "dash" (its exe) while it runs, "sh" (its comm)
        # when it is gone before its lines are read
        got = [(body(r), attrs(r["resource"])["process.executable.name"]
                .replace("dash", "sh")) for r in recs]
        assert got == [("1 from sh", "sh"), ("2 from echo", "echo"), ("3 from sh", "sh"),
                       ("4 from printf", "printf"), ("5 from sh", "sh"),
                       ("6 from echo", "echo"), ("progress... done", "sh")], got


def test_jvm_logback_style_big_events_and_print_stack_trace_from_two_threads():
    """Two JVM threads: logback-style events (an ERROR line and a 300-frame
    trace in one write of over 8 KiB to stdout) and printStackTrace (one
    write per line, stderr). Each event is one record, whole; each
    printStackTrace one record."""
    from lib.peers import PEERS
    w = subprocess.Popen(["java", os.path.join(PEERS, "JavaLogs.java")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        out_b, err_b = w.communicate(b"go\n", timeout=60)
        assert err_b.endswith(b"done\n")
        out, err = by_stream(mine(settle(t), w.pid))
        events = [body(r) for r in out]
        assert len(events) == 10, [e[:60] for e in events]
        assert sorted(e.split("\n")[0] for e in events) == sorted(
            f"ERROR [{who}] request {i} failed" for who in "ab" for i in range(5))
        assert all(len(e) > 8192 for e in events)
        piped = []  # the events as the pipe has them, in order
        for line in out_b.decode().splitlines():
            if line.startswith("ERROR "):
                piped.append(line)
            else:
                piped[-1] += "\n" + line
        assert events == piped
        assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]
        for r in out:
            lines = body(r).split("\n")
            assert lines[1].startswith("java.lang.IllegalStateException: deep ")
            assert len(lines) > 300 and all(l.startswith("\tat ") for l in lines[2:]), lines[-3:]
            assert lines[0].split("[")[1][0] == lines[1].split()[-2], lines[:2]
        traces = [body(r) for r in err if body(r) != "done"]
        assert sorted(tr.split("\n")[0] for tr in traces) == sorted(
            f"java.lang.IllegalArgumentException: plain {who} {i}"
            for who in "ab" for i in range(5)), traces
        assert all(len(tr.split("\n")) >= 3 for tr in traces)
    finally:
        t.stop(); w.kill()


def test_stdout_on_a_regular_file(tmp_path):
    """`prog > file`: Python is block buffered on a file too (4 KiB writes
    cutting lines), and the last line has no newline."""
    with open(tmp_path / "out", "wb") as f:
        with Writer(PY_BUFFERED, stdout=f) as w:
            w.go()
            out, _ = by_stream(mine(settle(w.tracer), w.proc.pid))
    want = (tmp_path / "out").read_text().split("\n")
    big = [r for r in out if body(r).startswith("xxxx")]
    bodies = [body(r) for r in out]
    assert bodies[:3000] + ["".join(body(r) for r in big)] + bodies[3000 + len(big):] == want
    assert not [r for r in out if attrs(r).get("ebpftrace.log.truncated")]


SENDFILE = r"""
import os, sys
sys.stdin.readline()
os.write(1, b"before\n")
fd = os.open(sys.argv[1], os.O_RDONLY)
n = os.sendfile(1, fd, 0, 1 << 20)
os.write(1, b"after %d\n" % n)
"""


def test_sendfile_to_stdout_invents_nothing(tmp_path):
    """sendfile moves file bytes the program never had in its memory:
    they are not captured (docs/limits.md), only counted lost; the line
    after them is kept but flagged, since nothing says whether they ended
    a line."""
    f = tmp_path / "in.txt"
    f.write_bytes(b"from the file %d\n" % 1 * 100)
    with Writer(SENDFILE, str(f)) as w:
        w.go()
        assert w.out.count(b"from the file") == 100
        out, _ = by_stream(mine(settle(w.tracer), w.proc.pid))
        assert [body(r) for r in out] == ["before", "after %d" % f.stat().st_size], out
        assert attrs(out[1]).get("ebpftrace.log.truncated") is True


SLOW_LINE = r"""
import sys, time
sys.stdin.readline()
print("starting", flush=True)
sys.stdout.write("Downloading... "); sys.stdout.flush()
time.sleep(2.5)
print("done", flush=True)
sys.stdout.write("Password: "); sys.stdout.flush()
time.sleep(7)
"""


def test_line_finished_seconds_later_is_one_record():
    """printf without newline + fflush, the rest 2.5 s later: one record,
    as a container runtime's log has it (it waits for the newline); a
    prompt that never gets one leaves after logs.flush_timeout (5 s) while
    the process still runs, and the complete line before it did not wait."""
    w = subprocess.Popen([sys.executable, "-c", SLOW_LINE], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = Tracer("--pid", str(w.pid)).start()
    try:
        w.stdin.write(b"go\n"); w.stdin.flush()
        started = time.time()
        first = wait_logs(t, lambda r: body(r) == "starting")
        assert first and time.time() - started < 2.4, "a complete line waited"
        got = wait_logs(t, lambda r: body(r) == "Password: ", timeout=12)
        assert got and w.poll() is None, "the prompt left while the process runs"
        out, _ = by_stream(mine(list(t.logs), w.pid))
        assert [body(r) for r in out] == ["starting", "Downloading... done", "Password: "]
        assert attrs(out[1]).get("ebpftrace.log.no_newline") is None
        assert attrs(out[2]).get("ebpftrace.log.no_newline") is True
    finally:
        t.stop(); w.kill()


MERGED_IN_SCRIPT = r"""
import subprocess, sys
sys.stdin.readline()
prog = "import os; os.write(1, b'%s out\\n'); os.write(2, b'%s err\\n')"
subprocess.run(["sh", "-c", 'python3 -c "$0" 2>&1; python3 -c "$1"',
                prog % ("merged", "merged"), prog % ("apart", "apart")])
"""


def test_program_run_with_2_to_1_by_a_traced_shell():
    """`prog 2>&1` in a script whose stdout and stderr are two pipes: what
    prog writes to fd 2 lands in the stdout pipe and is labelled stdout,
    as a container runtime would; without 2>&1 it stays stderr."""
    with Writer(MERGED_IN_SCRIPT) as w:
        w.go()
        assert w.out == b"merged out\nmerged err\napart out\n"
        assert w.err == b"apart err\n"
        out, err = by_stream(settle(w.tracer))
        assert [body(r) for r in out] == ["merged out", "merged err", "apart out"], out
        assert [body(r) for r in err] == ["apart err"], err
