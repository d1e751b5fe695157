"""OCI image archives made from local files, for `ctr images import`.

No registry is reachable from the test machines, so the container tests
build their images here: one layer (a gzipped tar of the given files),
an image config, a manifest and an index, in the OCI image layout
(oci-layout, index.json, blobs/sha256/<digest>), written as one tar.
The image reference is recorded in the index as the
org.opencontainers.image.ref.name annotation and in the
io.containerd.image.name annotation, which `ctr images import` reads.
"""
import gzip
import hashlib
import io
import json
import tarfile
import time


def _tar_bytes(files):
    """files: {path in image: (bytes, mode)} -> uncompressed tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()
        for path in sorted(files):
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            data, mode = files[path]
            info = tarfile.TarInfo(path.strip("/"))
            info.size = len(data)
            info.mode = mode
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _blob(blobs, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def build_image(out_path, ref, files, entrypoint, env=None):
    """Writes an OCI archive of one image to out_path.

    ref: "localhost/ebpftrace/pause:1"; files: {"/pause": (bytes, 0o755)};
    entrypoint: ["/pause"]; env: ["K=V", ...].
    """
    layer_tar = _tar_bytes(files)
    layer_gz = gzip.compress(layer_tar, mtime=0)
    blobs = {}
    layer = _blob(blobs, layer_gz, "application/vnd.oci.image.layer.v1.tar+gzip")
    config = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0)),
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint,
                   "Env": env or ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }
    cfg = _blob(blobs, json.dumps(config, sort_keys=True).encode(),
                "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": [layer]}
    man = _blob(blobs, json.dumps(manifest, sort_keys=True).encode(),
                "application/vnd.oci.image.manifest.v1+json")
    man["annotations"] = {"org.opencontainers.image.ref.name": ref,
                          "io.containerd.image.name": ref}
    man["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2,
             "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [man]}
    entries = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
               "index.json": json.dumps(index, sort_keys=True).encode()}
    for digest, data in blobs.items():
        entries["blobs/sha256/" + digest.split(":", 1)[1]] = data
    with tarfile.open(out_path, "w") as tar:
        for name in ["blobs", "blobs/sha256"]:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return ref
