"""`make image`'s builder (deploy/image/build.py): the OCI archive imports
into a real containerd under the name the Helm chart's default image
resolves to, and the tracer inside runs (its shared libraries resolve)."""
import os
import subprocess
import sys

from lib.tracer import BINARY, ROOT

REF = "docker.io/library/ebpftrace:0.1.0"  # the chart's image: ebpftrace:<appVersion>


def ctr(containerd, *args, timeout=120):
    return subprocess.run(["ctr", "-a", containerd.sock, "-n", "k8s.io", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_image_imports_and_runs(containerd, tmp_path):
    tar = str(tmp_path / "ebpftrace-image.tar")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "image", "build.py"),
                        BINARY, tar, REF], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = ctr(containerd, "images", "import", tar)
    assert r.returncode == 0, r.stderr
    r = ctr(containerd, "images", "ls", "-q")
    assert REF in r.stdout.split(), r.stdout
    r = ctr(containerd, "run", "--rm", REF, "ebpftrace-image-test",
            "/usr/bin/ebpftrace", "--help")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "usage: ebpftrace <command>" in r.stdout + r.stderr
    assert "attach" in r.stdout + r.stderr
