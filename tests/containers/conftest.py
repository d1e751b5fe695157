"""A real containerd (Debian's package, with runc) for the CRI tests.

The harness starts its own containerd: root, state, socket and CNI dirs in
a temporary directory, the CRI plugin on, the cgroupfs driver (runc's
default), the overlayfs snapshotter, and our own pause image as the
sandbox image. No registry is reachable, so the images (pause, and the Go
test server) are built here as OCI archives from static binaries and
imported with `ctr images import`. Pods use the node's network, so their
servers answer on 127.0.0.1.

Nothing here skips: a containerd that cannot start fails the tests with
its log.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from lib.oci import build_image
from lib.peers import go_server_binary

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("EBPFTRACE_CACHE", os.path.expanduser("~/.cache/ebpftrace"))
PAUSE_IMAGE = "localhost/ebpftrace/pause:1"
SERVER_IMAGE = "localhost/ebpftrace/goserver:1"
CGROUP_PARENT = "/kubepods/besteffort/pod{uid}"  # kubelet's cgroupfs layout

CONFIG = """version = 2
root = "{dir}/root"
state = "{dir}/state"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{dir}/cni-bin"
    conf_dir = "{dir}/cni-conf"
"""


def _need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is not installed: run tests/deps.sh (Debian "
                    "packages containerd and runc)")
    return path


def _pause_binary():
    out = os.path.join(CACHE, "bin", "ebpftrace-pause")
    src = os.path.join(HERE, "pause.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["cc", "-static", "-O2", "-o", out, src], check=True)
    return out


def _images(workdir):
    pause, server = _pause_binary(), go_server_binary()
    tars = []
    for ref, path, name in [(PAUSE_IMAGE, pause, "/pause"),
                            (SERVER_IMAGE, server, "/goserver")]:
        tar = os.path.join(workdir, ref.split("/")[-1].replace(":", "-") + ".tar")
        with open(path, "rb") as f:
            build_image(tar, ref, {name: (f.read(), 0o755)}, [name])
        tars.append(tar)
    return tars


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pod:
    def __init__(self, name, namespace, uid, pod_id, container, cid, port, log):
        self.name, self.namespace, self.uid = name, namespace, uid
        self.pod_id, self.container, self.cid = pod_id, container, cid
        self.port, self.log = port, log
        self.removed = False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Containerd:
    def __init__(self, workdir):
        self.dir = workdir
        self.sock = os.path.join(workdir, "containerd.sock")
        self.log_path = os.path.join(workdir, "containerd.log")
        self.proc = None
        self.cri = None
        self.pods = []

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError as e:
            return f"(no log: {e})"

    def start(self, timeout=30):
        from lib.cri import Cri
        _need("containerd"), _need("runc"), _need("ctr")
        for d in ("cni-bin", "cni-conf"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        cfg = os.path.join(self.dir, "config.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(dir=self.dir, sock=self.sock, pause=PAUSE_IMAGE))
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["containerd", "--config", cfg],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                self.fail("containerd did not create its socket")
            time.sleep(0.1)
        self.cri = Cri(self.sock)
        try:
            v = self.cri.version()
        except Exception as e:  # grpc.RpcError and friends
            self.fail(f"CRI Version failed: {e}")
        if v.runtime_api_version != "v1":
            self.fail(f"CRI plugin speaks {v.runtime_api_version}, not v1")
        return self

    def fail(self, why):
        self.stop()
        pytest.fail(f"{why}; containerd log ({self.log_path}):\n{self.log_tail()}")

    def import_images(self, tars):
        for tar in tars:
            r = subprocess.run(["ctr", "-a", self.sock, "-n", "k8s.io", "images",
                                "import", tar], capture_output=True, text=True)
            if r.returncode != 0:
                self.fail(f"ctr images import {tar} failed: {r.stderr}")

    def run_pod(self, name, namespace="default", labels=None, annotations=None,
                env=None, container="web"):
        uid, port = str(uuid.uuid4()), free_port()
        log_dir = os.path.join(self.dir, "pods", f"{namespace}_{name}_{uid}")
        os.makedirs(log_dir, exist_ok=True)
        cfg = self.cri.sandbox_config(name, namespace, uid, labels, annotations,
                                      log_dir, CGROUP_PARENT.format(uid=uid))
        pod_id = self.cri.run_pod(cfg)
        cid = self.cri.create_container(pod_id, cfg, container, SERVER_IMAGE,
                                        args=[str(port)], env=env,
                                        log_path=f"{container}.log")
        pod = Pod(name, namespace, uid, pod_id, container, cid, port,
                  os.path.join(log_dir, f"{container}.log"))
        self.pods.append(pod)
        self.cri.start_container(cid)
        self._wait_ready(pod)
        return pod

    def _wait_ready(self, pod, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with open(pod.log, errors="replace") as f:
                    if "READY" in f.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.fail(f"container {pod.container} of pod {pod.name} did not print "
                  f"READY; its log: {pod.log}")

    def remove_pod(self, pod):
        if not pod.removed:
            self.cri.remove_pod(pod.pod_id)
            pod.removed = True
            _remove_cgroups(pod.uid)

    def stop(self):
        for pod in self.pods:
            try:
                self.remove_pod(pod)
            except Exception:
                pass
        if self.cri:
            self.cri.close()
            self.cri = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _remove_cgroups(uid):
    """The pod-level cgroups the kubelet would remove (we set the parent)."""
    rel = CGROUP_PARENT.format(uid=uid).lstrip("/")
    for base in os.listdir("/sys/fs/cgroup"):
        path = os.path.join("/sys/fs/cgroup", base, rel)
        for _ in range(3):  # pod dir, then besteffort and kubepods if empty
            try:
                os.rmdir(path)
            except OSError:
                break
            path = os.path.dirname(path)


@pytest.fixture(scope="session")
def containerd():
    if os.geteuid() != 0:
        pytest.fail("the container tests need root (CI runs as root)")
    workdir = tempfile.mkdtemp(prefix="ebt-ctd-", dir="/tmp")
    ctd = Containerd(workdir)
    tars = _images(workdir)
    ctd.start()
    ctd.import_images(tars)
    yield ctd
    ctd.stop()
    _unmount_under(workdir)
    for _ in range(10):  # shims may still be exiting
        shutil.rmtree(workdir, ignore_errors=True)
        if not os.path.exists(workdir):
            break
        time.sleep(0.5)


def _unmount_under(workdir):
    """Mounts containerd left below its directories (shm, rootfs)."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for p in sorted((p for p in points if p.startswith(workdir + "/")),
                    key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)
