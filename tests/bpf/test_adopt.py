"""Connections that were open before the tracer started (adopt.c).

A keep-alive pool, or an ingress's upstream connections to a pod that
someone attaches to later, carries most requests on connections whose
accept and connect happened before the programs were attached. They are
found in /proc and traced from their next message on: both ends, with the
server span under the client span. One caught in the middle of a body is
taken up at its next request, and a pre-existing connection that is not
HTTP makes no span.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from lib.bpfmaps import (leaked_dup_entries, leaked_fd_lists, proc_added_flags,
                         proc_fds_lists)
from lib.tracer import Span, Tracer

SERVER, CLIENT = 2, 3

PEER = r'''
import os, socket, sys, threading, time, http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
go = threading.Event()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/slow":   # a body still flowing when the tracer starts
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 4096))
            self.end_headers()
            for i in range(64):
                if i == 8:
                    go.wait()
                self.wfile.write(b"GET / HTTP/1.1\r\n".ljust(4096, b"x"))
                time.sleep(0.005)
            return
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]
# not HTTP: a binary protocol on a connection of its own
raw_l = socket.socket(); raw_l.bind(("127.0.0.1", 0)); raw_l.listen()
raw_c = socket.create_connection(raw_l.getsockname()); raw_s, _ = raw_l.accept()
idle = http.client.HTTPConnection("127.0.0.1", port)
idle.request("GET", "/before"); idle.getresponse().read()
busy = http.client.HTTPConnection("127.0.0.1", port)
busy.request("GET", "/slow"); resp = busy.getresponse(); resp.read(4096)
print(port, raw_l.getsockname()[1], flush=True)
sys.stdin.readline()        # the tracer is attached
go.set()
for i in range(3):
    idle.request("GET", "/after/%d" % i); idle.getresponse().read()
resp.read()
busy.request("GET", "/next"); busy.getresponse().read()
for i in range(20):
    raw_c.sendall(b"\x00\x01GET /raw HTTP/1.1\r\n\r\n" + bytes(range(200)))
    raw_s.recv(65536)
    raw_s.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    raw_c.recv(65536)
print("done", flush=True)
sys.stdin.readline()
'''


@pytest.fixture
def peer(tmp_path):
    path = tmp_path / "peer.py"
    path.write_text(PEER)
    p = subprocess.Popen([sys.executable, str(path)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    ports = p.stdout.readline().split()
    assert len(ports) == 2, "peer did not start"
    yield p, int(ports[0])
    p.kill()
    p.wait()


def run_traced(peer, stats, *flags):
    p, port = peer
    t = Tracer("--pid", str(p.pid), *flags, stats_file=stats).start()
    try:
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
        time.sleep(1.5)
    finally:
        p.stdin.write("end\n")
        p.stdin.flush()
        assert t.stop() == 0, t.stderr.decode(errors="replace")
    spans = [s for s in t.all_spans()]
    assert all(isinstance(s, Span) for s in spans), spans
    with open(stats) as f:
        return spans, json.load(f), t


def test_connections_open_before_the_start_are_traced(peer, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    spans, st, t = run_traced(peer, str(tmp_path / "stats.json"))
    # both ends of the idle and the busy connection, and of the raw one
    assert st["conns_adopted"] == 6, (st, t.stderr)
    paths = ["/after/0", "/after/1", "/after/2", "/next"]
    srv = sorted((s for s in spans if s.kind == SERVER), key=lambda s: s.start)
    cli = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.start)
    # nothing from /before, /slow (their requests went before) or the raw
    # connection (not HTTP, though it carries HTTP-looking bytes)
    assert [s.attrs["url.path"] for s in srv] == paths, spans
    assert [s.attrs["url.full"].split(":%d" % peer[1])[1] for s in cli] == paths, spans
    for s, c in zip(srv, cli):
        assert s.parent == c.span_id and s.trace_id == c.trace_id, (s, c)
        assert s.attrs["http.response.status_code"] == 200
        assert s.attrs["http.response.body.size"] == len(s.attrs["url.path"])
        assert c.attrs["http.response.body.size"] == len(s.attrs["url.path"])
    assert st["exchanges_dropped"] == 0, st


def test_adoption_can_be_turned_off(peer, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    spans, st, _ = run_traced(peer, str(tmp_path / "stats.json"),
                              "--adopt-open-connections=false")
    assert st["conns_adopted"] == 0, st
    assert spans == [], spans


INETD_RUNNING = r'''
import os, socket, sys, http.client
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen()
port = ls.getsockname()[1]
cli = http.client.HTTPConnection("127.0.0.1", port)
cli.connect()
conn, _ = ls.accept()
if os.fork() == 0:            # inetd: the handler gets the socket as 0 and 1
    os.dup2(conn.fileno(), 0)
    os.dup2(conn.fileno(), 1)
    for s in (conn, ls, cli.sock):
        s.close()
    os.execvp(sys.executable, [sys.executable, sys.argv[1]])
conn.close()
cli.request("GET", "/before"); cli.getresponse().read()
print(port, flush=True)
sys.stdin.readline()          # the tracer is attached
for i in range(3):
    cli.request("GET", "/after/%d" % i); cli.getresponse().read()
print("done", flush=True)
sys.stdin.readline()
'''

INETD_HANDLER = r'''
import os
buf = b""
while True:
    while b"\r\n\r\n" not in buf:
        more = os.read(0, 65536)
        if not more:
            raise SystemExit
        buf += more
    head, buf = buf.split(b"\r\n\r\n", 1)
    body = b"handled " + head.split(b" ")[1] + b"\n"
    os.write(1, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
'''


def test_handler_running_on_stdin_and_stdout_is_one_connection(tmp_path):
    """An inetd-style handler already serving a keep-alive connection on
    its fds 0 and 1 when the tracer starts: both fds are one connection,
    read on one and answered on the other, so its next requests make
    server spans, each the child of the client's."""
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    (tmp_path / "inetd_running.py").write_text(INETD_RUNNING)
    handler = tmp_path / "running_handler.py"
    handler.write_text(INETD_HANDLER)
    p = subprocess.Popen([sys.executable, str(tmp_path / "inetd_running.py"), str(handler)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        t = Tracer(stats_file=str(tmp_path / "stats.json")).start()
        try:
            p.stdin.write("go\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "done"
            srv = t.wait_for(lambda s: s.kind == SERVER and s.attrs.get("server.port") == port,
                             count=3)
            cli = t.wait_for(lambda s: s.kind == CLIENT and s.attrs.get("server.port") == port,
                             count=3)
            p.stdin.write("end\n")   # the client's exit ends the handler
            p.stdin.flush()
            p.wait(timeout=10)
            handler_exited = _wait_gone(port)
            dup_left, lists_left = leaked_dup_entries(), leaked_fd_lists()
        finally:
            assert t.stop() == 0, t.stderr.decode(errors="replace")
    finally:
        p.kill()
        p.wait()
    by_id = {c.span_id: c for c in cli}
    assert sorted(s.attrs["url.path"] for s in srv) == ["/after/0", "/after/1", "/after/2"]
    for s in srv:
        assert s.service == "running_handler.py", s
        assert s.attrs["http.response.status_code"] == 200, s.attrs
        assert s.attrs["http.response.body.size"] == len("handled /after/0\n")
        assert by_id[s.parent].trace_id == s.trace_id, (s, cli)
    assert handler_exited
    assert dup_left == [] and lists_left == [], (dup_left, lists_left)


def _wait_gone(port, timeout=10):
    """No socket of the test's connection on port is left (the handler
    that held it exited)."""
    end = time.time() + timeout
    while time.time() < end:
        ss = subprocess.run(["ss", "-Htan", f"( sport = :{port} or dport = :{port} )"],
                            capture_output=True, text=True).stdout
        if "ESTAB" not in ss and "CLOSE-WAIT" not in ss:
            return True
        time.sleep(0.1)
    return False


FORK_AFTER_ADOPTION = r'''
import os, socket, sys, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen()
c = socket.create_connection(ls.getsockname()); s, _ = ls.accept()
print(c.fileno(), s.fileno(), flush=True)
sys.stdin.readline()          # the tracer is attached: both are adopted
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(r, 1)
print(pid, flush=True)
sys.stdin.readline()
os.kill(pid, 9)
os.waitpid(pid, 0)
'''


def test_child_of_a_process_with_adopted_connections_gets_a_list(tmp_path):
    """Adopted connections are not in their process's list of connection
    fds, so its forks walk the connection map. The walk notes what it
    copied and the child gets that as its list: its own forks (a shell's
    commands) need no walk."""
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    WALK = 1
    (tmp_path / "fork_after.py").write_text(FORK_AFTER_ADOPTION)
    p = subprocess.Popen([sys.executable, str(tmp_path / "fork_after.py")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        fds = {int(x) + 1 for x in p.stdout.readline().split()}
        t = Tracer("--pid", str(p.pid), stats_file=str(tmp_path / "stats.json")).start()
        try:
            p.stdin.write("go\n")
            p.stdin.flush()
            child = int(p.stdout.readline())
            lists = proc_fds_lists()
            entered = proc_added_flags()
            p.stdin.write("end\n")
            p.stdin.flush()
        finally:
            assert t.stop() == 0, t.stderr.decode(errors="replace")
    finally:
        p.kill()
        p.wait()
    assert entered[p.pid] & WALK, entered    # adopted: not listed
    flags, listed = lists[child]
    assert not flags & WALK, lists
    assert child not in entered, entered
    assert listed == fds, lists
