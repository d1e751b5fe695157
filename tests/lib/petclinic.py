"""The PetClinic-shaped Spring Boot test peer (tests/peers/petclinic).

build() packages it with Maven into a cache outside the repository,
~/.cache/ebpftrace/petclinic/<hash of the sources>/, so a change to the
sources rebuilds and an unchanged tree reuses the jar. The jar is
spring-petclinic-<version>.jar: the tracer's JVM rule (user/resource.c)
turns `java -jar spring-petclinic-3.5.0-ebpftrace.jar` into service.name
`spring-petclinic`.

agent_jar() is the OpenTelemetry Java agent at the version the bench pins
(tests/bench/run.sh), fetched from Maven Central with `mvn dependency:copy`
into the same cache as the bench's.

Nothing here skips: a missing Maven, a failed build or a missing agent
raises PeerError with the reason (and Maven's output).
"""
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import time

from .peers import CACHE, PEERS

SRC = os.path.join(PEERS, "petclinic")
JAR_NAME = "spring-petclinic-3.5.0-ebpftrace.jar"
SERVICE = "spring-petclinic"
BENCH = os.path.join(os.path.dirname(PEERS), "bench", "run.sh")


class PeerError(RuntimeError):
    pass


def _sources():
    out = []
    for d, dirs, files in os.walk(SRC):
        dirs[:] = sorted(x for x in dirs if x != "target")
        out += [os.path.join(d, f) for f in sorted(files)]
    return out


def source_hash():
    h = hashlib.sha256()
    for p in _sources():
        h.update(os.path.relpath(p, SRC).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _mvn():
    mvn = shutil.which("mvn")
    if not mvn:
        raise PeerError("Maven (mvn) is not installed: it builds the PetClinic test "
                        "peer and fetches the OTel Java agent (apt-get install maven)")
    return mvn


def build(timeout=1500):
    """Path of the packaged jar; builds it if the sources changed."""
    out_dir = os.path.join(CACHE, "petclinic", source_hash())
    jar = os.path.join(out_dir, JAR_NAME)
    if os.path.exists(jar):
        return jar
    mvn = _mvn()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(CACHE, "petclinic", "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(jar):
            return jar
        work = os.path.join(out_dir, "src")
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(SRC, work, ignore=shutil.ignore_patterns("target"))
        t0 = time.time()
        try:
            r = subprocess.run([mvn, "-q", "-B", "package", "-DskipTests"], cwd=work,
                               capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise PeerError(f"mvn package of {SRC} took over {timeout}s:\n"
                            + (e.stdout or b"").decode(errors="replace")[-6000:])
        if r.returncode != 0:
            raise PeerError(f"mvn -q -B package -DskipTests failed in {work} "
                            f"(exit {r.returncode}):\n"
                            + (r.stdout + r.stderr).decode(errors="replace")[-8000:])
        built = os.path.join(work, "target", JAR_NAME)
        if not os.path.exists(built):
            raise PeerError(f"mvn succeeded but {built} is missing")
        shutil.move(built, jar + ".tmp")
        os.rename(jar + ".tmp", jar)
        shutil.rmtree(work, ignore_errors=True)
        print(f"petclinic: built {jar} in {time.time() - t0:.0f}s")
    return jar


def agent_version():
    with open(BENCH) as f:
        m = re.search(r"OTEL_AGENT_VERSION=\$\{OTEL_AGENT_VERSION:-([0-9.]+)\}", f.read())
    if not m:
        raise PeerError(f"no pinned OTEL_AGENT_VERSION in {BENCH}")
    return m.group(1)


def agent_jar(timeout=600):
    """The pinned OpenTelemetry Java agent (the bench's copy)."""
    version = agent_version()
    jar = os.path.join(CACHE, f"opentelemetry-javaagent-{version}.jar")
    if os.path.getsize(jar) if os.path.exists(jar) else 0:
        return jar
    mvn = _mvn()
    os.makedirs(CACHE, exist_ok=True)
    r = subprocess.run([mvn, "-q", "-B", "dependency:copy",
                        f"-Dartifact=io.opentelemetry.javaagent:opentelemetry-javaagent:{version}",
                        f"-DoutputDirectory={CACHE}"],
                       capture_output=True, timeout=timeout, cwd=CACHE)
    if r.returncode != 0 or not os.path.exists(jar):
        raise PeerError(f"could not fetch opentelemetry-javaagent {version} from Maven "
                        f"Central with mvn dependency:copy (exit {r.returncode}):\n"
                        + (r.stdout + r.stderr).decode(errors="replace")[-6000:])
    return jar


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PetClinic:
    """One JVM running the jar; stdout/stderr go to a file (Logback writes
    to stdout, the tracer captures the writes whatever fd 1 points to)."""

    def __init__(self, jar, log_path, jvm_args=(), app_args=(), env=None):
        self.port = free_port()
        self.cmd = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", *jvm_args,
                    "-jar", jar, f"--server.port={self.port}",
                    "--server.address=127.0.0.1", *app_args]
        self.env = dict(os.environ, **(env or {}))
        for k in list(self.env):  # the test run's OTEL_* must not reach the app
            if k.startswith("OTEL_") and k not in (env or {}):
                del self.env[k]
        self.log_path = log_path
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def spawn(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env)
        return self

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_port(self, timeout=180):
        """Spring Boot prints no READY line: wait until Tomcat accepts. The
        probe connects and closes without a request (no span)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise PeerError(f"petclinic exited ({self.proc.returncode}):\n"
                                + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.25)
        raise PeerError(f"petclinic did not listen on {self.port} within {timeout}s:\n"
                        + self.log_tail())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
