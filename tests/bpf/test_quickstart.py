"""The README's first command, `make run`: the tracer on its embedded
default (tests/demo/run-demo.sh: console output, two Python services and
a curl loop). Within seconds it must show linked spans and log lines that
carry their request's trace."""
import json
import os
import subprocess

from lib.tracer import BINARY, ROOT, attrs

DEMO = os.path.join(ROOT, "tests", "demo", "run-demo.sh")


def run_demo(seconds, fmt):
    env = dict(os.environ, DEMO_SECONDS=str(seconds), DEMO_FORMAT=fmt,
               EBPFTRACE=BINARY)
    p = subprocess.run(["bash", DEMO], env=env, capture_output=True,
                       text=True, timeout=seconds + 60)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout, p.stderr


def service(rec):
    return attrs(rec["resource"]).get("service.name")


def test_demo_json_shows_a_linked_trace_and_its_log_line():
    out, err = run_demo(8, "json")
    recs = [json.loads(line) for line in out.splitlines()]
    spans = [r for r in recs if "kind" in r]
    logs = [r for r in recs if "body" in r]
    assert spans and logs, err[-2000:]
    by_id = {s["spanId"]: s for s in spans}

    # curl -> demo-frontend /chain -> demo-backend /hello: one trace
    backend = [s for s in spans if service(s) == "demo-backend" and s["kind"] == 2]
    chains = []
    for b in backend:
        call = by_id.get(b["parentSpanId"])
        chain = call and by_id.get(call["parentSpanId"])
        root = chain and by_id.get(chain["parentSpanId"])
        if root:
            chains.append((root, chain, call, b))
    assert chains, [(s["name"], service(s)) for s in spans]
    root, chain, call, b = chains[0]
    assert (service(root), root["kind"], root["name"]) == ("curl", 3, "GET")
    assert attrs(root)["url.full"] == "http://127.0.0.1:18080/chain"
    assert (service(chain), chain["kind"], chain["name"]) == ("demo-frontend", 2, "GET /chain")
    assert (service(call), call["kind"]) == ("demo-frontend", 3)
    assert attrs(call)["url.full"] == "http://127.0.0.1:18081/hello"
    assert b["name"] == "GET /hello"
    assert {s["traceId"] for s in (root, chain, call, b)} == {root["traceId"]}
    assert root.get("parentSpanId", "") == ""
    for parent, child in ((root, chain), (chain, call), (call, b)):
        assert int(parent["startTimeUnixNano"]) <= int(child["startTimeUnixNano"])

    # the line /log writes carries the trace of the request that wrote it
    log_spans = {s["traceId"]: s for s in spans
                 if s["kind"] == 2 and s["name"] == "GET /log"}
    handled = [r for r in logs if r["body"]["stringValue"] == "handled /log"]
    assert handled, [r["body"] for r in logs]
    for r in handled:
        s = log_spans.get(r["traceId"])
        assert s is not None and r["spanId"] == s["spanId"], r
        assert attrs(r)["log.iostream"] == "stdout"
        assert service(r) == "demo-frontend"

    # a templated route, a redacted query, a 500 that is an error
    users = [s for s in spans if s["kind"] == 2 and s["name"] == "GET /users/{id}"]
    assert users and all(attrs(s)["url.query"] == "token=REDACTED" for s in users)
    assert "secret" not in out
    fails = [s for s in spans if s["kind"] == 2 and s["name"] == "GET /fail"]
    assert fails and all(attrs(s)["http.response.status_code"] == 500 and
                         s["status"]["code"] == 2 for s in fails)


def test_demo_text_lines():
    out, err = run_demo(5, "text")
    lines = out.splitlines()
    servers = [l for l in lines if " SERVER GET /chain " in l and "demo-frontend" in l]
    clients = [l for l in lines
               if " CLIENT GET http://127.0.0.1:18081/hello " in l and "demo-frontend" in l]
    handled = [l for l in lines if " LOG " in l and l.endswith("| handled /log")]
    assert servers and clients and handled, "\n".join(lines[:40]) + err[-2000:]
    assert all("trace=-" not in l for l in handled), handled
