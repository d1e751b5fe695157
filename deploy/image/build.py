#!/usr/bin/env python3
"""make image: the tracer's container image as an OCI archive, without a
container engine or a registry (none is needed on the build machine).

The image holds build/ebpftrace at /usr/bin/ebpftrace, the shared libraries
it loads at the paths ldd shows on this (Debian 12) machine, and the CA
bundle for https endpoints; its entrypoint is ebpftrace. Usage:

    deploy/image/build.py <binary> <out.tar> <image ref>

Load it with `ctr -n k8s.io images import out.tar` on a node, or push it
with `skopeo copy oci-archive:out.tar docker://<registry>/ebpftrace:<tag>`
and set the chart's image.repository / image.tag (docs/deployment.md).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from lib.kubelet import tracer_image_files  # noqa: E402
from lib.oci import build_image  # noqa: E402

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: deploy/image/build.py <binary> <out.tar> <image ref>")
    binary, out, ref = argv[1:]
    files = tracer_image_files(binary)
    if os.path.exists(CA_BUNDLE):
        with open(CA_BUNDLE, "rb") as f:
            files[CA_BUNDLE] = (f.read(), 0o644)
    build_image(out, ref, files, ["/usr/bin/ebpftrace"], env=["PATH=/usr/bin:/bin"])
    print(f"{out}: {ref} ({len(files)} files)")


if __name__ == "__main__":
    main(sys.argv)
