"""`ebpftrace attach <pod>` against a real containerd: the pod is found
through CRI, only its containers are traced, and the spans carry the pod."""
import subprocess
import uuid

from lib.peers import curl
from lib.tracer import BINARY, Tracer


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def attach(sock, *args):
    t = Tracer()
    t.args = [BINARY, "attach", *args, "--cri-socket", sock, "--format", "json"]
    return t.start()


def test_attach_traces_only_that_pod(containerd):
    ns = uniq("att")
    target = containerd.run_pod(uniq("target"), ns)
    other = containerd.run_pod(uniq("other"), ns)
    t = attach(containerd.sock, target.name, "-n", ns)
    try:
        assert curl(other.url + "/hello") == 200
        assert curl(target.url + "/users/7") == 200
        (s,) = t.wait_for(lambda x: x.kind == 2 and x.resource.get("k8s.pod.name") == target.name)
        assert s.name == "GET /users/{id}"
        assert s.resource["k8s.namespace.name"] == ns
        assert s.resource["container.id"] == target.cid
        import time; time.sleep(1)
        assert not [x for x in t.all_spans() if x.resource.get("k8s.pod.name") == other.name]
    finally:
        assert t.stop() == 0, t.stderr.decode(errors="replace")
    assert b"attach: pod " + f"{ns}/{target.name}".encode() in t.stderr


def test_attach_container_name_filter(containerd):
    ns = uniq("attc")
    pod = containerd.run_pod(uniq("named"), ns)
    t = attach(containerd.sock, pod.name, "-n", ns, "--container", pod.container)
    try:
        assert curl(pod.url + "/hello") == 200
        (s,) = t.wait_for(lambda x: x.kind == 2 and x.resource.get("container.id") == pod.cid)
        assert s.resource["k8s.container.name"] == pod.container
    finally:
        assert t.stop() == 0


def run_attach(sock, *args):
    return subprocess.run([BINARY, "attach", *args, "--cri-socket", sock, "--duration", "2s"],
                          capture_output=True, text=True, timeout=60)


def test_attach_unknown_pod_or_container_is_one_clear_line(containerd):
    r = run_attach(containerd.sock, "no-such-pod", "-n", "nowhere")
    assert r.returncode == 1
    assert "no pod nowhere/no-such-pod on this node" in r.stderr, r.stderr
    pod = containerd.run_pod(uniq("nc"), uniq("attn"))
    r = run_attach(containerd.sock, pod.name, "-n", pod.namespace, "--container", "nope")
    assert r.returncode == 1 and "with container nope" in r.stderr, r.stderr


def test_attach_needs_a_pod_or_a_container_id(containerd, tmp_path):
    r = subprocess.run([BINARY, "attach"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "give a pod" in r.stderr
    r = run_attach(str(tmp_path / "missing.sock"), "p")
    assert r.returncode == 1 and "does not exist" in r.stderr, r.stderr
