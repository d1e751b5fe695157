"""Kubernetes events shipped to Loki by exactly one replica.

A real kube-apiserver + etcd (lib/k8s_cluster.py) and a real Loki
(lib/backends.py); the real tracer (`ebpftrace run`, BPF attached, its
process selection matching nothing) with k8s.events on. The tests create
core/v1 Events with the admin client, the way the kubelet and the
controllers would, and read Loki's query API: every event appears exactly
once with the eventhandler labels, an update of its count ships once more,
an event from before the start is not shipped, an API server restart (a
relist) ships nothing again; with leader election two tracers ship each
event once, and when the holder stops (released Lease) or dies (expired
Lease) the other takes over.
"""
import datetime
import os
import signal
import subprocess
import time
import uuid

import pytest

from lib import backends
from lib.k8s_cluster import FORBIDDEN_TOKEN, free_port
from lib.tracer import BINARY, Tracer

JOB = "integrations/kubernetes/eventhandler"
CLUSTER = "vicky-test"
LABELS = {"job", "kubernetes_cluster_events", "namespace", "kind", "name", "cluster"}
LOKI_ADDED = {"service_name", "detected_level"}  # Loki's own, not pushed


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def rfc3339(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def loki(tmp_path_factory):
    try:
        b = backends.Loki(backends.ensure_built("loki"))
        b.start(tmp_path_factory.mktemp("loki"))
    except backends.BackendError as e:
        pytest.fail(f"Loki did not start: {e}")
    yield b
    b.stop()


def make_event(api, ns, name, kind, obj, reason, message, etype="Normal", when=None,
               count=1):
    body = {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": kind, "name": obj, "namespace": ns,
                               "apiVersion": "v1" if kind == "Pod" else "apps/v1"},
            "reason": reason, "message": message, "type": etype, "count": count,
            "firstTimestamp": rfc3339(when), "lastTimestamp": rfc3339(when),
            "source": {"component": "kubelet", "host": "node-a"}}
    return api.request("POST", f"/api/v1/namespaces/{ns}/events", body)


def bump_event(api, ev, count, when=None):
    ev = dict(ev, count=count, lastTimestamp=rfc3339(when))
    meta = ev["metadata"]
    return api.request("PUT", f"/api/v1/namespaces/{meta['namespace']}/events/{meta['name']}", ev)


def entries(loki, ns, since_ns):
    """[(labels, line)] of the eventhandler streams of namespace ns."""
    res = loki.query_range_once('{job="%s", namespace="%s"}' % (JOB, ns),
                                since_ns, time.time_ns() + 60 * 10**9)
    out = []
    for s in res or []:
        for _ts, line, *_ in s["values"]:
            out.append((s["stream"], line))
    return out


def wait_entries(loki, ns, since_ns, n, timeout=30):
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        got = entries(loki, ns, since_ns)
        if len(got) >= n:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{n} entries of namespace {ns} not in Loki after {timeout}s: {got}")


def settle(loki, ns, since_ns, n, seconds=4):
    """Still exactly n entries after a while: nothing shipped twice."""
    time.sleep(seconds)
    got = entries(loki, ns, since_ns)
    assert len(got) == n, f"expected exactly {n} entries, got {len(got)}:\n" + \
        "\n".join(f"{lab} {line}" for lab, line in got)
    return got


class EventsTracer(Tracer):
    def __init__(self, kubeconfig, loki, *extra):
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "KUBE", "EBPFTRACE_K8S", "POD_"))}
        super().__init__("--comm", "ebt-no-such", "--cri-socket=", "--kubeconfig", kubeconfig,
                         "--node-name", "node-a", "--loki-endpoint", loki.url,
                         "--loki-batch-timeout", "200ms", "--cluster", CLUSTER,
                         "--k8s-events", "--log-level", "debug",
                         "--metrics-listen", f"127.0.0.1:{port}", *extra, env=env)
        self.listen = f"127.0.0.1:{port}"

    def metrics(self):
        """The ebpftrace_k8s_events_* samples of /metrics (needs --metrics-listen)."""
        status, body = backends.http_request(f"http://{self.listen}/metrics")
        assert status == 200, status
        out = {}
        for line in body.decode().splitlines():
            if line.startswith("ebpftrace_k8s_events_"):
                name, value = line.rsplit(" ", 1)
                out[name[len("ebpftrace_k8s_events_"):]] = float(value)
        return out

    def wait_log(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text.encode() in self.stderr:
                return time.time()
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"tracer did not log {text!r} in {timeout}s:\n"
                             + self.stderr.decode(errors="replace")[-3000:])


def shipped(t):
    """Lines this replica handed to its Loki exporter (its debug log):
    Loki itself drops an entry identical to one it has, so duplicates are
    counted at the source."""
    return t.stderr.count(b"Kubernetes events: shipped ")


def need_tracer():
    if os.geteuid() != 0:
        pytest.fail("the tracer test needs root (BPF)")
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} is missing: run make first")


def start(t):
    try:
        t.start()
    except RuntimeError as e:
        pytest.fail(f"the tracer did not start: {e}")
    return t


def test_events_single_replica(cluster, loki, tmp_path):
    """--k8s-events-leader-election=false: this replica ships; each event
    once, with the eventhandler labels and an Alloy-like logfmt line; an
    update ships once more; an event from before the start is not shipped;
    a relist after an API server restart ships nothing again."""
    need_tracer()
    ns = uniq("ev")
    cluster.namespace(ns)
    t0 = time.time_ns() - 120 * 10**9
    make_event(cluster, ns, "old.1", "Pod", "old-pod", "Pulled", "from before the start",
               when=time.time() - 60)
    kc = cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))
    t = start(EventsTracer(kc, loki, "--k8s-events-leader-election=false"))
    try:
        t.wait_log("events listed; shipping (single replica")
        back = make_event(cluster, ns, "web-0.1", "Pod", "web-0", "BackOff",
                          'Back-off restarting failed container "web"', etype="Warning")
        make_event(cluster, ns, "web.1", "Deployment", "web", "ScalingReplicaSet",
                   "Scaled up replica set web-5d8f to 2")
        got = wait_entries(loki, ns, t0, 2)
        got = settle(loki, ns, t0, 2)
        by_name = {lab["name"]: (lab, line) for lab, line in got}
        assert set(by_name) == {"web-0", "web"}
        lab, line = by_name["web-0"]
        assert set(lab) - LOKI_ADDED == LABELS, lab
        assert lab["job"] == JOB and lab["kubernetes_cluster_events"] == JOB
        assert lab["namespace"] == ns and lab["kind"] == "Pod" and lab["cluster"] == CLUSTER
        assert line.startswith("type=Warning reason=BackOff kind=Pod name=web-0 "), line
        assert "count=1 sourcecomponent=kubelet sourcehost=node-a" in line, line
        assert line.endswith('msg="Back-off restarting failed container \\"web\\""'), line
        assert by_name["web"][0]["kind"] == "Deployment"
        assert "type=Normal reason=ScalingReplicaSet" in by_name["web"][1]

        # the kubelet saw it again: count 2, a later lastTimestamp
        bump_event(cluster, back, 2, when=time.time() + 1)
        got = wait_entries(loki, ns, t0, 3)
        got = settle(loki, ns, t0, 3)
        counts = sorted(line.split(" count=")[1].split()[0] for lab, line in got
                        if lab["name"] == "web-0")
        assert counts == ["1", "2"], got

        # a relist (the watch drops with the API server) ships nothing again
        cluster.restart()
        t.wait_log("Kubernetes events https://", timeout=30)  # the failed watch
        deadline = time.time() + 40
        while time.time() < deadline and t.stderr.count(b"Kubernetes events: LIST") < 2:
            time.sleep(0.2)
        assert t.stderr.count(b"Kubernetes events: LIST") >= 2, t.stderr[-3000:]
        make_event(cluster, ns, "web-1.1", "Pod", "web-1", "Started", "Started container web")
        wait_entries(loki, ns, t0, 4, timeout=60)
        got = settle(loki, ns, t0, 4)
        assert sorted(lab["name"] for lab, _ in got) == ["web", "web-0", "web-0", "web-1"]
        m = t.metrics()
        assert m["leader"] == 1 and m["relists_total"] >= 1, m
    finally:
        rc = t.stop()
    assert rc == 0, t.stderr.decode(errors="replace")[-3000:]
    assert shipped(t) == 4, t.stderr.decode(errors="replace")[-3000:]
    assert "old-pod" not in "".join(line for _, line in entries(loki, ns, t0))


def lease_of(cluster, ns):
    return cluster.request(
        "GET", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/ebpftrace-events")


def test_events_leader_election(cluster, loki, tmp_path):
    """Two replicas: one holds the Lease and ships, each event once; the
    holder stops and releases the Lease, the other takes over at once and
    ships what comes next; that one is killed (no release) and a third
    takes over after the lease duration."""
    need_tracer()
    ns = uniq("le")
    cluster.namespace(ns)
    t0 = time.time_ns() - 120 * 10**9
    kc = cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))
    elect = ["--k8s-events-lease-namespace", ns]
    a = start(EventsTracer(kc, loki, *elect, "--k8s-events-identity", "replica-a"))
    b = c = None
    try:
        a.wait_log("replica-a holds Lease")
        b = start(EventsTracer(kc, loki, *elect, "--k8s-events-identity", "replica-b"))
        b.wait_log("events listed; shipping while this replica holds the Lease")
        assert lease_of(cluster, ns)["spec"]["holderIdentity"] == "replica-a"
        ev = make_event(cluster, ns, "db-0.1", "Pod", "db-0", "Unhealthy",
                        "Readiness probe failed", etype="Warning")
        make_event(cluster, ns, "db.1", "StatefulSet", "db", "SuccessfulCreate",
                   "create Pod db-0 in StatefulSet db successful")
        wait_entries(loki, ns, t0, 2)
        settle(loki, ns, t0, 2)
        assert b"holds Lease" not in b.stderr
        assert (shipped(a), shipped(b)) == (2, 0)
        ma, mb = a.metrics(), b.metrics()
        assert (ma["leader"], mb["leader"]) == (1, 0), (ma, mb)
        assert ma["leader_changes_total"] == 1 and mb["leader_changes_total"] == 0
        time.sleep(1.5)  # published about once a second
        assert a.metrics()["shipped_total"] == 2

        # the holder stops: it releases the Lease, B takes it at once
        stopped = time.time()
        assert a.stop() == 0, a.stderr.decode(errors="replace")[-3000:]
        assert b"Lease " + ns.encode() + b"/ebpftrace-events released" in a.stderr
        took = b.wait_log("replica-b holds Lease", timeout=20)
        assert took - stopped < 15, f"takeover after {took - stopped:.1f}s"
        bump_event(cluster, ev, 2, when=time.time() + 1)
        make_event(cluster, ns, "db-1.1", "Pod", "db-1", "Scheduled", "assigned to node-a")
        wait_entries(loki, ns, t0, 4)
        got = settle(loki, ns, t0, 4)
        assert sorted(lab["name"] for lab, _ in got) == ["db", "db-0", "db-0", "db-1"], got
        assert (shipped(a), shipped(b)) == (2, 2)
        lease = lease_of(cluster, ns)["spec"]
        assert lease["holderIdentity"] == "replica-b" and lease["leaseDurationSeconds"] == 15
        assert lease["leaseTransitions"] >= 1

        # B dies without releasing: C waits for the lease to expire
        c = start(EventsTracer(kc, loki, *elect, "--k8s-events-identity", "replica-c"))
        c.wait_log("events listed; shipping while")
        time.sleep(6)  # B renews after the events above: it shipped them
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait()
        killed = time.time()
        make_event(cluster, ns, "db-2.1", "Pod", "db-2", "Scheduled", "assigned to node-a")
        took = c.wait_log("replica-c holds Lease", timeout=40)
        # unchanged for 15 s on C's clock, counted from the last renew C saw
        assert 8 < took - killed < 30, f"takeover after {took - killed:.1f}s"
        # the event of the gap is shipped by C (B was dead before it)
        wait_entries(loki, ns, t0, 5)
        got = settle(loki, ns, t0, 5)
        assert sorted(lab["name"] for lab, _ in got) == [
            "db", "db-0", "db-0", "db-1", "db-2"], got
        assert (shipped(a), shipped(b), shipped(c)) == (2, 2, 1)
    finally:
        for t in (a, b, c):
            if t:
                t.stop()


def test_events_forbidden_say_the_rbac_rules(cluster, loki, tmp_path):
    """A service account without the rules: one line each for the events
    and the Lease, naming what RBAC must allow; nothing shipped, tracing
    goes on."""
    need_tracer()
    kc = cluster.kubeconfig(str(tmp_path / "reader.kubeconfig"), {"token": FORBIDDEN_TOKEN})
    t = start(EventsTracer(kc, loki, "--k8s-events-lease-namespace", "default",
                           "--k8s-events-identity", "replica-forbidden"))
    try:
        t.wait_log("RBAC: the service account needs list and watch on events")
        t.wait_log("RBAC: the service account needs get, create and update on leases")
        time.sleep(3)  # a few retries
    finally:
        rc = t.stop()
    err = t.stderr.decode(errors="replace")
    assert rc == 0, err[-3000:]
    assert 'cannot list resource "events"' in err and "HTTP 403" in err, err[-3000:]
    assert err.count("needs list and watch on events") == 1, err[-3000:]  # not per retry
    assert shipped(t) == 0 and "holds Lease" not in err


def test_events_need_loki_and_api(tmp_path):
    need_tracer()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBE", "EBPFTRACE_", "POD_"))}
    r = subprocess.run([BINARY, "run", "--k8s-events", "--comm", "x", "--cri-socket="],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode != 0
    assert "k8s.events.enabled needs loki.endpoint" in r.stderr, r.stderr
    r = subprocess.run([BINARY, "run", "--k8s-events", "--comm", "x", "--cri-socket=",
                        "--loki-endpoint", "http://127.0.0.1:9"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode != 0
    assert "k8s.events.enabled needs the Kubernetes API" in r.stderr, r.stderr
