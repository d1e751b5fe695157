"""`kubectl ebpftrace attach <pod>` end to end on a real node: a real
kube-apiserver + etcd (lib/k8s_cluster.py), a real kubelet
(lib/kubelet.py, built from the same k8s.io/kubernetes version) on the
real containerd of these tests, the target an HTTP server pod the kubelet
runs, and the tracer pod made from an OCI image of the ebpftrace binary
under test. The real kubectl runs the plugin; the spans of the target
come back through the tracer pod's log stream (API server -> kubelet ->
containerd log file), and the tracer pod is deleted at the end.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import uuid

import pytest

from lib.k8s_cluster import ETCD, ApiServer, Etcd, apiserver_binary, free_port, make_pki
from lib.kubelet import TRACER_IMAGE, Kubelet, build_tracer_image, setup_cni
from lib.peers import curl
from lib.tracer import BINARY, Span

NODE = "node-real"
SERVER_IMAGE = "localhost/ebpftrace/goserver:1"


@pytest.fixture(scope="module")
def node(containerd):
    if not os.path.exists(ETCD):
        pytest.fail(f"{ETCD} missing: apt-get install etcd-server (make deps)")
    d = tempfile.mkdtemp(prefix="ebt-node-", dir="/tmp")
    make_pki(d)
    etcd = Etcd(d).start()
    api = ApiServer(d, apiserver_binary(), etcd)
    kubelet = None
    try:
        api.start(extra=["--kubelet-preferred-address-types=InternalIP"])
        setup_cni(containerd)
        containerd.import_images([build_tracer_image(d, BINARY)])
        kubelet = Kubelet(api, containerd, NODE, d).start()
        yield api, kubelet
    finally:
        if kubelet:
            kubelet.stop()
        api.stop()
        etcd.stop()
        remove_sandboxes(containerd)
        subprocess.run(["ip", "link", "del", "ebtcni0"], capture_output=True)
        unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)


def remove_sandboxes(containerd):
    """The pods the kubelet left running when it was stopped."""
    for sb in containerd.cri.list_pods():
        try:
            containerd.cri.remove_pod(sb.id)
        except Exception as e:  # noqa: BLE001 - best effort, reported
            print(f"could not remove sandbox {sb.id}: {e}")


def unmount_under(d):
    """The kubelet makes its root dir a (shared) bind mount."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for p in sorted((p for p in points if p.startswith(d + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def wait(pred, what, timeout, on_fail=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout}s\n{on_fail()}")


def pod_state(api, ns, name):
    try:
        return api.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def test_kubectl_ebpftrace_attach_on_a_real_kubelet(node, tmp_path):
    api, kubelet = node
    ns = f"real-{uuid.uuid4().hex[:6]}"
    api.namespace(ns)
    port = free_port()
    api.request("POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": ns},
        "spec": {"nodeName": NODE, "hostNetwork": True, "restartPolicy": "Never",
                 "containers": [{"name": "app", "image": SERVER_IMAGE,
                                 "imagePullPolicy": "IfNotPresent", "args": [str(port)]}]}})
    wait(lambda: curl(f"http://127.0.0.1:{port}/warm") in (200, 404), "target pod serving",
         60, lambda: json.dumps((pod_state(api, ns, "web") or {}).get("status"))[:2000]
         + "\n" + kubelet.tail())

    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(BINARY, bindir / "kubectl-ebpftrace")
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env["PATH"] = f"{bindir}:{env['PATH']}"
    env["KUBECONFIG"] = api.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))
    proc = subprocess.Popen(
        ["kubectl", "ebpftrace", "attach", "web", "-n", ns, "--cri-socket=",
         "--image", TRACER_IMAGE, "--node-cri-socket", kubelet.ctd.sock,
         "--duration", "40s", "--format", "json", "--start-timeout", "90s"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = [], []
    threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True).start()
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    dump = lambda: "stdout:\n" + "".join(out)[-3000:] + "\nstderr:\n" + "".join(err)[-3000:]  # noqa: E731
    try:
        wait(lambda: any("programs attached, ready" in line for line in out),
             "the remote tracer's ready line in the streamed log", 120,
             lambda: dump() + "\n" + kubelet.tail())
        spans = []

        def got():
            curl(f"http://127.0.0.1:{port}/users/42")
            for line in list(out):
                if line.startswith("{") and "traceId" in line and "/users/" in line:
                    spans.append(Span(json.loads(line)))
            return spans
        wait(got, "a span of the target in the streamed output", 30, dump)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    s = spans[0]
    assert s.kind == 2, s.raw  # server
    assert s.attrs.get("url.path") == "/users/42", s.raw
    assert s.resource.get("k8s.pod.name") == "web", s.raw
    assert s.resource.get("k8s.namespace.name") == ns, s.raw
    assert proc.returncode == 0, dump()
    tracer = [line for line in err if "tracer pod" in line and "deleted" in line]
    assert tracer, dump()
    left = api.request("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector="
                       "ebpftrace.io%2Fattach%3Dtrue")["items"]
    wait(lambda: not api.request("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector="
                                 "ebpftrace.io%2Fattach%3Dtrue")["items"],
         "the tracer pod removed by the kubelet", 60, lambda: json.dumps(left)[:2000])
