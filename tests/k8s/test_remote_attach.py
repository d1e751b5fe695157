"""`ebpftrace attach <pod>` for a pod on another node, against a real
kube-apiserver and etcd (lib/k8s_cluster.py).

No kubelet runs here: the tests create a Node and a target pod bound to
it, run attach, and check the tracer pod the API server stores (node,
hostPID, capabilities, host mounts, command, labels, deadline), that it is
deleted on SIGINT, at the end of --duration and when it finished, and
that RBAC refusals name the verb and resource, and that secrets and
certificate files reach it through a Secret it owns, never its spec. To
follow the tracer pod's log, the Node's kubelet endpoint is a small HTTPS
server in this test that answers the one kubelet call the API server
makes for `pods/<p>/log` (/containerLogs/<ns>/<pod>/<container>); the test
plays the kubelet's other part by writing the pod's status (Running, then
terminated).
"""
import base64
import http.server
import json
import os
import signal
import ssl
import subprocess
import threading
import time
import urllib.error
import uuid

import pytest

from lib.k8s_cluster import FORBIDDEN_TOKEN
from lib.tracer import BINARY, ROOT

NODE = "node-far"
IMAGE = "registry.invalid/ebpftrace:test"


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class FakeKubeletLogs:
    """HTTPS /containerLogs/... as a kubelet serves it: RFC 3339 timestamped
    lines when asked for timestamps (the lines after the first share one
    timestamp, as the lines of one write do); the whole log on every
    request; the stream stays open for hold seconds."""

    def __init__(self, certdir, lines, hold=0.0):
        self.lines = lines
        self.hold = hold
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                ts = "timestamps=true" in self.path
                for i, line in enumerate(outer.lines):
                    stamp = f"2026-01-02T03:04:{min(i, 1):02d}.000000001Z " if ts else ""
                    self.wfile.write(f"{stamp}{line}\n".encode())
                    self.wfile.flush()
                deadline = time.time() + outer.hold
                while time.time() < deadline:
                    time.sleep(0.1)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certdir, "server.crt"),
                            os.path.join(certdir, "server.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()


def make_node(api, name, kubelet_port=10250):
    try:
        api.request("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise
    node = api.request("GET", f"/api/v1/nodes/{name}")
    node["status"] = {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                      {"type": "Hostname", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "test"}]}
    api.request("PUT", f"/api/v1/nodes/{name}/status", node)


def tracer_pods(api, ns):
    r = api.request("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=ebpftrace.io%2Fattach%3Dtrue")
    return r["items"]


def wait_tracer_pod(api, ns, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        items = tracer_pods(api, ns)
        if items:
            return items[0]
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    out, err = proc.communicate(timeout=5) if proc.poll() is not None else ("", "")
    raise AssertionError(f"no tracer pod in {ns} within {timeout}s; attach exit "
                         f"{proc.poll()}\nstdout:{out}\nstderr:{err}")


def gone_or_deleting(api, ns, name):
    try:
        p = api.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    except urllib.error.HTTPError as e:
        return e.code == 404
    return bool(p["metadata"].get("deletionTimestamp"))


def set_container_state(api, ns, name, state, phase):
    p = api.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    p["status"] = {"phase": phase, "containerStatuses": [{
        "name": "ebpftrace", "image": IMAGE, "imageID": "", "ready": phase == "Running",
        "restartCount": 0, "state": state}]}
    api.request("PUT", f"/api/v1/namespaces/{ns}/pods/{name}/status", p)


def attach(kubeconfig, ns, pod, *extra, binary=BINARY, env_extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["KUBECONFIG"] = kubeconfig
    env.update(env_extra or {})
    cmd = [binary, "attach", pod, "-n", ns, "--cri-socket=", "--image", IMAGE,
           "--format", "json", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def attach_and_wait(api, kubeconfig, ns, pod, *extra, env_extra=None):
    """attach, and the tracer pod once the API server has it."""
    proc = attach(kubeconfig, ns, pod, *extra, env_extra=env_extra)
    try:
        return proc, wait_tracer_pod(api, ns, proc)
    except AssertionError:
        proc.kill()
        raise


def finish(proc, timeout=40):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"attach did not end within {timeout}s\nstdout:{out}\n"
                             f"stderr:{err}")
    return proc.returncode, out, err


@pytest.fixture
def target(cluster):
    ns = uniq("ra")
    cluster.namespace(ns)
    make_node(cluster, NODE)
    cluster.pod(ns, "web", NODE)
    return ns


@pytest.fixture
def admin_kc(cluster, tmp_path):
    return cluster.admin_kubeconfig(str(tmp_path / "admin.kubeconfig"))


def test_tracer_pod_spec_and_sigint_deletes_it(cluster, target, admin_kc):
    ns = target
    proc, pod = attach_and_wait(cluster, admin_kc, ns, "web", "--container", "app",
                                "--duration", "90s", "--start-timeout", "60s")
    name = pod["metadata"]["name"]
    spec = pod["spec"]
    c = spec["containers"][0]
    labels = pod["metadata"]["labels"]
    assert name.startswith("ebpftrace-attach-web-"), name
    assert labels["ebpftrace.io/attach"] == "true"
    assert labels["ebpftrace.io/attach-session"] == name.rsplit("-", 1)[1]
    assert pod["metadata"]["annotations"]["ebpftrace.io/attach-target"] == f"{ns}/web"
    assert spec["nodeName"] == NODE
    assert spec["hostPID"] is True
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 90 + 60
    assert spec["automountServiceAccountToken"] is False
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert c["image"] == IMAGE
    assert c["command"] == ["ebpftrace", "attach", "web", "-n", ns, "--container", "app",
                            "--duration", "90s", "--format", "json", "--remote", "never"]
    sc = c["securityContext"]
    assert sc["privileged"] is False
    assert sc["capabilities"] == {"drop": ["ALL"],
                                  "add": ["BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"btf": "/sys/kernel/btf", "tracing": "/sys/kernel/tracing",
                      "debug": "/sys/kernel/debug", "cgroup": "/sys/fs/cgroup",
                      "cri-socket": "/run/containerd/containerd.sock"}
    assert all(m["readOnly"] for m in c["volumeMounts"])
    vols = {v["name"]: v["hostPath"] for v in spec["volumes"]}
    assert vols["cgroup"] == {"path": "/sys/fs/cgroup", "type": "Directory"}
    assert vols["cri-socket"] == {"path": "/run/containerd/containerd.sock",
                                  "type": "Socket"}
    time.sleep(1)
    assert proc.poll() is None, "attach ended while the tracer pod was pending"
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert gone_or_deleting(cluster, ns, name), "tracer pod left after SIGINT"
    assert f"tracer pod {ns}/{name} deleted" in err
    assert tracer_pods(cluster, ns) == [], "a pending tracer pod is deleted at once"


def test_privileged_fallback_and_tracer_namespace(cluster, target, admin_kc):
    ns = target
    tns = uniq("tracers")
    cluster.namespace(tns)
    proc = attach(admin_kc, ns, "web", "--privileged", "--tracer-namespace", tns,
                  "--start-timeout", "60s")
    try:
        pod = wait_tracer_pod(cluster, tns, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc)
    sc = pod["spec"]["containers"][0]["securityContext"]
    assert sc["privileged"] is True and "capabilities" not in sc
    assert pod["spec"]["activeDeadlineSeconds"] == 3600 + 60  # attach.max_duration
    assert "--duration" not in pod["spec"]["containers"][0]["command"]
    assert rc == 0, err
    assert tracer_pods(cluster, tns) == []


def test_start_timeout_names_the_node_and_deletes(cluster, target, admin_kc):
    proc = attach(admin_kc, target, "web", "--start-timeout", "2s")
    rc, out, err = finish(proc)
    assert rc == 1
    assert "did not start within 2s" in err and NODE in err, err
    assert tracer_pods(cluster, target) == []


def test_image_pull_backoff_is_reported(cluster, target, admin_kc):
    ns = target
    proc = attach(admin_kc, ns, "web", "--start-timeout", "60s")
    name = wait_tracer_pod(cluster, ns, proc)["metadata"]["name"]
    set_container_state(cluster, ns, name, {"waiting": {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{IMAGE}"'}}, "Pending")
    rc, out, err = finish(proc)
    assert rc == 1
    assert "cannot run: Pending: ImagePullBackOff: Back-off pulling image" in err, err
    assert tracer_pods(cluster, ns) == []


def test_logs_streamed_and_remote_exit_status(cluster, target, admin_kc):
    """The tracer pod runs (status written here), its log comes through the
    API server from the node's kubelet endpoint, once per line even across
    a reconnect (lines sharing a timestamp included); it ends with exit
    code 3: attach returns 3, deletes it."""
    ns = target
    lines = ['{"name":"GET /a","status":200}', '{"name":"GET /b","status":500}',
             '{"name":"GET /b","status":500}', "ebpftrace: done"]
    kubelet = FakeKubeletLogs(cluster.dir, lines)
    try:
        make_node(cluster, NODE, kubelet.port)
        proc = attach(admin_kc, ns, "web", "--start-timeout", "60s")
        name = wait_tracer_pod(cluster, ns, proc)["metadata"]["name"]
        set_container_state(cluster, ns, name, {"running": {
            "startedAt": "2026-01-02T03:04:00Z"}}, "Running")
        deadline = time.time() + 20
        while len(kubelet.requests) < 2 and time.time() < deadline:
            time.sleep(0.2)  # read once, then reconnected while running
        set_container_state(cluster, ns, name, {"terminated": {
            "exitCode": 3, "reason": "Error", "startedAt": "2026-01-02T03:04:00Z",
            "finishedAt": "2026-01-02T03:04:09Z"}}, "Failed")
        rc, out, err = finish(proc)
    finally:
        make_node(cluster, NODE)
        kubelet.close()
    assert out.splitlines() == lines, f"stdout:{out}\nstderr:{err}"
    assert rc == 3, err
    assert len(kubelet.requests) >= 2, kubelet.requests
    first = kubelet.requests[0]
    assert first.startswith(f"/containerLogs/{ns}/{name}/ebpftrace?"), first
    assert "follow=true" in first and "timestamps=true" in first
    assert any("sinceTime=2026-01-02T03%3A04%3A01Z" in r for r in kubelet.requests[1:]), \
        kubelet.requests
    assert gone_or_deleting(cluster, ns, name)


def test_duration_end_deletes_the_tracer_pod(cluster, target, admin_kc):
    """A running tracer pod whose remote side does not end: attach stops
    --duration (+10 s for the remote tail) after it ran, and deletes it."""
    ns = target
    kubelet = FakeKubeletLogs(cluster.dir, ["one span"], hold=120)
    try:
        make_node(cluster, NODE, kubelet.port)
        proc = attach(admin_kc, ns, "web", "--duration", "2s", "--start-timeout", "60s")
        name = wait_tracer_pod(cluster, ns, proc)["metadata"]["name"]
        set_container_state(cluster, ns, name, {"running": {
            "startedAt": "2026-01-02T03:04:00Z"}}, "Running")
        t0 = time.time()
        rc, out, err = finish(proc, timeout=40)
        took = time.time() - t0
    finally:
        make_node(cluster, NODE)
        kubelet.close()
    assert rc == 0, err
    assert out.splitlines() == ["one span"], f"stdout:{out}\nstderr:{err}"
    assert 2 <= took < 25, took
    pod = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    assert pod["metadata"].get("deletionTimestamp"), "running tracer pod not deleted"
    assert pod["metadata"].get("deletionGracePeriodSeconds") == 3


SECRET_ENV = {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20tok-8d1f",
              "EBPFTRACE_LOKI_PASSWORD": "pw-4c2e"}
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"


def get_secret(api, ns, name):
    try:
        return api.request("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    except urllib.error.HTTPError as e:
        assert e.code == 404, e
        return None


def test_secrets_reach_the_tracer_pod_by_reference(cluster, target, admin_kc, tmp_path):
    """otlp.headers, the Loki password and a certificate file go into a
    Secret named as the tracer pod and owned by it; the pod's spec names
    them (env secretKeyRef, a secret volume) and holds no value; the
    Secret is deleted at the end. --forward-secrets=false makes none."""
    ns = target
    ca = tmp_path / "tempo-ca.pem"
    ca.write_text(CA_PEM)
    flags = ("--otlp-endpoint", "http://tempo.tracing:4318", "--otlp-certificate", str(ca),
             "--loki-endpoint", "http://loki.loki:3100", "--loki-username", "ebpftrace",
             "--loki-tenant", "team-a", "--duration", "90s", "--start-timeout", "60s")
    proc, pod = attach_and_wait(cluster, admin_kc, ns, "web", *flags, env_extra=SECRET_ENV)
    name = pod["metadata"]["name"]
    try:
        deadline = time.time() + 10
        while not (sec := get_secret(cluster, ns, name)) or \
                not sec["metadata"].get("ownerReferences"):
            assert time.time() < deadline, f"secret {name}: {sec}"
            time.sleep(0.2)
    except AssertionError:
        proc.kill()
        raise
    data = {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}
    assert data == {"otlp-headers": SECRET_ENV["OTEL_EXPORTER_OTLP_HEADERS"],
                    "loki-password": "pw-4c2e", "otlp-ca.crt": CA_PEM}
    assert sec["metadata"]["labels"]["ebpftrace.io/attach"] == "true"
    owner = sec["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Pod", name,
                                                             pod["metadata"]["uid"])
    text = json.dumps(pod)
    for secret in ("tok-8d1f", "pw-4c2e", "MIIBtest"):
        assert secret not in text, f"{secret} in the tracer pod's spec"
    c = pod["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs == {"OTEL_EXPORTER_OTLP_HEADERS": {"name": name, "key": "otlp-headers"},
                    "EBPFTRACE_LOKI_PASSWORD": {"name": name, "key": "loki-password"}}
    cmd = c["command"]
    i = cmd.index("--otlp-certificate")
    assert cmd[i + 1] == "/etc/ebpftrace/attach/otlp-ca.crt"
    assert cmd[cmd.index("--loki-tenant") + 1] == "team-a"
    assert cmd[cmd.index("--loki-username") + 1] == "ebpftrace"
    vol = [v for v in pod["spec"]["volumes"] if v["name"] == "attach-secrets"][0]
    assert vol["secret"]["secretName"] == name
    assert vol["secret"]["defaultMode"] == 0o400
    assert {"name": "attach-secrets", "mountPath": "/etc/ebpftrace/attach",
            "readOnly": True} in c["volumeMounts"]
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert get_secret(cluster, ns, name) is None, "secret left after attach ended"

    proc, pod = attach_and_wait(cluster, admin_kc, ns, "web", *flags,
                                "--forward-secrets=false", env_extra=SECRET_ENV)
    name = pod["metadata"]["name"]
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert get_secret(cluster, ns, name) is None
    assert "secretKeyRef" not in json.dumps(pod)
    assert "--otlp-certificate" not in pod["spec"]["containers"][0]["command"]


def test_certificate_too_big_for_a_secret_is_named_before_anything_is_created(
        cluster, target, admin_kc, tmp_path):
    ns = target
    big = tmp_path / "bundle.pem"
    big.write_text(CA_PEM * (300 * 1024 // len(CA_PEM)))
    rc, _, err = finish(attach(admin_kc, ns, "web", "--otlp-endpoint",
                               "http://tempo.tracing:4318", "--otlp-certificate", str(big)))
    assert rc == 1
    assert "otlp.certificate" in err and "bundle.pem: larger than 256 KiB" in err, err
    assert "--forward-secrets=false" in err, err
    assert tracer_pods(cluster, ns) == []


def attach_once_bound(kc, ns, env_extra=None):
    """attach web as the user of kc, again until its new Role binding
    lets it GET the pod (the RBAC authorizer's cache takes it a moment)."""
    deadline = time.time() + 10
    while True:
        rc, out, err = finish(attach(kc, ns, "web", env_extra=env_extra))
        if 'cannot get resource "pods"' not in err or time.time() > deadline:
            return rc, out, err
        time.sleep(0.5)


def role(api, ns, name, user, rules):
    api.request("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name}, "rules": rules})
    api.request("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "User", "name": user,
                      "apiGroup": "rbac.authorization.k8s.io"}]})


def test_forbidden_secret_names_the_rule_and_leaves_no_pod(cluster, target, tmp_path):
    """A user who may run tracer pods but not make Secrets: a one-line
    error that names the refused verb and resource and the way out, and no
    tracer pod is created."""
    ns = target
    role(cluster, ns, "attach-no-secrets", "reader",
         [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "create", "delete"]},
          {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}])
    kc = cluster.kubeconfig(str(tmp_path / "reader.kubeconfig"), {"token": FORBIDDEN_TOKEN})
    rc, out, err = attach_once_bound(kc, ns, env_extra=SECRET_ENV)
    assert rc == 1
    assert 'cannot create resource "secrets"' in err, err
    assert "create, patch and delete on secrets" in err, err
    assert "--forward-secrets=false" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert tracer_pods(cluster, ns) == []


def test_forbidden_get_names_verb_and_resource(cluster, target, tmp_path):
    kc = cluster.kubeconfig(str(tmp_path / "reader.kubeconfig"), {"token": FORBIDDEN_TOKEN})
    rc, out, err = finish(attach(kc, target, "web"))
    assert rc == 1
    assert 'cannot get resource "pods"' in err, err
    assert "RBAC: remote attach needs get, create and delete on pods" in err


def test_forbidden_create_names_verb_and_resource(cluster, target, tmp_path):
    ns = target
    role(cluster, ns, "pod-reader", "reader",
         [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])
    kc = cluster.kubeconfig(str(tmp_path / "reader.kubeconfig"), {"token": FORBIDDEN_TOKEN})
    rc, out, err = attach_once_bound(kc, ns)
    assert rc == 1
    assert 'cannot create resource "pods"' in err, err
    assert f"create tracer pod {ns}/ebpftrace-attach-web-" in err
    assert tracer_pods(cluster, ns) == []


def test_missing_pod_and_no_api_access(cluster, target, admin_kc, tmp_path):
    rc, _, err = finish(attach(admin_kc, target, "nope"))
    assert rc == 1 and f"pod {target}/nope not found" in err, err
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    r = subprocess.run([BINARY, "attach", "web", "-n", target, "--cri-socket="],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "no Kubernetes API access" in r.stderr, r.stderr
    r = subprocess.run([BINARY, "attach", "web", "-n", target, "--cri-socket=",
                        "--remote", "never"], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "CRI socket" in r.stderr, r.stderr


def test_context_flag_picks_the_kubeconfig_context(cluster, target, tmp_path):
    """kubectl's --context: the current-context points nowhere useful, the
    named one at the test API server."""
    good = json.load(open(cluster.admin_kubeconfig(str(tmp_path / "a.kubeconfig"))))
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "broken",
          "clusters": good["clusters"] + [{"name": "nowhere", "cluster": {
              "server": "https://127.0.0.1:1"}}],
          "contexts": good["contexts"] + [{"name": "broken", "context": {
              "cluster": "nowhere", "user": "u"}}],
          "users": good["users"]}
    path = str(tmp_path / "two.kubeconfig")
    with open(path, "w") as f:
        json.dump(kc, f)
    rc, _, err = finish(attach(path, target, "nope"))
    assert rc == 1 and "127.0.0.1:1" in err, err  # current-context used
    rc, _, err = finish(attach(path, target, "nope", "--context", "t"))
    assert rc == 1 and f"pod {target}/nope not found" in err, err
    rc, _, err = finish(attach(path, target, "nope", "--context", "missing"))
    assert rc == 1 and 'context "missing" not found in contexts' in err, err


def test_kubectl_plugin(cluster, target, admin_kc, tmp_path):
    """make install puts kubectl-ebpftrace next to ebpftrace; kubectl finds
    it on PATH and runs `kubectl ebpftrace attach <pod> -n <ns>`."""
    dest = tmp_path / "root"
    build = os.path.dirname(BINARY)
    # -o: install the binary under test as it is, without rebuilding it
    r = subprocess.run(["make", "-s", f"BUILD={build}", "-o", BINARY, f"DESTDIR={dest}",
                        "PREFIX=/usr", "install"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bindir = dest / "usr" / "bin"
    assert os.readlink(bindir / "kubectl-ebpftrace") == "ebpftrace"
    help_out = subprocess.run([str(bindir / "kubectl-ebpftrace")], capture_output=True,
                              text=True)
    assert "usage: kubectl ebpftrace <command>" in help_out.stderr
    kubectl = subprocess.run(["which", "kubectl"], capture_output=True, text=True).stdout.strip()
    if not kubectl:
        pytest.fail("kubectl not on PATH (apt-get install kubectl): the plugin test "
                    "runs the real kubectl")
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env["PATH"] = f"{bindir}:{env['PATH']}"
    env["KUBECONFIG"] = admin_kc
    plugins = subprocess.run([kubectl, "plugin", "list"], env=env, capture_output=True,
                             text=True)
    assert str(bindir / "kubectl-ebpftrace") in plugins.stdout, plugins.stdout + plugins.stderr
    proc = subprocess.Popen([kubectl, "ebpftrace", "attach", "web", "--namespace", target,
                             "--cri-socket=", "--image", IMAGE, "--start-timeout", "60s"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        pod = wait_tracer_pod(cluster, target, proc)
    finally:
        proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert pod["spec"]["nodeName"] == NODE
    assert rc == 0, err
    assert tracer_pods(cluster, target) == []
