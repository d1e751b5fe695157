"""Starts the real test peers (tests/peers) and waits for READY <port>."""
import hashlib
import os
import shutil
import subprocess
import time

from .tracer import ROOT

PEERS = os.path.join(ROOT, "tests", "peers")
CACHE = os.environ.get("EBPFTRACE_CACHE", os.path.expanduser("~/.cache/ebpftrace"))


def go_peer_binary(src_dir, name):
    """tests/peers/<src_dir> built into the cache as bin/<name>, again
    whenever its main.go is newer."""
    out = os.path.join(CACHE, "bin", name)
    src = os.path.join(PEERS, src_dir)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(
            os.path.join(src, "main.go")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["go", "build", "-o", out, "."], cwd=src, check=True,
                       env=dict(os.environ, CGO_ENABLED="0"))
    return out


def made_tool(name):
    """build/<name> (a test tool of the Makefile, e.g. loki_push_driver),
    made if missing or stale; its path. BUILD= picks another build dir."""
    build = os.environ.get("BUILD", "build")
    subprocess.run(["make", "-s", f"BUILD={build}", f"{build}/{name}"],
                   cwd=ROOT, check=True)
    return os.path.join(ROOT, build, name)


def go_server_binary():
    return go_peer_binary("GoServer", "goserver")


class ReadyPeer:
    """A server child that prints "READY <port>" once it listens."""

    def __init__(self, *cmd, env=None):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline().decode()
        assert line.startswith("READY"), (cmd, line)
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        stop_process(self.proc)


def stop_process(proc):
    """SIGTERM, then SIGKILL if it is still there after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def npm_modules(package, spec):
    """`npm install spec` (once) into the cache; the node_modules dir to put
    in NODE_PATH."""
    d = os.path.join(CACHE, "npm-" + package)
    if not os.path.exists(os.path.join(d, "node_modules", package)):
        os.makedirs(d, exist_ok=True)
        npm = shutil.which("npm")
        assert npm, "npm is not installed: run tests/deps.sh (make deps)"
        out = subprocess.run([npm, "install", "--no-audit", "--no-fund",
                              "--silent", spec], cwd=d,
                             capture_output=True, timeout=300)
        assert out.returncode == 0, f"npm install {spec} failed: {out}"
    return os.path.join(d, "node_modules")


def maven_jars(peer, marker):
    """The jars of tests/peers/<peer>/pom.xml, copied from Maven Central
    once into the cache (keyed by the pom's hash; marker: one jar's file
    name that shows the copy is whole); a class path glob."""
    pom = os.path.join(PEERS, peer, "pom.xml")
    with open(pom, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    d = os.path.join(CACHE, peer.lower(), key)
    if not os.path.exists(os.path.join(d, marker)):
        os.makedirs(d + ".tmp", exist_ok=True)
        mvn = shutil.which("mvn")
        assert mvn, "Maven (mvn) is not installed: run tests/deps.sh (make deps)"
        out = subprocess.run([mvn, "-q", "-B", "dependency:copy-dependencies",
                              f"-DoutputDirectory={d}.tmp", "-f", pom],
                             capture_output=True, timeout=600)
        assert out.returncode == 0, ("mvn dependency:copy-dependencies failed",
                                     out.stdout[-4000:], out.stderr[-4000:])
        shutil.rmtree(d, ignore_errors=True)
        os.rename(d + ".tmp", d)
    return os.path.join(d, "*")


def command(kind, port=0, downstream=None):
    extra = [downstream] if downstream else []
    if kind == "python":
        return ["python3", "-u", os.path.join(PEERS, "pyserver.py"), str(port), *extra]
    if kind == "jdk":
        return ["java", os.path.join(PEERS, "JdkServer.java"), str(port), *extra]
    if kind == "go":
        return [go_server_binary(), str(port), *extra]
    raise ValueError(kind)


class Server:
    def __init__(self, kind, downstream=None, env=None):
        self.kind = kind
        self.cmd = command(kind, 0, downstream)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None

    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + timeout
        lines = []
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line and self.proc.poll() is not None:
                break
            lines.append(line)
            if line.startswith("READY"):
                self.port = int(line.split()[1])
                return self
        raise RuntimeError(f"{self.kind} server did not start: {''.join(lines)}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc)


def run_client(*args, timeout=60):
    """tests/peers/client.py; returns the status codes it printed."""
    out = subprocess.run(["python3", os.path.join(PEERS, "client.py"), *args],
                         capture_output=True, timeout=timeout, check=True)
    return [int(x) for x in out.stdout.decode().split()]


def curl(*args, timeout=30):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args],
                         capture_output=True, timeout=timeout)
    return int(out.stdout.decode() or 0)
