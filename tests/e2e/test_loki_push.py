"""The userspace log path against a real Loki: lines go through the line
assembler and the Loki exporter (tests/tools/loki_push_driver.c, which plays
the part of the BPF capture: each input line is written in small chunks with
a known trace context active), then come back through query_range.

Checked: every expected entry arrives exactly once, in order, with the
labels and the trace_id/span_id structured metadata; line shapes (short,
over the limit, no trailing newline, interleaved stdout/stderr, many small
writes, invalid UTF-8 and NUL, CRLF, a Java stack trace, a burst of 100k);
Loki refusing some entries of a request (400); Loki down for a while, then
up again.
"""

import json
import os
import subprocess
import time
import urllib.parse

import pytest

import backends
from lib.peers import made_tool

PAGE = 5000  # Loki's default max_entries_limit_per_query


@pytest.fixture(scope="module")
def driver():
    return made_tool("loki_push_driver")


def driver_cmd(driver, loki, service, *extra):
    return [driver, "--url", loki.url, "--service", service,
            "--seed", SEED, *extra]


SEED = "e2e0cafe"


def trace_of(index):
    """The trace/span ids the driver sets for input line `index`."""
    return SEED + "0" * 8 + f"{index + 1:016x}", f"{index + 1:016x}"


def run_driver(driver, loki, service, data, *extra, timeout=300):
    proc = subprocess.run(driver_cmd(driver, loki, service, *extra),
                          input=data, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout), proc.stderr.decode(errors="replace")


def query_page(loki, selector, start_ns, end_ns):
    """One forward query_range page; structured metadata kept apart from
    the stream labels (categorize-labels)."""
    params = urllib.parse.urlencode({
        "query": selector, "start": str(start_ns), "end": str(end_ns),
        "limit": str(PAGE), "direction": "forward"})
    status, body = backends.http_request(
        f"{loki.url}/loki/api/v1/query_range?{params}",
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels",
                 "Accept": "application/json"})
    assert status == 200, body[:300]
    entries = []
    for stream in json.loads(body)["data"]["result"]:
        for v in stream["values"]:
            cat = v[2] if len(v) > 2 else {}
            entries.append({"ts": int(v[0]), "line": v[1],
                            "labels": stream["stream"],
                            "meta": cat.get("structuredMetadata", {})})
    entries.sort(key=lambda e: e["ts"])
    return entries


def query_all(loki, selector, start_ns, end_ns):
    """Every entry of a selector whose timestamps are unique (one stream
    of one process), oldest first, paging by timestamp."""
    out, start = [], start_ns
    while True:
        page = query_page(loki, selector, start, end_ns)
        out.extend(page)
        if len(page) < PAGE:
            return out
        start = page[-1]["ts"] + 1


def wait_entries(loki, selector, start_ns, want, timeout=60):
    """Poll until `want` entries are there (more would be a failure the
    caller sees); return them."""
    end_ns = time.time_ns() + 7200 * 10**9
    got = []

    def enough():
        nonlocal got
        got = query_all(loki, selector, start_ns, end_ns)
        return len(got) >= want
    try:
        backends.poll(enough, timeout, 0.5, f"{want} entries of {selector}")
    except TimeoutError:
        pass
    time.sleep(0.5)  # anything extra (a duplicate) would show up now
    return query_all(loki, selector, start_ns, end_ns)


def unique_service(tag):
    return f"e2e-{tag}-{os.urandom(4).hex()}"


# ---- line shapes ------------------------------------------------------------

JAVA = [
    "java.lang.IllegalStateException: boom",
    "\tat com.example.App.handle(App.java:42)",
    "\tat com.example.App.main(App.java:10)",
    "Caused by: java.io.IOException: disk full",
    "\t... 2 more",
]


def shapes_input():
    """Input bytes and the expected entries per stream: (line, index of
    the input line whose trace context the entry carries)."""
    lines, out, err = [], [], []

    def add(raw, expect_out=None, expect_err=None):
        idx = len(lines)
        lines.append(raw)
        for text in expect_out or []:
            out.append((text, idx))
        for text in expect_err or []:
            err.append((text, idx))

    for i in range(100):
        add(f"short {i:04d}\n".encode(), [f"short {i:04d}"])
    for k in range(20):  # interleaved stdout and stderr
        if k % 2:
            add(f"out {k:02d}\n".encode(), [f"out {k:02d}"])
        else:
            add(f"ERR stderr {k:02d}\n".encode(), None, [f"ERR stderr {k:02d}"])
    long = "LONG-" + "".join(chr(ord("a") + i % 26) for i in range(2995))
    add(long.encode() + b"\n", [long[0:1024], long[1024:2048], long[2048:]])
    add(b"bad utf8 \xff\xfe and nul \x00 end\n",
        ["bad utf8 \\xff\\xfe and nul \\x00 end"])
    add("unicode ok: é € 😀\n".encode(), ["unicode ok: é € 😀"])
    first = len(lines)
    for j, jl in enumerate(JAVA):
        lines.append(jl.encode() + b"\n")
    out.append(("\n".join(JAVA), first))
    add(b"after the trace\n", ["after the trace"])
    add(b"dos line\r\n", ["dos line"])
    add(b"no newline at the end", ["no newline at the end"])
    return b"".join(lines), out, err


K8S = ["--k8s", "shop/checkout-7d9f-abcde/app", "--node", "node-1",
       "--pod-ip", "10.1.2.3", "--app", "checkout-api", "--cluster", "e2e"]


def test_line_shapes_arrive_once_in_order(driver, loki):
    service = unique_service("shapes")
    data, want_out, want_err = shapes_input()
    t0 = time.time_ns() - 10**9
    stats, _ = run_driver(driver, loki, service, data, "--chunk", "7",
                          "--max-line", "1024", "--stderr-prefix", "ERR ",
                          *K8S)
    n = len(want_out) + len(want_err)
    assert stats["records"] == n
    assert stats["entries_sent"] == n
    assert stats["lines_split"] == 1
    assert stats["lines_joined"] == len(JAVA) - 1
    assert stats["records_no_newline"] == 1
    assert stats["bytes_escaped"] == 3
    for key in ("refused", "entries_dropped_queue_full", "entries_rejected",
                "entries_dropped_failed", "entries_dropped_shutdown"):
        assert stats[key] == 0, key

    for stream, want in (("stdout", want_out), ("stderr", want_err)):
        sel = '{service_name="%s", stream="%s"}' % (service, stream)
        got = wait_entries(loki, sel, t0, len(want))
        assert [e["line"] for e in got] == [w[0] for w in want], stream
        for e, (_, idx) in zip(got, want):
            trace_id, span_id = trace_of(idx)
            # (Loki adds its own detected_level)
            assert e["meta"]["trace_id"] == trace_id
            assert e["meta"]["span_id"] == span_id
            assert e["labels"] == {
                "namespace": "shop", "pod": "checkout-7d9f-abcde",
                "container": "app", "app": "checkout-api",
                "job": "shop/app", "node_name": "node-1",
                "pod_ip": "10.1.2.3", "cluster": "e2e", "stream": stream,
                "service_name": service}
        assert all(a["ts"] < b["ts"] for a, b in zip(got, got[1:]))

    # the link from a span to its lines: select by trace_id metadata
    trace_id, _ = trace_of(3)
    sel = '{service_name="%s"} | trace_id="%s"' % (service, trace_id)
    got = wait_entries(loki, sel, t0, 1)
    assert [e["line"] for e in got] == ["short 0003"]


def test_host_mode_labels(driver, loki):
    service = unique_service("host")
    t0 = time.time_ns() - 10**9
    stats, _ = run_driver(driver, loki, service, b"host line\n")
    assert stats["entries_sent"] == 1
    got = wait_entries(loki, '{service_name="%s"}' % service, t0, 1)
    assert len(got) == 1
    labels = got[0]["labels"]
    assert labels["process"] == "loki_push_driver"
    assert labels["stream"] == "stdout"
    assert labels["host"]
    assert "namespace" not in labels and "trace_id" not in labels


def test_burst_100k(driver, loki):
    service = unique_service("burst")
    n = 100_000
    data = b"".join(f"burst {i:06d}\n".encode() for i in range(n))
    t0 = time.time_ns() - 10**9
    stats, _ = run_driver(driver, loki, service, data, "--chunk", "4096",
                          "--multiline", "0")
    assert stats["records"] == n
    assert stats["entries_sent"] == n, stats
    got = wait_entries(loki, '{service_name="%s"}' % service, t0, n,
                       timeout=120)
    assert len(got) == n
    assert [e["line"] for e in got] == [f"burst {i:06d}" for i in range(n)]
    assert got[-1]["meta"]["trace_id"] == trace_of(n - 1)[0]


def test_400_drops_only_refused_entries(driver, loki):
    """Loki stores the valid entries of a request and answers 400 for the
    rest (here: timestamps an hour ahead). The exporter halves the batch
    to isolate them; re-sent valid entries are not duplicated."""
    service = unique_service("reject")
    lines, want = [], []
    for i in range(200):
        if i % 37 == 5:
            lines.append(f"line {i:03d} FUTURE\n")
        else:
            lines.append(f"line {i:03d}\n")
            want.append(f"line {i:03d}")
    t0 = time.time_ns() - 10**9
    stats, log = run_driver(driver, loki, service, "".join(lines).encode(),
                            "--future-marker", "FUTURE", "--multiline", "0",
                            "--flush-ms", "100")
    refused = 200 - len(want)
    assert stats["entries_rejected"] == refused, stats
    assert stats["entries_sent"] == len(want)
    assert stats["splits"] > 0
    assert "HTTP 400" in log and "too new" in log
    got = wait_entries(loki, '{service_name="%s"}' % service, t0, len(want))
    assert [e["line"] for e in got] == want


@pytest.mark.parametrize("outage_s", [4, 25])
def test_loki_down_then_up(driver, loki, tmp_path, outage_s):
    """Loki stops; lines within the queue bound wait and arrive once it is
    back, the overflow is counted; nothing is duplicated. 25 s outlasts
    the retry policy's attempts (~15 s): the batch is kept while nothing
    else is being dropped."""
    service = unique_service("outage")
    n = 3000
    data = b"".join(f"outage {i:05d}\n".encode() for i in range(n))
    (tmp_path / "lines").write_bytes(data)
    t0 = time.time_ns() - 10**9
    loki.stop()
    with open(tmp_path / "lines", "rb") as stdin:
        proc = subprocess.Popen(
            driver_cmd(driver, loki, service, "--queue-bytes", "131072",
                       "--multiline", "0", "--deadline-ms", "120000"),
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(outage_s)  # failed attempts
        assert proc.poll() is None  # still holding the lines
    finally:
        loki.restart()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode(errors="replace")
    stats = json.loads(out)
    assert stats["entries_dropped_queue_full"] > 0
    assert stats["entries_sent"] > 0
    assert stats["entries_sent"] + stats["entries_dropped_queue_full"] == n
    assert stats["entries_dropped_failed"] == 0
    assert stats["entries_dropped_shutdown"] == 0
    assert stats["retries"] >= (5 if outage_s > 20 else 1)
    assert b"queue full" in err
    got = wait_entries(loki, '{service_name="%s"}' % service, t0,
                       stats["entries_sent"])
    idx = [int(e["line"].split()[1]) for e in got]
    assert len(idx) == stats["entries_sent"]
    assert idx == sorted(set(idx))  # in order, each once
    assert idx[0] == 0  # the oldest lines were kept
