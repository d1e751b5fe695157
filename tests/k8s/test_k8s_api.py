"""The Kubernetes API client against a real kube-apiserver and etcd.

tests/tools/k8s_driver runs the tracer's client (user/k8s.c) and prints the
pods it has published; these tests create pods (spec.nodeName set, no
kubelet) and their owner chains through the API, the way the controllers
would, and check what the client sees: owners resolved, this node's pods
only, watch events, an API server restart, a 410 Gone resync, refused and
forbidden servers, inline credentials and a rotated token file. The
tracer tests run the real tracer with BPF and check
that a server in a pod's cgroup gets the pod's workload on its spans.
"""
import base64
import os
import secrets
import subprocess
import time
import uuid

import pytest

from lib.k8s_cluster import ADMIN_TOKEN, FORBIDDEN_TOKEN, by_name, free_port, template
from lib.peers import Server, curl
from lib.tracer import BINARY, Span, Tracer

NODE = "node-a"


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def owner_chains(api, ns):
    """Deployment -> ReplicaSet -> pod, StatefulSet, DaemonSet, CronJob ->
    Job -> pod, a bare pod, and a pod of another node."""
    api.namespace(ns)
    sel = {"matchLabels": {"app": "web"}}
    dep = api.create(ns, "Deployment", "web", {"selector": sel, "template": template({"app": "web"})})
    rs = api.create(ns, "ReplicaSet", "web-5d8f7b9c4",
                    {"selector": sel, "template": template({"app": "web"})}, owner=dep)
    api.pod(ns, "web-5d8f7b9c4-x2x9q", NODE, owner=rs, ip="10.1.0.7",
            labels={"app": "web", "app.kubernetes.io/name": "web-label"},
            annotations={"resource.opentelemetry.io/service.name": "checkout"})
    sts = api.create(ns, "StatefulSet", "db", {
        "selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
        "template": template({"app": "db"})})
    api.pod(ns, "db-0", NODE, owner=sts)
    ds = api.create(ns, "DaemonSet", "agent", {
        "selector": {"matchLabels": {"app": "agent"}}, "template": template({"app": "agent"})})
    api.pod(ns, "agent-7xk2p", NODE, owner=ds)
    job_tpl = {"metadata": {"labels": {"app": "backup"}}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "app", "image": "app:1"}]}}
    cj = api.create(ns, "CronJob", "backup", {"schedule": "0 * * * *",
                                               "jobTemplate": {"spec": {"template": job_tpl}}})
    job = api.create(ns, "Job", "backup-29010", {"template": job_tpl}, owner=cj)
    api.pod(ns, "backup-29010-abcde", NODE, owner=job, labels={"app": "backup"})
    api.pod(ns, "bare", NODE)
    api.pod(ns, "elsewhere", "node-b", owner=rs)


def test_list_watch_and_owner_chains(cluster, driver, tmp_path):
    ns = uniq("shop")
    owner_chains(cluster, ns)
    d = driver(cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig")), NODE)
    s = d.wait(lambda s: s["synced"] and len([p for p in s["pods"] if p["namespace"] == ns]) == 5,
               "the 5 pods of node-a")
    pods = by_name(s)
    web = pods[f"{ns}/web-5d8f7b9c4-x2x9q"]
    assert web["workload"] == {"k8s.deployment.name": "web",
                               "k8s.replicaset.name": "web-5d8f7b9c4"}
    assert web["owner"] == "web"
    assert web["node"] == NODE and web["ip"] == "10.1.0.7"
    assert web["labels"]["app.kubernetes.io/name"] == "web-label"
    assert web["annotations"]["resource.opentelemetry.io/service.name"] == "checkout"
    assert len(web["uid"]) == 36
    assert pods[f"{ns}/db-0"]["workload"] == {"k8s.statefulset.name": "db"}
    assert pods[f"{ns}/agent-7xk2p"]["workload"] == {"k8s.daemonset.name": "agent"}
    assert pods[f"{ns}/backup-29010-abcde"]["workload"] == {
        "k8s.job.name": "backup-29010", "k8s.cronjob.name": "backup"}
    assert pods[f"{ns}/backup-29010-abcde"]["owner"] == "backup"
    assert pods[f"{ns}/bare"]["workload"] == {} and "owner" not in pods[f"{ns}/bare"]
    assert f"{ns}/elsewhere" not in pods  # spec.nodeName=node-b
    assert s["lists"] == 1 and s["errors"] == 0
    # one GET per ReplicaSet/Job, then the cache
    gets = s["owner_gets"]
    assert gets == 2, s

    # watch: ADDED (same ReplicaSet: cached), MODIFIED, DELETED
    rs = cluster.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets/web-5d8f7b9c4")
    cluster.pod(ns, "web-5d8f7b9c4-second", NODE, owner=rs)
    cluster.patch_labels(ns, "db-0", {"app.kubernetes.io/instance": "db-blue"})
    cluster.delete_pod(ns, "bare")
    s = d.wait(lambda s: f"{ns}/web-5d8f7b9c4-second" in by_name(s)
               and by_name(s)[f"{ns}/db-0"]["labels"].get("app.kubernetes.io/instance") == "db-blue"
               and f"{ns}/bare" not in by_name(s), "ADDED, MODIFIED and DELETED events")
    assert by_name(s)[f"{ns}/web-5d8f7b9c4-second"]["owner"] == "web"
    assert s["owner_gets"] == gets  # ReplicaSet owner from the cache
    assert s["lists"] == 1, "events came through the watch, not a re-list"
    d.stop()


def test_apiserver_restart_keeps_metadata_and_reconnects(cluster, driver, tmp_path):
    ns = uniq("rs")
    cluster.namespace(ns)
    cluster.pod(ns, "before", NODE)
    d = driver(cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig")), NODE)
    d.wait(lambda s: s["synced"] and f"{ns}/before" in by_name(s), "the first pod")
    cluster.stop()
    try:
        s = d.wait(lambda s: s["errors"] >= 1 and not s["synced"], "the dropped watch")
        # what it knew is kept while the server is away
        assert f"{ns}/before" in by_name(s)
        time.sleep(2)  # a few failed re-lists with backoff
    finally:
        cluster.start()
    cluster.pod(ns, "after", NODE)
    s = d.wait(lambda s: s["synced"] and f"{ns}/after" in by_name(s),
               "a pod created after the restart", timeout=60)
    assert s["lists"] >= 2  # resynced by a new LIST
    err = d.stderr()
    assert "Kubernetes API https://127.0.0.1" in err and "retrying with backoff" in err, err
    d.stop()


def test_gone_410_resyncs(cluster, driver, tmp_path):
    """Without the watch cache, a watch from a compacted resourceVersion gets
    410 Gone (an ERROR event or status) from etcd through the API server."""
    ns = uniq("gone")
    cluster.namespace(ns)
    cluster.restart(["--watch-cache=false"])
    try:
        cluster.pod(ns, "p1", NODE)
        # short watches: the client re-watches from its last resourceVersion
        d = driver(cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig")), NODE,
                   watch_s=2)
        s0 = d.wait(lambda s: s["synced"] and f"{ns}/p1" in by_name(s), "p1")
        # other nodes' pods move etcd's revision past the client's
        for i in range(3):
            cluster.pod(ns, f"other-{i}", "node-b")
        cluster.etcd.compact_now()
        s = d.wait(lambda s: s["resyncs_gone"] >= 1, "a 410 Gone resync", timeout=30)
        cluster.pod(ns, "p2", NODE)
        s = d.wait(lambda s: s["synced"] and f"{ns}/p2" in by_name(s), "p2 after the resync")
        assert s["lists"] > s0["lists"]
        assert f"{ns}/p1" in by_name(s)
        gone = [line for line in d.stderr().splitlines() if "listing pods again" in line]
        print("\n".join(gone))
        assert gone and ("410" in gone[0] or "too old" in gone[0]), d.stderr()
        d.stop()
    finally:
        cluster.restart([])


def test_forbidden_and_refused(cluster, driver, tmp_path):
    forbidden = cluster.kubeconfig(str(tmp_path / "reader.kubeconfig"), {"token": FORBIDDEN_TOKEN})
    d = driver(forbidden, NODE)
    s = d.wait(lambda s: s["errors"] >= 2, "retries after 403")
    assert s["pods"] == [] and not s["synced"]
    err = d.stderr()
    assert "HTTP 403" in err and 'cannot list resource "pods"' in err and "RBAC" in err, err
    # one line per distinct problem, not one per retry
    assert len([line for line in err.splitlines() if "HTTP 403" in line]) == 1, err
    d.stop()

    refused = str(tmp_path / "refused.kubeconfig")
    port = free_port()
    with open(refused, "w") as f:
        f.write(f"current-context: c\ncontexts:\n- name: c\n  context: {{cluster: c}}\n"
                f"clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n")
    d = driver(refused, NODE)
    d.wait(lambda s: s["errors"] >= 2, "retries while refused")
    assert "Couldn't connect to server" in d.stderr() or "refused" in d.stderr(), d.stderr()
    d.stop()


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def test_inline_credentials_and_token_file_rotation(cluster, driver, tmp_path):
    """certificate-authority-data, client-certificate-data/client-key-data;
    then a tokenFile whose token is replaced (as projected service account
    tokens are): the client re-reads it and gets in."""
    ns = uniq("cred")
    cluster.namespace(ns)
    cluster.pod(ns, "p", NODE)
    ca = {"server": cluster.url,
          "certificate-authority-data": b64(os.path.join(cluster.dir, "ca.crt"))}
    inline = cluster.kubeconfig(str(tmp_path / "inline.kubeconfig"), {
        "client-certificate-data": b64(os.path.join(cluster.dir, "admin.crt")),
        "client-key-data": b64(os.path.join(cluster.dir, "admin.key"))}, cluster=ca)
    d = driver(inline, NODE)
    d.wait(lambda s: s["synced"] and f"{ns}/p" in by_name(s), "pods with inline credentials")
    d.stop()

    tok = tmp_path / "token"
    tok.write_text("not-a-known-token\n")
    kc = cluster.kubeconfig(str(tmp_path / "tokenfile.kubeconfig"), {"tokenFile": str(tok)},
                            cluster=ca)
    d = driver(kc, NODE)
    d.wait(lambda s: s["errors"] >= 1, "401 with the unknown token")
    assert "HTTP 401" in d.stderr(), d.stderr()
    tok.write_text(ADMIN_TOKEN + "\n")
    d.wait(lambda s: s["synced"] and f"{ns}/p" in by_name(s), "pods after the token rotated")
    d.stop()


# ---- the tracer: spans of a process in the pod's cgroup -------------------------

def cgroup2_mount():
    with open("/proc/self/mounts") as f:
        mounts = {line.split()[1]: line.split()[2] for line in f}
    for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if mounts.get(mnt) == "cgroup2":
            return mnt
    pytest.fail("no cgroup2 mount: the tracer test needs cgroup2 (v2 or hybrid host)")


def make_cgroup(path, made):
    cur = ""
    for part in path.split("/")[1:]:
        cur += "/" + part
        if not os.path.isdir(cur):
            os.mkdir(cur)
            made.append(cur)


def remove_cgroups(made):
    """rmdir what make_cgroup made, deepest first (a cgroup is busy for a
    moment after its last process exits)."""
    for p in reversed(made):
        for _ in range(50):
            try:
                os.rmdir(p)
                break
            except OSError:
                time.sleep(0.1)


@pytest.mark.parametrize("labels,annotations,service", [
    ({}, {}, "orders"),  # the owner step: no env, no annotation, no labels
    ({"app.kubernetes.io/name": "orders-api"}, {}, "orders-api"),
    ({"app.kubernetes.io/instance": "orders-blue", "app.kubernetes.io/name": "x"},
     {"resource.opentelemetry.io/service.name": "checkout"}, "checkout"),
], ids=["owner", "label-name", "annotation"])
def test_tracer_spans_carry_the_owner_workload(cluster, tmp_path, labels, annotations,
                                               service):
    """No CRI socket (--cri-socket=): the API server alone names the pod."""
    if os.geteuid() != 0:
        pytest.fail("the tracer test needs root (BPF, cgroups)")
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} is missing: run make first")
    ns = uniq("trace")
    cluster.namespace(ns)
    sel = {"matchLabels": {"app": "api"}}
    dep = cluster.create(ns, "Deployment", "orders", {"selector": sel, "template": template({"app": "api"})})
    rs = cluster.create(ns, "ReplicaSet", "orders-6c9d", {"selector": sel,
                                                         "template": template({"app": "api"})}, owner=dep)
    pod = cluster.pod(ns, "orders-6c9d-q7w2e", NODE, owner=rs, labels={"app": "api", **labels},
                      annotations=annotations)
    uid, cid = pod["metadata"]["uid"], secrets.token_hex(32)
    cg = (f"{cgroup2_mount()}/kubepods.slice/kubepods-besteffort.slice/"
          f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope")
    made = []
    make_cgroup(cg, made)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    srv = Server("python")
    srv.env = env
    srv.cmd = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *srv.cmd]
    kc = cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))
    t = Tracer("--cgroup", cg, "--kubeconfig", kc, "--node-name", NODE, "--cri-socket=",
               "--log-level", "debug")
    try:
        srv.start()
        t.start()
        deadline = time.time() + 20
        while b"pods on node node-a" not in t.stderr and time.time() < deadline:
            time.sleep(0.1)
        assert curl(srv.url + "/hello") == 200
        (s,) = t.wait_for(lambda x: isinstance(x, Span) and
                          x.resource.get("k8s.pod.uid") == uid)
    finally:
        rc = t.stop()
        srv.stop()
        remove_cgroups(made)
    assert rc == 0, t.stderr.decode(errors="replace")
    r = s.resource
    assert r["k8s.deployment.name"] == "orders", r
    assert r["k8s.replicaset.name"] == "orders-6c9d"
    assert r["k8s.pod.name"] == "orders-6c9d-q7w2e"
    assert r["k8s.namespace.name"] == ns
    assert r["k8s.node.name"] == NODE
    assert r["service.name"] == service
    assert r["container.id"] == cid


def test_tracer_kubeconfig_errors_are_one_line(tmp_path):
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} is missing: run make first")
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    bad = tmp_path / "bad.kubeconfig"
    bad.write_text("current-context: nope\ncontexts: []\n")
    cases = [
        (["--kubeconfig", str(tmp_path / "missing")], "k8s.kubeconfig: kubeconfig"),
        (["--kubeconfig", str(bad)], 'current-context "nope" not found'),
        (["--k8s", "true"], "k8s.enabled is true but not in a cluster"),
    ]
    for args, want in cases:
        r = subprocess.run([BINARY, "run", "--duration", "1s", "--cri-socket=", *args],
                           capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 1, (args, r.stderr)
        assert want in r.stderr, (args, r.stderr)
