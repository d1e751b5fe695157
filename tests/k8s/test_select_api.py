"""Pod selection from the API server alone (no CRI socket): two pods of
this node made through a real kube-apiserver, each with a real server in
a cgroup named after the pod's uid (as kubelet's systemd driver names
it); the tracer selects by namespace and label selector and must trace
only the matching pod's server."""
import os
import secrets
import time
import uuid

import pytest

from lib.peers import Server, curl
from lib.tracer import BINARY, Span, Tracer
from test_k8s_api import NODE, cgroup2_mount, make_cgroup, remove_cgroups


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def pod_server(cluster, ns, name, labels, made):
    pod = cluster.pod(ns, name, NODE, labels=labels)
    uid, cid = pod["metadata"]["uid"], secrets.token_hex(32)
    cg = (f"{cgroup2_mount()}/kubepods.slice/kubepods-besteffort.slice/"
          f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope")
    make_cgroup(cg, made)
    srv = Server("python")
    srv.env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    srv.cmd = ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *srv.cmd]
    return uid, srv


def test_selection_by_namespace_and_labels_from_the_api(cluster, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the tracer test needs root (BPF, cgroups)")
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} is missing: run make first")
    keep, other = uniq("keep"), uniq("other")
    cluster.namespace(keep)
    cluster.namespace(other)
    made = []
    want_uid, want = pod_server(cluster, keep, "api-1", {"app": "api", "tier": "back"}, made)
    _, wrong_label = pod_server(cluster, keep, "web-1", {"app": "web"}, made)
    _, wrong_ns = pod_server(cluster, other, "api-2", {"app": "api"}, made)
    kc = cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))
    t = Tracer("--kubeconfig", kc, "--node-name", NODE, "--cri-socket=",
               "--namespaces", keep, "--pod-selector", "app=api,tier in (back)")
    servers = (want, wrong_label, wrong_ns)
    try:
        for s in servers:
            s.start()
        t.start()
        deadline = time.time() + 15
        while time.time() < deadline and not any(
                isinstance(x, Span) for x in t.all_spans()):
            for s in servers:
                assert curl(s.url + "/hello") == 200
            time.sleep(0.5)
        for s in servers:
            assert curl(s.url + "/hello") == 200
        t.wait_for(lambda x: isinstance(x, Span) and
                   x.resource.get("k8s.pod.uid") == want_uid, count=2)
        time.sleep(1)
    finally:
        rc = t.stop()
        for s in servers:
            s.stop()
        remove_cgroups(made)
    assert rc == 0, t.stderr.decode(errors="replace")
    spans = [x for x in t.all_spans() if isinstance(x, Span)]
    assert spans, t.stderr.decode(errors="replace")[-2000:]
    for x in spans:
        assert x.resource.get("k8s.pod.uid") == want_uid, x.resource
        assert x.resource["k8s.namespace.name"] == keep
