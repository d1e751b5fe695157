"""Pod metadata from a real containerd over CRI, on real spans and log
records: pods made through the CRI API (labels, annotations, env), the Go
test server inside them, the tracer run with --cri-socket."""
import os
import time
import uuid

from lib.peers import curl
from lib.tracer import Tracer, attrs

ANNOTATION = "resource.opentelemetry.io/service.name"


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def run_tracer(ctd_sock, *args):
    return Tracer("--cri-socket", ctd_sock, *args).start()


def stop(t):
    rc = t.stop()
    assert rc == 0, f"tracer exit code {rc}; stderr:\n{t.stderr.decode(errors='replace')}"


def of_pod(pod):
    return lambda s: s.resource.get("container.id") == pod.cid


def wait_logs(t, text, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [r for r in list(t.logs) if text in str(r.get("body"))]
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"no log record with {text!r}; stderr:\n"
                         + t.stderr.decode(errors="replace")[-2000:])


def assert_pod_resource(res, pod, service):
    assert res["container.id"] == pod.cid
    assert res["k8s.pod.name"] == pod.name
    assert res["k8s.namespace.name"] == pod.namespace
    assert res["k8s.pod.uid"] == pod.uid
    assert res["k8s.container.name"] == pod.container
    assert res["k8s.node.name"] == (os.environ.get("NODE_NAME") or os.uname().nodename)
    assert res["service.namespace"] == pod.namespace
    assert res["service.name"] == service, res


def test_service_name_precedence_across_pods(containerd):
    """One pod per rung of the service.name ladder, traced together."""
    labels_all = {"app.kubernetes.io/instance": "from-instance",
                  "app.kubernetes.io/name": "from-name"}
    ns = uniq("shop")
    cases = [
        # (pod, expected service.name)
        (containerd.run_pod(uniq("env"), ns, labels_all,
                            {ANNOTATION: "from-annotation"},
                            env={"OTEL_SERVICE_NAME": "from-env"}), "from-env"),
        (containerd.run_pod(uniq("attrs"), ns, labels_all, None,
                            env={"OTEL_RESOURCE_ATTRIBUTES":
                                 "service.name=from-attrs,team=cart"}),
         "from-attrs"),
        (containerd.run_pod(uniq("ann"), ns, labels_all,
                            {ANNOTATION: "from-annotation"}), "from-annotation"),
        (containerd.run_pod(uniq("inst"), ns, labels_all), "from-instance"),
        (containerd.run_pod(uniq("name"), ns,
                            {"app.kubernetes.io/name": "from-name"}), "from-name"),
    ]
    plain = containerd.run_pod(uniq("plain"), "default")
    cases.append((plain, plain.name))
    ids = [p.cid[:16] for p, _ in cases]
    t = run_tracer(containerd.sock, *sum((["--container-id", i] for i in ids), []))
    try:
        for pod, _ in cases:
            assert curl(pod.url + "/hello") == 200
        got = {pod.cid: t.wait_for(of_pod(pod))[0] for pod, _ in cases}
    finally:
        stop(t)
    for pod, service in cases:
        assert_pod_resource(got[pod.cid].resource, pod, service)
    name_pod = cases[4][0]
    res = got[name_pod.cid].resource
    # what Loki's `app` label is made from
    assert res["k8s.pod.label.app.kubernetes.io/name"] == "from-name"
    assert got[cases[1][0].cid].resource["team"] == "cart"
    assert b"CRI: pod metadata from " + containerd.sock.encode() in t.stderr


def test_log_records_carry_pod_metadata(containerd):
    """stdout of the containerised server: the record's resource (which the
    Loki labels namespace/pod/container/app/job come from) names the pod."""
    pod = containerd.run_pod(uniq("logger"), "logs",
                             {"app.kubernetes.io/name": "logger"})
    t = run_tracer(containerd.sock, "--container-id", pod.cid)
    try:
        assert curl(pod.url + "/log") == 200
        (s,) = t.wait_for(of_pod(pod))
        rec = wait_logs(t, "handled /log")[0]
    finally:
        stop(t)
    assert_pod_resource(s.resource, pod, "logger")
    assert_pod_resource(attrs(rec["resource"]), pod, "logger")


def test_metadata_arrives_for_a_pod_started_after_the_tracer(containerd):
    """The tracer runs first; the pod's first resource may be built before
    CRI lists it (a miss, marked pending); later spans get the pod."""
    t = run_tracer(containerd.sock, "--comm", "goserver", "--log-level", "debug")
    try:
        time.sleep(1)
        pod = containerd.run_pod(uniq("late"), "late",
                                 {"app.kubernetes.io/name": "late-app"})
        deadline = time.time() + 15
        while time.time() < deadline:
            assert curl(pod.url + "/hello") == 200
            done = [s for s in t.all_spans()
                    if not isinstance(s, tuple) and of_pod(pod)(s)
                    and "k8s.pod.name" in s.resource]
            if done:
                break
            time.sleep(0.5)
        (s,) = t.wait_for(lambda x: of_pod(pod)(x) and "k8s.pod.name" in x.resource)[:1]
    finally:
        stop(t)
    assert_pod_resource(s.resource, pod, "late-app")
    err = t.stderr.decode(errors="replace")
    if f"container {pod.cid[:12]} not known to CRI" in err:  # usually
        assert f"pod metadata arrived (late/{pod.name})" in err, err


def test_missing_socket_says_so_once_and_spans_go_on(containerd, tmp_path):
    """A CRI socket path that does not exist: one clear line, spans without
    pod metadata (container.id from the cgroup path still there)."""
    pod = containerd.run_pod(uniq("nosock"), "default",
                             {"app.kubernetes.io/name": "nosock-app"})
    missing = str(tmp_path / "no-such-containerd.sock")
    t = run_tracer(missing, "--container-id", pod.cid)
    try:
        assert curl(pod.url + "/hello") == 200
        (s,) = t.wait_for(of_pod(pod))
        time.sleep(6)  # one retry period: the message is not repeated
    finally:
        stop(t)
    err = t.stderr.decode(errors="replace")
    lines = [x for x in err.splitlines() if "CRI socket" in x]
    assert len(lines) == 1, err
    assert missing in lines[0] and "No such file or directory" in lines[0]
    assert "tracing continues" in lines[0] and "--cri-socket" in lines[0]
    assert s.resource["container.id"] == pod.cid
    assert s.resource["k8s.pod.uid"] == pod.uid  # from the cgroup path
    assert "k8s.pod.name" not in s.resource
    assert s.resource["service.name"] == "goserver"


def test_not_a_socket_is_refused_clearly(containerd, tmp_path):
    bogus = tmp_path / "plain-file.sock"
    bogus.write_text("not a socket")
    pod = containerd.run_pod(uniq("bogus"), "default")
    t = run_tracer(str(bogus), "--container-id", pod.cid)
    try:
        assert curl(pod.url + "/hello") == 200
        (s,) = t.wait_for(of_pod(pod))
    finally:
        stop(t)
    assert b"not a unix socket" in t.stderr
    assert "k8s.pod.name" not in s.resource


def test_pod_removed_while_traced(containerd):
    """Removing a traced pod: no crash; spans already made keep their pod;
    another pod started afterwards still gets its metadata."""
    t = run_tracer(containerd.sock, "--comm", "goserver")
    try:
        first = containerd.run_pod(uniq("gone"), "churn")
        deadline = time.time() + 15
        while time.time() < deadline and not [
                s for s in t.all_spans() if not isinstance(s, tuple)
                and of_pod(first)(s) and "k8s.pod.name" in s.resource]:
            curl(first.url + "/hello")
            time.sleep(0.5)
        containerd.remove_pod(first)
        time.sleep(6)  # a refresh without the pod
        assert t.proc.poll() is None, "tracer died after the pod went away"
        second = containerd.run_pod(uniq("next"), "churn")
        deadline = time.time() + 15
        while time.time() < deadline and not [
                s for s in t.all_spans() if not isinstance(s, tuple)
                and of_pod(second)(s) and "k8s.pod.name" in s.resource]:
            curl(second.url + "/hello")
            time.sleep(0.5)
        a = t.wait_for(lambda x: of_pod(first)(x) and "k8s.pod.name" in x.resource)
        b = t.wait_for(lambda x: of_pod(second)(x) and "k8s.pod.name" in x.resource)
    finally:
        stop(t)
    assert a[0].resource["k8s.pod.name"] == first.name
    assert b[0].resource["k8s.pod.name"] == second.name


def test_read_only_bind_mounted_socket(containerd, tmp_path):
    """As the Helm chart mounts it: the socket bind-mounted read-only at
    another path still answers (connect() needs no writable mount)."""
    import subprocess
    ro = tmp_path / "containerd.sock"
    ro.write_text("")
    subprocess.run(["mount", "--bind", containerd.sock, str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        pod = containerd.run_pod(uniq("ro"), "ro",
                                 {"app.kubernetes.io/instance": "ro-inst"})
        t = run_tracer(str(ro), "--container-id", pod.cid)
        try:
            assert curl(pod.url + "/hello") == 200
            (s,) = t.wait_for(of_pod(pod))
        finally:
            stop(t)
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert_pod_resource(s.resource, pod, "ro-inst")


class LokiSink:
    """A stand-in for Loki's push API that keeps what it was sent."""

    def __init__(self):
        import gzip
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        sink = self
        self.streams = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                sink.streams += json.loads(body)["streams"]
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_loki_streams_labelled_from_pod_metadata(containerd):
    """The push request's stream labels come from the same CRI metadata:
    namespace, pod, container, app, job, node_name, cluster, stream,
    service_name; container_id stays structured metadata."""
    pod = containerd.run_pod(uniq("lokipod"), uniq("obs"),
                             {"app.kubernetes.io/name": "shipper",
                              "app.kubernetes.io/instance": "shipper-eu"})
    sink = LokiSink()
    t = run_tracer(containerd.sock, "--container-id", pod.cid,
                   "--loki-endpoint", sink.url, "--loki-batch-timeout", "100ms",
                   "--cluster", "ci")
    try:
        assert curl(pod.url + "/log") == 200
        wait_logs(t, "handled /log")
        deadline = time.time() + 15
        while time.time() < deadline and not any(
                "handled /log" in v[1] for s in sink.streams for v in s["values"]):
            time.sleep(0.1)
    finally:
        stop(t)
        sink.close()
    streams = [s for s in sink.streams
               if any("handled /log" in v[1] for v in s["values"])]
    assert streams, sink.streams
    labels = streams[0]["stream"]
    node = os.environ.get("NODE_NAME") or os.uname().nodename
    assert labels == {"namespace": pod.namespace, "pod": pod.name,
                      "container": pod.container, "app": "shipper",
                      "job": f"{pod.namespace}/{pod.container}",
                      "node_name": node, "cluster": "ci", "stream": "stdout",
                      "service_name": "shipper-eu"}, labels
    value = [v for v in streams[0]["values"] if "handled /log" in v[1]][0]
    assert value[2]["container_id"] == pod.cid


def test_socket_that_appears_later_is_picked_up(containerd, tmp_path):
    """Retry: the tracer starts before the runtime's socket exists (e.g.
    containerd restarting); once it answers, spans get the pod, and the
    process's cached resource is built again (it was pending)."""
    pod = containerd.run_pod(uniq("retry"), "retry",
                             {"app.kubernetes.io/name": "retry-app"})
    later = tmp_path / "later.sock"
    t = run_tracer(str(later), "--container-id", pod.cid)
    try:
        assert curl(pod.url + "/hello") == 200
        (before,) = t.wait_for(of_pod(pod))
        later.symlink_to(containerd.sock)
        deadline = time.time() + 15
        while time.time() < deadline and not [
                s for s in t.all_spans() if not isinstance(s, tuple)
                and of_pod(pod)(s) and "k8s.pod.name" in s.resource]:
            assert curl(pod.url + "/hello") == 200
            time.sleep(0.5)
        after = t.wait_for(lambda x: of_pod(pod)(x) and "k8s.pod.name" in x.resource)
    finally:
        stop(t)
    assert "k8s.pod.name" not in before.resource
    assert before.resource["service.name"] == "goserver"
    assert_pod_resource(after[0].resource, pod, "retry-app")
    err = t.stderr.decode(errors="replace")
    assert f"CRI: pod metadata from {later}" in err, err


def test_stale_socket_without_a_server(containerd, tmp_path):
    """A socket file nobody listens on (the runtime died): a clear line,
    spans without pod metadata."""
    import socket as so
    stale = str(tmp_path / "stale.sock")
    s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    s.bind(stale)
    s.close()  # the file stays, nobody accepts
    pod = containerd.run_pod(uniq("stale"), "default")
    t = run_tracer(stale, "--container-id", pod.cid)
    try:
        assert curl(pod.url + "/hello") == 200
        (sp,) = t.wait_for(of_pod(pod))
    finally:
        stop(t)
    err = t.stderr.decode(errors="replace")
    lines = [x for x in err.splitlines() if "CRI socket" in x]
    assert len(lines) == 1 and stale in lines[0], err
    assert "ListPodSandbox" in lines[0] and "connect" in lines[0].lower(), err
    assert "k8s.pod.name" not in sp.resource


def test_check_reports_the_cri_socket(containerd, tmp_path):
    """`ebpftrace check` probes the CRI socket: ok with what it lists for a
    real containerd, a warning with the fix for a missing one; neither
    makes the check fail."""
    import subprocess
    from lib.tracer import BINARY
    pod = containerd.run_pod(uniq("chk"), "check")
    r = subprocess.run([BINARY, "check", "--cri-socket", containerd.sock],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(l for l in r.stdout.splitlines() if "CRI socket" in l)
    assert line.split()[0] == "ok", line
    pods = int(line.split(": ")[1].split()[0])
    assert pods >= 1 and pod.name, line
    missing = str(tmp_path / "nope.sock")
    r = subprocess.run([BINARY, "check", "--cri-socket", missing],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"warn     CRI socket             {missing}: No such file" in r.stdout
