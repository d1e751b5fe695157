"""A real Kubernetes API server for the client tests: etcd (Debian's
etcd-server) and kube-apiserver built from the k8s.io/kubernetes Go module
(tests/k8s/build-apiserver.sh, cached outside the repository), with
certificates, a service-account key pair and a static token file made here
by openssl. No kubelet, scheduler or controller-manager runs: the tests
create pods with spec.nodeName set and write owner chains (Deployment ->
ReplicaSet -> Pod, ...) themselves, as the controllers would.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from .tracer import ROOT

HERE = os.path.join(ROOT, "tests", "k8s")
BUILD = os.environ.get("EBPFTRACE_BUILD", os.path.join(ROOT, "build"))
DRIVER = os.environ.get(
    "K8S_DRIVER",
    os.path.join(os.path.dirname(os.environ["EBPFTRACE"]) if "EBPFTRACE" in os.environ
                 else BUILD, "k8s_driver"))
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
FORBIDDEN_TOKEN = "reader-token-0123456789"
ADMIN_TOKEN = "admin-token-9876543210"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {r.stderr}")
    return r.stdout


def make_pki(d):
    """CA, serving cert (127.0.0.1), admin client cert (system:masters),
    service-account signing key pair."""
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\n")
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
       "-subj", "/CN=ebpftrace-test-ca", "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, subj, extfile in (("server", "/CN=kube-apiserver", ext),
                                ("admin", "/O=system:masters/CN=admin", None)):
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", subj,
           "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        cmd = ["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt",
               "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
               "-out", f"{name}.crt"]
        if extfile:
            cmd += ["-extfile", extfile]
        sh(*cmd, cwd=d)
    sh("openssl", "genrsa", "-out", "sa.key", "2048", cwd=d)
    sh("openssl", "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    with open(os.path.join(d, "tokens.csv"), "w") as f:
        f.write(f"{FORBIDDEN_TOKEN},reader,reader-uid\n"
                f'{ADMIN_TOKEN},admin2,admin2-uid,"system:masters"\n')


def apiserver_binary():
    r = subprocess.run([os.path.join(HERE, "build-apiserver.sh")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("kube-apiserver could not be built (tests/k8s/build-apiserver.sh):\n"
                    + r.stderr[-3000:])
    return r.stdout.strip().splitlines()[-1]


class Etcd:
    def __init__(self, d):
        self.dir = d
        self.port = free_port()
        self.peer = free_port()
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(os.path.join(self.dir, "etcd.log"), "ab")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "t", "--data-dir", os.path.join(self.dir, "etcd"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{self.peer}"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        raise AssertionError("etcd did not start: " + self.tail())

    def tail(self):
        with open(os.path.join(self.dir, "etcd.log"), errors="replace") as f:
            return f.read()[-3000:]

    def _v3(self, path, body):
        req = urllib.request.Request(self.url + "/v3/" + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    def compact_now(self):
        """Compacts etcd's history up to its current revision."""
        rev = int(self._v3("kv/range", {"key": "AA=="})["header"]["revision"])
        self._v3("kv/compaction", {"revision": str(rev), "physical": True})
        return rev

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


class ApiServer:
    def __init__(self, d, binary, etcd):
        self.dir = d
        self.binary = binary
        self.etcd = etcd
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.proc = None
        self.extra = []
        self.ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(d, "admin.crt"), os.path.join(d, "admin.key"))

    def args(self):
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        return [self.binary, "--etcd-servers", self.etcd.url,
                "--bind-address", "127.0.0.1", "--secure-port", str(self.port),
                "--advertise-address", "127.0.0.1",
                "--tls-cert-file", p("server.crt"), "--tls-private-key-file", p("server.key"),
                "--client-ca-file", p("ca.crt"), "--token-auth-file", p("tokens.csv"),
                "--service-account-issuer", "https://kubernetes.default.svc",
                "--service-account-key-file", p("sa.pub"),
                "--service-account-signing-key-file", p("sa.key"),
                "--service-cluster-ip-range", "10.96.0.0/24",
                # loopback only: no kubernetes Service endpoints to reconcile
                "--endpoint-reconciler-type", "none",
                "--authorization-mode", "RBAC",
                # no controller-manager creates the default service account
                "--disable-admission-plugins", "ServiceAccount",
                # as kubeadm does: remote attach's --privileged fallback
                "--allow-privileged=true",
                *self.extra]

    def start(self, extra=None):
        if extra is not None:
            self.extra = extra
        log = open(os.path.join(self.dir, "apiserver.log"), "ab")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("kube-apiserver exited: " + self.tail())
            try:
                if self.request("GET", "/readyz") == "ok":
                    return self
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.5)
        raise AssertionError("kube-apiserver not ready in 90s: " + self.tail())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, extra=None):
        self.stop()
        return self.start(extra)

    def tail(self):
        with open(os.path.join(self.dir, "apiserver.log"), errors="replace") as f:
            return f.read()[-4000:]

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": content_type})
        raw = urllib.request.urlopen(req, context=self.ctx, timeout=20).read()
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode()

    # ---- objects, written the way the controllers would -------------------
    def namespace(self, ns):
        try:
            self.request("POST", "/api/v1/namespaces",
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise

    def create(self, ns, kind, name, spec, owner=None, labels=None, annotations=None):
        group, plural = KINDS[kind]
        meta = {"name": name, "namespace": ns, "labels": labels or {"app": name}}
        if annotations:
            meta["annotations"] = annotations
        if owner:
            meta["ownerReferences"] = [{
                "apiVersion": owner["apiVersion"], "kind": owner["kind"],
                "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                "controller": True, "blockOwnerDeletion": True}]
        body = {"apiVersion": group_version(group), "kind": kind, "metadata": meta,
                "spec": spec}
        return self.request("POST", f"{prefix(group)}/namespaces/{ns}/{plural}", body)

    def pod(self, ns, name, node, owner=None, labels=None, annotations=None, ip=None):
        p = self.create(ns, "Pod", name, pod_spec(node), owner, labels, annotations)
        if ip:
            p["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}
            p = self.request("PUT", f"/api/v1/namespaces/{ns}/pods/{name}/status", p)
        return p

    def delete_pod(self, ns, name):
        self.request("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=0")

    def patch_labels(self, ns, name, labels):
        self.request("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}",
                     {"metadata": {"labels": labels}},
                     content_type="application/merge-patch+json")

    def kubeconfig(self, path, user, cluster=None):
        """user: {"client-certificate": ..., ...}"""
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "t",
               "clusters": [{"name": "c", "cluster": cluster or {
                   "server": self.url,
                   "certificate-authority": os.path.join(self.dir, "ca.crt")}}],
               "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
               "users": [{"name": "u", "user": user}]}
        with open(path, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        return path

    def admin_kubeconfig(self, path):
        return self.kubeconfig(path, {
            "client-certificate": os.path.join(self.dir, "admin.crt"),
            "client-key": os.path.join(self.dir, "admin.key")})


KINDS = {
    "Pod": ("", "pods"),
    "Deployment": ("apps", "deployments"),
    "ReplicaSet": ("apps", "replicasets"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
}


def group_version(group):
    return f"{group}/v1" if group else "v1"


def prefix(group):
    return f"/apis/{group}/v1" if group else "/api/v1"


def pod_spec(node):
    return {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}]}


def template(labels):
    return {"metadata": {"labels": labels}, "spec": {
        "restartPolicy": "Always", "containers": [{"name": "app", "image": "app:1"}]}}


class Driver:
    """tests/tools/k8s_driver: the client's published pods as JSON lines."""

    def __init__(self, kubeconfig, node, backoff_max_ms=1000, watch_s=300):
        if not os.path.exists(DRIVER):
            pytest.fail(f"{DRIVER} is missing: make BUILD=... k8s_driver")
        self.proc = subprocess.Popen(
            [DRIVER, kubeconfig, node, str(backoff_max_ms), str(watch_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.states = []
        self.err = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.states.append(json.loads(line))

    def _read_err(self):
        for line in self.proc.stderr:
            with self._lock:
                self.err.append(line.decode(errors="replace").rstrip())

    def last(self):
        with self._lock:
            return self.states[-1] if self.states else None

    def stderr(self):
        with self._lock:
            return "\n".join(self.err)

    def wait(self, pred, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.last()
            if s is not None and pred(s):
                return s
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"driver: {what} not seen in {timeout}s; last state "
                             f"{json.dumps(self.last())[:3000]}\nstderr:\n"
                             f"{self.stderr()[-3000:]}")

    def stop(self):
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("driver did not stop within 20s of stdin closing")
        assert rc == 0, f"driver exit {rc}: {self.stderr()[-2000:]}"


def by_name(state):
    return {f"{p['namespace']}/{p['name']}": p for p in state["pods"]}
