"""Selection by cgroup and container identity, with the real BPF programs.

These tests create cgroups on this host (cgroup2 at /sys/fs/cgroup/unified
on the project's hybrid machines, or /sys/fs/cgroup on pure v2 hosts), put
a real Python http.server in them and run the real tracer. The container
cgroups are fake in that no runtime made them, but their paths have the
exact shape Docker's systemd and cgroupfs drivers give them, which is all
the tracer looks at. Every cgroup made here is removed afterwards.
"""
import os
import secrets
import subprocess
import time
import uuid

import pytest

from lib.peers import Server, curl
from lib.tracer import BINARY, Span, Tracer, attrs

CG = "/sys/fs/cgroup"


def cgroup2_mount():
    """Where cgroup2 is mounted: /sys/fs/cgroup (v2) or .../unified (hybrid)."""
    mounts = {}
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            mounts[mnt] = fstype
    for mnt in (CG, CG + "/unified"):
        if mounts.get(mnt) == "cgroup2":
            return mnt
    pytest.fail("no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified: "
                "these tests need cgroup2 (v2 or hybrid host)")


def v1_mount(controller):
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup" and controller in opts.split(","):
                return mnt
    return None


@pytest.fixture
def cgroups():
    """mkdir -p cgroup directories; removed (deepest first) at the end."""
    made = []

    def make(path):
        parts, cur = path.split("/"), ""
        for p in parts[1:]:
            cur += "/" + p
            if not os.path.isdir(cur):
                os.mkdir(cur)
                made.append(cur)
        return path
    if os.geteuid() != 0:
        pytest.fail("cgroup tests need root (CI runs as root): cannot create cgroups")
    yield make
    for d in reversed(made):
        for _ in range(50):  # the last process may still be leaving
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"could not remove cgroup {d}")


@pytest.fixture
def servers():
    started = []

    def start(service, cgroup_dir=None):
        s = Server("python", env={"OTEL_SERVICE_NAME": service})
        if cgroup_dir:
            # enter the cgroup first, then become the server
            procs = os.path.join(cgroup_dir, "cgroup.procs")
            s.cmd = ["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *s.cmd]
        started.append(s.start())
        return s
    yield start
    for s in started:
        s.stop()


def run_tracer(*args):
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} is missing: run `make` first")
    return Tracer(*args).start()


def stop(t):
    rc = t.stop()
    assert rc == 0, "tracer exit code %s; stderr:\n%s" % (rc, t.stderr.decode(errors="replace"))


def spans_of(t):
    return [s for s in t.all_spans() if isinstance(s, Span)]


def wait_logs(t, body, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = [r for r in list(t.logs) if r["body"]["stringValue"] == body]
        if recs:
            return recs
        time.sleep(0.2)
    raise AssertionError(f"no log record {body!r}; got {t.logs[-10:]}")


def hex_id():
    return secrets.token_hex(32)


def name():
    return "cg-" + uuid.uuid4().hex[:8]


def cgroup_line_paths(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        return {line.split(":", 2)[1]: line.split(":", 2)[2].strip() for line in f}


@pytest.mark.parametrize("form", ["cgroup2", "relative", "v1"])
def test_cgroup_filter_selects_only_that_cgroup(cgroups, servers, form):
    """--cgroup given as the cgroup2 path, relative to its root, or as a v1
    path (mapped to the same path under cgroup2) selects just that cgroup."""
    mnt = cgroup2_mount()
    rel = f"/ebt-test-{uuid.uuid4().hex[:8]}"
    cg = cgroups(mnt + rel)
    inside, outside = name(), name()
    a = servers(inside, cg)
    b = servers(outside)
    assert cgroup_line_paths(a.proc.pid)[""] == rel, "server is not in the new cgroup"
    arg = {"cgroup2": cg, "relative": rel.lstrip("/"), "v1": f"{CG}/pids{rel}"}[form]
    t = run_tracer("--cgroup", arg)
    try:
        assert curl(b.url + "/hello") == 200  # first: its span would come first
        assert curl(a.url + "/users/1") == 200
        (s,) = t.wait_for(lambda x: x.service == inside)
        time.sleep(1.0)
        spans = spans_of(t)
    finally:
        stop(t)
    assert s.kind == 2 and s.name == "GET /users/{id}"
    assert s.resource["process.pid"] == a.proc.pid
    assert s.resource["telemetry.sdk.name"] == "ebpftrace"
    assert "container.id" not in s.resource, "a plain cgroup is no container"
    others = [x for x in spans if x.resource.get("process.pid") != a.proc.pid]
    assert not others, f"spans from outside the cgroup: {others}"
    assert len(spans) == 1, spans


def test_container_id_on_spans_and_container_id_selection(cgroups, servers):
    """A Docker-shaped cgroup2 scope: container.id and container.runtime.name
    on the spans, and --container-id <prefix> selects just that container."""
    mnt = cgroup2_mount()
    cid = hex_id()
    cg = cgroups(f"{mnt}/system.slice/docker-{cid}.scope")
    inside, outside = name(), name()
    a = servers(inside, cg)
    b = servers(outside)
    t = run_tracer("--container-id", cid[:12])
    try:
        assert curl(b.url + "/hello") == 200
        assert curl(a.url + "/log") == 200
        (s,) = t.wait_for(lambda x: x.service == inside)
        logs = wait_logs(t, "handled /log")
        time.sleep(1.0)
        spans = spans_of(t)
    finally:
        stop(t)
    # the stdout line of the container's process carries it too
    assert attrs(logs[0]["resource"])["container.id"] == cid
    assert s.resource["container.id"] == cid
    assert s.resource["container.runtime.name"] == "docker"
    assert s.resource["process.pid"] == a.proc.pid
    assert "k8s.pod.uid" not in s.resource
    assert all(x.resource.get("container.id") == cid for x in spans), spans


def test_kubernetes_pod_cgroup_gives_pod_uid(cgroups, servers):
    """A containerd container of a Burstable pod (systemd driver path)."""
    mnt = cgroup2_mount()
    cid, uid = hex_id(), str(uuid.uuid4())
    pod = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    cg = cgroups(f"{mnt}/kubepods.slice/kubepods-burstable.slice/{pod}/"
                 f"cri-containerd-{cid}.scope")
    svc = name()
    a = servers(svc, cg)
    t = run_tracer("--cgroup", cg)
    try:
        assert curl(a.url + "/hello") == 200
        (s,) = t.wait_for(lambda x: x.service == svc)
    finally:
        stop(t)
    assert s.resource["container.id"] == cid
    assert s.resource["container.runtime.name"] == "containerd"
    assert s.resource["k8s.pod.uid"] == uid
    assert s.service == svc  # service.name rules unchanged


def test_hybrid_container_only_in_v1_hierarchies(cgroups, servers):
    """Docker's cgroupfs driver on a hybrid host: the container has v1
    directories only and its cgroup2 path stays '/'. The id comes from the
    v1 lines; --container-id refuses it with a message (no cgroup2 id)."""
    if cgroup2_mount() == CG:
        pytest.fail("this test needs a hybrid host (v1 controllers plus "
                    "cgroup2 at /sys/fs/cgroup/unified); this one is pure v2")
    pids = v1_mount("pids")
    assert pids, "no v1 pids hierarchy mounted on this hybrid host"
    cid = hex_id()
    cg = cgroups(f"{pids}/docker/{cid}")
    svc = name()
    a = servers(svc, cg)
    paths = cgroup_line_paths(a.proc.pid)
    assert paths["pids"] == f"/docker/{cid}" and paths[""] != f"/docker/{cid}"
    t = run_tracer("--pid", str(a.proc.pid))
    try:
        assert curl(a.url + "/hello") == 200
        (s,) = t.wait_for(lambda x: x.service == svc)
    finally:
        stop(t)
    assert s.resource["container.id"] == cid
    assert s.resource["container.runtime.name"] == "docker"
    out = subprocess.run([BINARY, "run", "--container-id", cid[:16], "--duration", "1s"],
                         capture_output=True, timeout=30)
    assert out.returncode != 0
    assert b"no cgroup2 directory of its own" in out.stderr, out.stderr


def test_bad_selection_fails_with_a_message():
    out = subprocess.run([BINARY, "run", "--cgroup", "/ebt-no-such-cgroup",
                          "--duration", "1s"], capture_output=True, timeout=30)
    assert out.returncode != 0
    assert b"cgroup '/ebt-no-such-cgroup' not found" in out.stderr, out.stderr
    out = subprocess.run([BINARY, "run", "--container-id", "0" * 63 + "f",
                          "--duration", "1s"], capture_output=True, timeout=30)
    assert out.returncode != 0
    assert b"no running process" in out.stderr, out.stderr
    out = subprocess.run([BINARY, "run", "--container-id", "ABC"],
                         capture_output=True, timeout=30)
    assert out.returncode == 2
    assert b"lower-case hex" in out.stderr, out.stderr
