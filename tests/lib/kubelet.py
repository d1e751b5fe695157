"""A real kubelet for the remote attach test: built from the same
k8s.io/kubernetes module version as kube-apiserver (tests/k8s/
build-apiserver.sh kubelet, cached outside the repository), registered
with the test API server (lib/k8s_cluster.py) as its own node, running
pods on the real containerd of tests/containers (lib/cri.py).

Settings for this machine: cgroupfs driver on a hybrid cgroup host
(failCgroupV1: false), no swap check, anonymous + AlwaysAllow on the
kubelet's own API (the API server reaches it for pods/log without a
client certificate; the kubelet's self-signed serving certificate is not
verified as the API server has no --kubelet-certificate-authority). The
kubelet listens on the host's own (default route) address, its node IP,
as it refuses a loopback one; the API server is started with
--kubelet-preferred-address-types=InternalIP, as the node name does not
resolve. Pod networking: CNI
bridge + host-local + loopback from github.com/containernetworking/
plugins, built into the same cache, with a 10.89.0.0/24 range.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from .k8s_cluster import HERE as K8S_HERE, free_port
from .oci import build_image

CACHE = os.environ.get("EBPFTRACE_CACHE", os.path.expanduser("~/.cache/ebpftrace"))
CNI_VERSION = "v1.10.0"
CNI_PLUGINS = ("main/bridge", "main/loopback", "ipam/host-local")
TRACER_IMAGE = "localhost/ebpftrace/tracer:test"


def host_ip():
    """This host's address on its default route."""
    out = subprocess.run(["ip", "-o", "route", "get", "1.1.1.1"], capture_output=True,
                         text=True).stdout.split()
    if "src" not in out:
        pytest.fail(f"no default route source address for the kubelet: {out}")
    return out[out.index("src") + 1]


def kubelet_binary():
    r = subprocess.run([os.path.join(K8S_HERE, "build-apiserver.sh"), "kubelet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("kubelet could not be built (tests/k8s/build-apiserver.sh "
                    "kubelet):\n" + r.stderr[-3000:])
    return r.stdout.strip().splitlines()[-1]


def cni_plugins():
    """bridge, loopback, host-local, built once from the Go module."""
    out = os.path.join(CACHE, "bin", f"cni-{CNI_VERSION}")
    if all(os.path.exists(os.path.join(out, p.split("/")[1])) for p in CNI_PLUGINS):
        return out
    src = os.path.join(CACHE, "src", f"cni-{CNI_VERSION}")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "go.mod"), "w") as f:
        f.write("module ebpftrace/cni\n\ngo 1.22\n")
    env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=mod",
               GOWORK="off")
    steps = [["go", "get", f"github.com/containernetworking/plugins@{CNI_VERSION}"]]
    steps += [["go", "build", "-o", out + "/",
               f"github.com/containernetworking/plugins/plugins/{p}"] for p in CNI_PLUGINS]
    os.makedirs(out, exist_ok=True)
    for cmd in steps:
        r = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"CNI plugins could not be built ({' '.join(cmd)}):\n"
                        + r.stderr[-3000:])
    return out


def setup_cni(containerd):
    """The harness's containerd reads <dir>/cni-conf and <dir>/cni-bin."""
    for name in os.listdir(cni_plugins()):
        shutil.copy2(os.path.join(cni_plugins(), name),
                     os.path.join(containerd.dir, "cni-bin", name))
    conf = {"cniVersion": "1.0.0", "name": "ebpftrace-test", "plugins": [{
        "type": "bridge", "bridge": "ebtcni0", "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.0.0/24"}]],
                 "dataDir": os.path.join(containerd.dir, "cni-ipam")}}]}
    with open(os.path.join(containerd.dir, "cni-conf", "10-ebpftrace.conflist"), "w") as f:
        json.dump(conf, f)


def _libs(binary):
    """The shared libraries binary loads (ldd), and the dynamic loader."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libs.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def tracer_image_files(binary):
    """/usr/bin/ebpftrace and its shared libraries at the paths ldd shows
    (so the loader finds them as on this host), for build_image."""
    files = {}
    with open(binary, "rb") as f:
        files["/usr/bin/ebpftrace"] = (f.read(), 0o755)
    for lib in _libs(binary):
        with open(os.path.realpath(lib), "rb") as f:
            files[lib] = (f.read(), 0o755)
    return files


def build_tracer_image(workdir, binary):
    """An OCI archive of tracer_image_files(binary)."""
    files = tracer_image_files(binary)
    tar = os.path.join(workdir, "tracer.tar")
    build_image(tar, TRACER_IMAGE, files, ["/usr/bin/ebpftrace"],
                env=["PATH=/usr/bin:/bin"])
    return tar


class Kubelet:
    def __init__(self, api, containerd, node, workdir):
        self.api, self.ctd, self.node, self.dir = api, containerd, node, workdir
        self.port = free_port()
        self.ip = host_ip()
        self.proc = None
        self.log_path = os.path.join(workdir, "kubelet.log")

    def config(self):
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "cgroupDriver": "cgroupfs", "failSwapOn": False, "failCgroupV1": False,
            "containerRuntimeEndpoint": "unix://" + self.ctd.sock,
            "authentication": {"anonymous": {"enabled": True},
                               "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "address": self.ip, "port": self.port, "readOnlyPort": 0,
            "healthzPort": free_port(), "healthzBindAddress": "127.0.0.1",
            "resolvConf": "", "enforceNodeAllocatable": [],
            "serializeImagePulls": False, "localStorageCapacityIsolation": False,
            # a test machine's disk may be fuller than the defaults allow
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        }

    def start(self, timeout=90):
        cfg = os.path.join(self.dir, "kubelet.json")
        with open(cfg, "w") as f:
            json.dump(self.config(), f)
        kc = self.api.admin_kubeconfig(os.path.join(self.dir, "kubelet.kubeconfig"))
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [kubelet_binary(), "--config", cfg, "--kubeconfig", kc,
             "--root-dir", os.path.join(self.dir, "root"),
             "--cert-dir", os.path.join(self.dir, "pki"),
             "--hostname-override", self.node, "--node-ip", self.ip, "--v", "1"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"kubelet exited {self.proc.returncode}:\n{self.tail()}")
            if self.ready():
                return self
            time.sleep(1)
        pytest.fail(f"node {self.node} not Ready within {timeout}s:\n{self.tail()}")

    def ready(self):
        try:
            n = self.api.request("GET", f"/api/v1/nodes/{self.node}")
        except Exception:
            return False
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in n.get("status", {}).get("conditions", []))

    def tail(self, n=4000):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-n:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
