"""Pod selection (--namespaces, --exclude-namespaces, --pod-selector) with
a real containerd: pods made through CRI in several namespaces with
several labels, the Go test server in each, requests from the host. Only
the selected pods' spans and log lines may appear; a pod started after
the tracer is picked up; host processes are never selected."""
import socket
import time
import urllib.request
import uuid

from lib.peers import curl
from lib.tracer import Tracer


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def of_pod(pod):
    return lambda s: s.resource.get("container.id") == pod.cid


def spans_of(t, pod):
    return [s for s in t.all_spans() if not isinstance(s, tuple) and of_pod(pod)(s)]


def logs_of(t, pod):
    return [r for r in list(t.logs)
            if any(a["key"] == "container.id" and a["value"].get("stringValue") == pod.cid
                   for a in r.get("resource", {}).get("attributes", []))]


def stop(t):
    rc = t.stop()
    assert rc == 0, f"tracer exit code {rc}; stderr:\n{t.stderr.decode(errors='replace')}"


def hit(pods, rounds=3):
    """Each pod answers each round. A connection refused or reset (curl's
    code 0) is tried again twice: once, in a CI run, a pod that had printed
    READY refused the first connection; what the tests assert is what the
    tracer makes of the exchanges that happen."""
    for _ in range(rounds):
        for p in pods:
            code = 0
            for _ in range(3):
                code = curl(p.url + "/log")
                if code:
                    break
                time.sleep(0.5)
            assert code == 200, f"{p.url}/log answered {code}"


def test_namespace_and_label_selector(containerd):
    ns_a, ns_b = uniq("sel-a"), uniq("sel-b")
    web = containerd.run_pod(uniq("web"), ns_a, {"app": "web", "tier": "front"})
    api = containerd.run_pod(uniq("api"), ns_a, {"app": "api", "tier": "back"})
    other = containerd.run_pod(uniq("web"), ns_b, {"app": "web", "tier": "front"})
    canary = containerd.run_pod(uniq("canary"), ns_a,
                                {"app": "web", "tier": "front", "canary": "yes"})
    port = free_port()
    t = Tracer("--cri-socket", containerd.sock, "--namespaces", ns_a,
               "--pod-selector", "app in (web, shop), tier!=back, !canary",
               "--metrics-listen", f"127.0.0.1:{port}").start()
    try:
        hit([web, api, other, canary])
        t.wait_for(of_pod(web), count=3)
        time.sleep(1.2)  # metrics are published once a second
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                         timeout=5).read().decode()
        deadline = time.time() + 5
        while time.time() < deadline and len(logs_of(t, web)) < 3:
            time.sleep(0.2)
        time.sleep(1.5)  # anything wrongly selected would show by now
    finally:
        stop(t)
    assert len(spans_of(t, web)) >= 3
    assert len(logs_of(t, web)) >= 3, t.logs[-5:]
    for p in (api, other, canary):
        assert spans_of(t, p) == [], f"{p.namespace}/{p.name} was not selected"
        assert logs_of(t, p) == [], f"{p.namespace}/{p.name} was not selected"
    # the client is a host process: never selected by a pod filter
    assert all(not isinstance(s, tuple) and "container.id" in s.resource
               for s in t.all_spans()), t.all_spans()
    assert all(s.resource["k8s.namespace.name"] == ns_a for s in t.all_spans())
    assert "\nebpftrace_cri_up 1\n" in metrics, metrics
    assert "\nebpftrace_selected_cgroups 1\n" in metrics, metrics


def test_exclude_and_pod_started_later(containerd):
    keep_ns, drop_ns = uniq("keep"), uniq("drop")
    t = Tracer("--cri-socket", containerd.sock,
               "--exclude-namespaces", "drop-*,kube-system").start()
    try:
        time.sleep(0.5)
        late = containerd.run_pod(uniq("late"), keep_ns, {"app": "late"})
        dropped = containerd.run_pod(uniq("late"), drop_ns, {"app": "late"})
        deadline = time.time() + 15
        while time.time() < deadline and not spans_of(t, late):
            hit([late, dropped], rounds=1)
            time.sleep(0.5)
        assert spans_of(t, late), ("a pod started after the tracer was not "
                                   "selected within 15 s; stderr:\n"
                                   + t.stderr.decode(errors="replace")[-2000:])
        hit([late, dropped])
        t.wait_for(of_pod(late), count=4)
        time.sleep(1)
    finally:
        stop(t)
    assert spans_of(t, dropped) == [], "an excluded namespace was traced"
    assert all("container.id" in s.resource for s in t.all_spans()
               if not isinstance(s, tuple)), "a host process was traced"


def test_removed_pod_leaves_the_filter(containerd, tmp_path):
    """The cgroup of a pod that is gone is taken out of the kernel filter
    (counted in the stats file the tracer writes on exit)."""
    ns = uniq("gone")
    pod = containerd.run_pod(uniq("short"), ns, {"app": "short"})
    stats = str(tmp_path / "stats.json")
    t = Tracer("--cri-socket", containerd.sock, "--namespaces", ns,
               stats_file=stats).start()
    try:
        hit([pod], rounds=1)
        t.wait_for(of_pod(pod))
        containerd.remove_pod(pod)
        time.sleep(5)  # two selection periods
    finally:
        stop(t)
    import json
    with open(stats) as f:
        sel = json.load(f)["selection"]
    assert sel["added"] >= 1 and sel["removed"] >= 1, sel
    assert sel["selected"] == 0, sel
