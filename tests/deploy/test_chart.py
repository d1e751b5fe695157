"""The Helm chart deploy/helm/ebpftrace and the plain manifests rendered
from it: helm lint (also --strict), helm template, strict validation of
every rendered object against the Kubernetes 1.28 API types
(tests/tools/k8svalidate), the DaemonSet's privileges, mounts and probes,
the values schema, and deploy/manifests/ebpftrace.yaml being a fresh
render."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

import tools

REPO = tools.REPO
CONFIG_DOC = REPO / "docs" / "configuration.md"
ARCH_DOC = REPO / "docs" / "architecture.md"

# Flags the chart passes that another change is adding to the tracer; each
# must appear in docs/configuration.md once that change lands.
PENDING_FLAGS = {"--metrics-listen"}
# Environment variables the chart sets for the pod itself, not options.
POD_ENV = {"NODE_NAME"}


def docs_options():
    """(keys, flags, env vars) of the options table of configuration.md."""
    keys, flags, env = set(), set(), set()
    for line in CONFIG_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) < 3 or not cells[0].startswith(("`", "—")):
            continue
        keys.update(re.findall(r"`([a-z0-9_.]+)`", cells[0]))
        flags.update(re.findall(r"`(--[a-z-]+)`", cells[1]))
        env.update(re.findall(r"`([A-Z_]+)`", cells[2]))
    assert keys and flags and env, f"no options table in {CONFIG_DOC}"
    return keys, flags, env


def load_all(text):
    return [d for d in yaml.safe_load_all(text) if d]


def by_kind(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def validate(k8svalidate, text, tmp_path, name="manifests.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([k8svalidate, str(path)], text=True,
                          capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def rendered(helm_bin):
    return tools.render()


@pytest.fixture(scope="module")
def docs(rendered):
    return load_all(rendered)


@pytest.fixture(scope="module")
def daemonset(docs):
    return by_kind(docs, "DaemonSet")


@pytest.fixture(scope="module")
def container(daemonset):
    (c,) = daemonset["spec"]["template"]["spec"]["containers"]
    return c


# -- helm lint / template ------------------------------------------------------

@pytest.mark.parametrize("strict", [False, True], ids=["lint", "lint-strict"])
def test_helm_lint(helm_bin, strict):
    args = ["lint", str(tools.CHART), "--kube-version", tools.KUBE_VERSION]
    if strict:
        args.append("--strict")
    out = tools.helm(*args).stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in out, out


def test_helm_lint_with_install_values(helm_bin):
    """The install command of the docs, with the user's endpoints."""
    out = tools.helm(
        "lint", "--strict", str(tools.CHART),
        "--set", "tempo.endpoint=http://tempo-distributor.tracing:4318",
        "--set", "loki.endpoint=http://loki-gateway.loki").stdout
    assert "0 chart(s) failed" in out, out


def test_template_renders_expected_objects(docs):
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["ServiceAccount", "ConfigMap", "ClusterRole",
                            "ClusterRoleBinding", "Role", "RoleBinding",
                            "DaemonSet"]), kinds
    for d in docs:
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert d["metadata"]["namespace"] == tools.NAMESPACE, d


# -- schema validation -----------------------------------------------------------

def test_rendered_manifests_validate(k8svalidate, rendered, tmp_path):
    proc = validate(k8svalidate, rendered, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "7 documents, 0 invalid" in proc.stdout, proc.stdout


@pytest.mark.parametrize("values", [
    ["--set", "securityContext.privileged=true"],
    ["--set", "serviceAccount.create=false", "--set", "rbac.create=false"],
    ["--set", "loki.tenant=team-a", "--set", "loki.username=u",
     "--set", "loki.auth.existingSecret=loki-auth",
     "--set", "tempo.endpoint=", "--set", "cluster=",
     "--set", "metrics.scrapeAnnotations=false",
     "--set", "priorityClassName=system-node-critical",
     "--set", "resourceAttributes=deployment.environment=test",
     "--set", "hostPaths.criSocket=/run/k3s/containerd/containerd.sock",
     "--set", "podAnnotations.container\\.apparmor\\.security\\.beta\\."
              "kubernetes\\.io/ebpftrace=unconfined"],
], ids=["privileged", "no-rbac", "options"])
def test_rendered_variants_validate(k8svalidate, helm_bin, values, tmp_path):
    proc = validate(k8svalidate, tools.render(*values), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _break(text, old, new):
    assert old in text, f"{old!r} not in the rendered manifests"
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old,new,message", [
    ("hostPID: true", "hostPid: true", 'unknown field "spec.template.spec.hostPid"'),
    ("readOnly: true", "readonly: true", "unknown field"),
    ("containerPort: 9464", "containerPort: metrics", "containerPort"),
    ("kind: DaemonSet", "kind: DaemonSets", "unknown apiVersion/kind"),
    ("mountPath: /sys/kernel/btf", "mountPath: sys/kernel/btf", "is not absolute"),
    ("- name: btf\n          hostPath", "- name: btf2\n          hostPath",
     '"btf" names no volume'),
    ("type: Socket", "type: socket", "not a known type"),
    ("port: metrics", "port: metric", "names no container port"),
    ("privileged: false", "privileged: false\n            allowPrivilegeEscalation: false",
     "allowPrivilegeEscalation false with capability SYS_ADMIN"),
    ("app.kubernetes.io/name: ebpftrace\n      app.kubernetes.io/instance",
     "app.kubernetes.io/name: other\n      app.kubernetes.io/instance",
     "selector does not match"),
], ids=["misspelled-field", "wrong-case", "wrong-type", "unknown-kind",
        "relative-mount", "missing-volume", "bad-hostpath-type",
        "probe-port", "escalation", "selector"])
def test_validator_rejects_broken_manifest(k8svalidate, rendered, tmp_path,
                                           old, new, message):
    """The validator is a real check: each deliberate mistake fails it."""
    proc = validate(k8svalidate, _break(rendered, old, new), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert message in proc.stdout, proc.stdout
    assert "1 invalid" in proc.stdout, proc.stdout


def test_validator_rejects_duplicate_key(k8svalidate, tmp_path):
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
            "  name: b\ndata: {}\n")
    proc = validate(k8svalidate, text, tmp_path)
    assert proc.returncode == 1 and "already set" in proc.stdout, \
        proc.stdout


# -- values schema ---------------------------------------------------------------

@pytest.mark.parametrize("values,message", [
    (["--set", "tempo.endpoint=tempo-distributor.tracing:4318"], "/tempo/endpoint"),
    (["--set", "tempoo.endpoint=http://x"], "tempoo"),
    (["--set", "metrics.port=99999"], "/metrics/port"),
    (["--set", "securityContext.privileged=yes"], "privileged"),
    (["--set", "cluster=vicky test"], "cluster"),
], ids=["endpoint-without-scheme", "unknown-key", "port-range",
        "privileged-not-bool", "cluster-space"])
def test_values_schema_rejects(helm_bin, values, message):
    proc = tools.helm("template", "x", str(tools.CHART), *values, check=False)
    assert proc.returncode != 0, proc.stdout
    assert "schema" in proc.stderr and message in proc.stderr, proc.stderr


# -- the DaemonSet ---------------------------------------------------------------

def test_capabilities_are_the_documented_ones(container):
    """Exactly the capabilities docs/architecture.md lists, all others
    dropped, not privileged by default."""
    documented = set(re.findall(r"`CAP_([A-Z_]+)`",
                                ARCH_DOC.read_text().split("* Capabilities:")[1]
                                .split("\n\n")[0]))
    assert documented == {"BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"}, documented
    sc = container["securityContext"]
    assert sc["privileged"] is False
    assert set(sc["capabilities"]["add"]) == documented
    assert len(sc["capabilities"]["add"]) == len(documented)
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc.get("allowPrivilegeEscalation") is not False  # SYS_ADMIN needs it
    assert sc["readOnlyRootFilesystem"] is True


def test_privileged_fallback(helm_bin):
    ds = by_kind(load_all(tools.render("--set", "securityContext.privileged=true")),
                 "DaemonSet")
    sc = ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert sc["privileged"] is True
    assert "capabilities" not in sc


def test_host_pid_and_tolerations(daemonset):
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["hostPID"] is True
    assert not spec.get("hostNetwork")
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["serviceAccountName"] == "ebpftrace"


EXPECTED_MOUNTS = {
    # mount path: (host path, hostPath type)
    "/sys/kernel/btf": ("/sys/kernel/btf", "Directory"),
    "/sys/kernel/tracing": ("/sys/kernel/tracing", "Directory"),
    "/sys/kernel/debug": ("/sys/kernel/debug", "Directory"),
    "/sys/fs/cgroup": ("/sys/fs/cgroup", "Directory"),
    "/run/containerd/containerd.sock": ("/run/containerd/containerd.sock",
                                        "Socket"),
}


def test_host_mounts_read_only(daemonset, container):
    volumes = {v["name"]: v for v in daemonset["spec"]["template"]["spec"]["volumes"]}
    host = {}
    for m in container["volumeMounts"]:
        assert m.get("readOnly") is True, f"{m['mountPath']} is writable"
        v = volumes[m["name"]]
        if "hostPath" in v:
            host[m["mountPath"]] = (v["hostPath"]["path"], v["hostPath"]["type"])
        else:
            assert "configMap" in v, v
    assert host == EXPECTED_MOUNTS
    # /proc comes with hostPID, not with a mount.
    assert not any(p.startswith("/proc") for p in host)


def test_probes_and_metrics(daemonset, container):
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port == {"metrics": 9464}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz",
                                                     "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz",
                                                      "port": "metrics"}
    args = container["args"]
    assert args[args.index("--metrics-listen") + 1] == "0.0.0.0:9464"
    ann = daemonset["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == "9464"
    assert ann["prometheus.io/path"] == "/metrics"


def test_resources(container):
    assert set(container["resources"]) == {"requests", "limits"}
    for part in ("requests", "limits"):
        assert set(container["resources"][part]) == {"cpu", "memory"}


def env_of(container):
    out = {}
    for e in container["env"]:
        out[e["name"]] = e.get("value", e.get("valueFrom"))
    return out


def test_env_defaults_match_the_users_stack(container):
    env = env_of(container)
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://tempo-distributor.tracing:4318"
    assert env["EBPFTRACE_LOKI_ENDPOINT"] == "http://loki-gateway.loki"
    assert env["EBPFTRACE_CLUSTER"] == "vicky-test"
    assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


def test_events_on_with_leader_election(docs, container):
    """Every pod of the DaemonSet runs the events shipper; the Lease (in the
    release's namespace, the Role's) lets one of them ship."""
    config = yaml.safe_load(by_kind(docs, "ConfigMap")["data"]["ebpftrace.yaml"])
    assert config["k8s"]["events"] == {"enabled": True, "leader_election": True}
    env = env_of(container)
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["EBPFTRACE_LOKI_ENDPOINT"]  # events need Loki


def test_set_endpoints(helm_bin):
    ds = by_kind(load_all(tools.render(
        "--set", "tempo.endpoint=http://otel.example:4318",
        "--set", "loki.endpoint=http://loki.example:3100",
        "--set", "cluster=prod")), "DaemonSet")
    env = env_of(ds["spec"]["template"]["spec"]["containers"][0])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel.example:4318"
    assert env["EBPFTRACE_LOKI_ENDPOINT"] == "http://loki.example:3100"
    assert env["EBPFTRACE_CLUSTER"] == "prod"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "k8s.cluster.name=prod"


def test_only_documented_options(docs, container):
    """Config file keys, environment variables and flags are the tracer's
    real ones (docs/configuration.md), plus the pending --metrics-listen."""
    keys, flags, env = docs_options()
    cm = by_kind(docs, "ConfigMap")
    config = yaml.safe_load(cm["data"]["ebpftrace.yaml"])

    def flat(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"
    unknown = set(flat(config)) - keys
    assert not unknown, f"config keys not in {CONFIG_DOC.name}: {unknown}"
    assert config["format"] == "none"
    unknown = set(env_of(container)) - env - POD_ENV
    assert not unknown, f"env vars not in {CONFIG_DOC.name}: {unknown}"
    assert container["command"] == ["ebpftrace"]
    assert container["args"][0] == "run"
    used = {a for a in container["args"] if a.startswith("--")}
    unknown = used - flags - PENDING_FLAGS
    assert not unknown, f"flags not in {CONFIG_DOC.name}: {unknown}"
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    cfg = container["args"][container["args"].index("--config") + 1]
    assert str(Path(cfg).parent) in mounted


def test_rbac_is_minimal(docs):
    role = by_kind(docs, "ClusterRole")
    rules = {(g, r): sorted(rule["verbs"])
             for rule in role["rules"]
             for g in rule["apiGroups"] for r in rule["resources"]}
    assert rules == {("", "pods"): ["get", "list", "watch"],
                     ("apps", "replicasets"): ["get", "list", "watch"],
                     ("batch", "jobs"): ["get"],  # Job -> CronJob owner
                     ("", "events"): ["list", "watch"]}
    lease = by_kind(docs, "Role")
    assert lease["metadata"]["namespace"] == tools.NAMESPACE
    assert lease["rules"] == [{"apiGroups": ["coordination.k8s.io"],
                               "resources": ["leases"],
                               "verbs": ["get", "create", "update"]}]
    for kind, ref in (("ClusterRoleBinding", role), ("RoleBinding", lease)):
        b = by_kind(docs, kind)
        assert b["roleRef"]["name"] == ref["metadata"]["name"]
        assert b["subjects"] == [{"kind": "ServiceAccount", "name": "ebpftrace",
                                  "namespace": tools.NAMESPACE}]


# -- deploy/manifests ------------------------------------------------------------

def test_plain_manifests_are_a_fresh_render(helm_bin):
    want = tools.manifests_text()
    have = tools.MANIFESTS.read_text() if tools.MANIFESTS.exists() else ""
    assert have == want, (
        f"{tools.MANIFESTS.relative_to(REPO)} is not the chart rendered with "
        "its defaults; run `python3 tests/deploy/tools.py render`")
