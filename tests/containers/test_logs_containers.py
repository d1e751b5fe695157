"""--logs-containers (the DaemonSet's setting): with no process selection,
the stdout of every containerised process is captured, a host process's
is not."""
import subprocess
import time
import uuid

from lib.peers import curl
from lib.tracer import Tracer


def test_every_container_is_captured_host_processes_are_not(containerd):
    pod = containerd.run_pod(f"logs-all-{uuid.uuid4().hex[:6]}", "logs-all")
    marker = "host-line-" + uuid.uuid4().hex[:8]
    t = Tracer("--cri-socket", containerd.sock, "--logs-containers").start()
    try:
        assert curl(pod.url + "/log") == 200
        # to a pipe: a write to /dev/null is never captured, whoever makes it
        subprocess.run(["sh", "-c", f"echo {marker}"], check=True,
                       capture_output=True)
        deadline = time.time() + 15
        mine = []
        while time.time() < deadline and not mine:
            mine = [r for r in list(t.logs) if "handled /log" in str(r.get("body"))
                    and pod.cid in str(r.get("resource"))]
            time.sleep(0.2)
        assert mine, t.stderr.decode(errors="replace")[-2000:]
        time.sleep(1.5)  # a host line would have flushed by now
        assert not [r for r in list(t.logs) if marker in str(r.get("body"))]
        assert all("container.id" in str(r.get("resource")) for r in list(t.logs))
    finally:
        assert t.stop() == 0
