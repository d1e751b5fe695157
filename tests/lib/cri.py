"""A CRI client for the tests: grpcio + the project's own .proto subset
(user/proto/cri_api.proto), compiled with grpcio-tools at test time into a
temporary directory, so the tests and the tracer read the same schema."""
import importlib
import os
import sys
import tempfile

from .tracer import ROOT

PROTO_DIR = os.path.join(ROOT, "user", "proto")
_MODULES = {}


def modules():
    """(cri_api_pb2, cri_api_pb2_grpc), compiled once per test session."""
    if _MODULES:
        return _MODULES["pb2"], _MODULES["grpc"]
    from grpc_tools import protoc
    import grpc_tools
    out = tempfile.mkdtemp(prefix="ebpftrace-cri-pb-")
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{include}",
                      f"--python_out={out}", f"--grpc_python_out={out}",
                      os.path.join(PROTO_DIR, "cri_api.proto")])
    if rc != 0:
        raise RuntimeError(f"protoc failed on cri_api.proto (rc {rc})")
    sys.path.insert(0, out)
    _MODULES["pb2"] = importlib.import_module("cri_api_pb2")
    _MODULES["grpc"] = importlib.import_module("cri_api_pb2_grpc")
    return _MODULES["pb2"], _MODULES["grpc"]


class Cri:
    """RuntimeService calls used to make and remove test pods."""

    def __init__(self, socket_path, timeout=60):
        import grpc
        pb2, pb2_grpc = modules()
        self.pb = pb2
        self.timeout = timeout
        self.channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.rt = pb2_grpc.RuntimeServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def version(self):
        return self.rt.Version(self.pb.VersionRequest(version="v1"),
                               timeout=self.timeout)

    def sandbox_config(self, name, namespace, uid, labels=None,
                       annotations=None, log_dir=None, cgroup_parent=""):
        pb = self.pb
        ns = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                ipc=pb.POD)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, namespace=namespace,
                                           uid=uid, attempt=0),
            hostname="",
            log_directory=log_dir or "",
            labels=labels or {}, annotations=annotations or {},
            linux_config=pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=ns)))

    def run_pod(self, config):
        r = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=config),
                                  timeout=self.timeout)
        return r.pod_sandbox_id

    def create_container(self, pod_id, pod_config, name, image, args=(),
                         env=None, labels=None, log_path=""):
        pb = self.pb
        ns = pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                ipc=pb.POD)
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=image), args=list(args),
            envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            labels=labels or {}, log_path=log_path,
            linux_config=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=ns)))
        r = self.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_config),
            timeout=self.timeout)
        return r.container_id

    def start_container(self, cid):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid),
                               timeout=self.timeout)

    def remove_pod(self, pod_id):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(
            pod_sandbox_id=pod_id), timeout=self.timeout)
        self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(
            pod_sandbox_id=pod_id), timeout=self.timeout)

    def list_pods(self):
        return self.rt.ListPodSandbox(self.pb.ListPodSandboxRequest(),
                                      timeout=self.timeout).items

    def list_containers(self):
        return self.rt.ListContainers(self.pb.ListContainersRequest(),
                                      timeout=self.timeout).containers
