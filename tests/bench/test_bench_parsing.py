"""Unit tests of the benchmark harness's parsers and report (no servers).

Run: python3 -m pytest -q tests/bench/test_bench_parsing.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
import report  # noqa: E402

WRK_OUT = """Running 10s test @ http://127.0.0.1:41615/hello
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   703.34us    2.02ms  44.54ms   95.29%
    Req/Sec    23.16k     8.41k   41.24k    66.67%
  Latency Distribution
     50%  254.00us
     75%  454.00us
     90%    1.37ms
     99%    1.20s
  235079 requests in 5.10s, 23.99MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:  46094.09
Transfer/sec:      4.70MB
"""


def test_parse_wrk_reads_rate_latency_and_errors():
    r = bench.parse_wrk(WRK_OUT)
    assert r["rps"] == 46094.09
    assert r["requests"] == 235079
    assert r["p50_us"] == 254.0
    assert r["p99_us"] == 1.2e6
    assert r["errors"] == 7
    assert r["non2xx"] == 17


def test_parse_wrk_without_result_gives_none():
    r = bench.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
    assert r["rps"] is None and r["p99_us"] is None


def test_to_us_units():
    assert bench.to_us("12.5ms") == 12500.0
    assert bench.to_us("3us") == 3.0
    assert bench.to_us("2.00s") == 2e6
    assert bench.to_us("garbage") is None


def test_summarize_stats_is_lenient_about_nesting():
    s = bench.summarize_stats({"events": 100, "ringbuf_drops": 2,
                               "spans": {"spans": 40, "spans_dropped": 3},
                               "export": {"queue_dropped": 5, "lost_events": 1},
                               "ok": True})
    assert s["events"] == 100
    assert s["ringbuf_drops"] == 2
    assert s["spans"] == 40
    assert s["spans_dropped"] == 3
    assert s["losses"] == 2 + 3 + 5 + 1


def test_summarize_stats_missing_file():
    assert bench.summarize_stats(None) is None
    s = bench.summarize_stats({"unrelated": 1})
    assert s["events"] is None and s["losses"] == 0


def test_tracer_command_modes():
    cfg = bench.Config()
    cfg.ebpftrace, cfg.tracer_args = "/x/ebpftrace", ["--log-level", "warn"]
    assert bench.tracer_cmd(cfg, "hook", 42, "/s.json") == [
        "/x/ebpftrace", "run", "--hook-only", "--pid", "42", "--format", "none",
        "--stats-file", "/s.json", "--log-level", "warn"]
    assert "--hook-only" not in bench.tracer_cmd(cfg, "full", 42, "/s.json")


def test_cpu_ticks_of_self_and_of_missing_pid():
    assert bench.cpu_ticks(os.getpid()) >= 0
    assert bench.cpu_ticks(2 ** 22 + 12345) is None


def test_paired_ratio_uses_same_round():
    base = [{"round": 0, "rps": 100.0}, {"round": 1, "rps": 200.0}]
    rows = [{"round": 0, "rps": 90.0}, {"round": 1, "rps": 100.0}, {"round": 2, "rps": 5.0}]
    assert report.paired_ratios(rows, base) == [0.9, 0.5]


OTLP_ENCODE_OUT = """otlp_encode_gzip_spans_per_cpu_second 312345
otlp_gzip_bytes_per_span 57.4
"""
OTLP_POST_OUT = """otlp_post_thread_spans_per_cpu_second 251000
otlp_post_spans_per_cpu_second 150000
otlp_bench: 200000 of 200000 spans exported in 391 requests (0 errors), 1.33 cpu-s
"""


def test_parse_otlp_bench_both_modes():
    assert bench.parse_otlp_bench(OTLP_ENCODE_OUT) == {
        "spans_per_cpu_second": 312345.0, "gzip_bytes_per_span": 57.4}
    assert bench.parse_otlp_bench(OTLP_POST_OUT) == {
        "post_thread_spans_per_cpu_second": 251000.0,
        "post_spans_per_cpu_second": 150000.0}
    assert bench.parse_otlp_bench("otlp_bench: out of memory\n") == {}


def test_report_otlp_section():
    ob = dict(bench.parse_otlp_bench(OTLP_ENCODE_OUT + OTLP_POST_OUT), post_spans=200000)
    md = "\n".join(report.otlp_section(ob))
    assert "312,345 spans encoded + gzipped per CPU second (57.4 gzip bytes per span)" in md
    assert "post <sink>/v1/traces 200000" in md
    assert "251,000 spans encoded, compressed and posted per CPU second of the exporter" in md
    assert "150,000 per CPU second of the whole process" in md
    ob = {"spans_per_cpu_second": 1000.0, "error": "otlp-bench-sink did not get ready"}
    assert "Post mode not measured: otlp-bench-sink did not get ready" in \
        "\n".join(report.otlp_section(ob))
    assert "not built" in "\n".join(report.otlp_section(None))


def test_report_marks_unmeasured_conditions(tmp_path):
    row = {"round": 0, "rps": 1000.0, "requests": 10000, "p50_us": 100.0,
           "p99_us": 900.0, "server_cpu_us_per_req": 20.0}
    data = {
        "machine": {"date": "2025-01-01 00:00:00 UTC", "kernel": "6.18", "nproc": 2,
                    "cpu": "cpu", "memory": "1 GiB", "os": "os", "java": "j", "go": "g",
                    "wrk": "w", "agent": None, "ebpftrace": None, "ebpftrace_commit": "abc"},
        "settings": {"rounds": 1, "seconds": 2, "conns": 16, "wrk_threads": 2,
                     "warmup": 1, "sweep_seconds": 1, "note": "", "wrk": "wrk ...",
                     "jvm_opts": []},
        "conditions": [{"key": "go:untraced", "label": "untraced", "workload": "go",
                        "tracer": None, "otlp": False},
                       {"key": "go:hook", "label": "ebpftrace hook-only", "workload": "go",
                        "tracer": "hook", "otlp": False}],
        "skip_reason": "no tracer binary at build/ebpftrace", "failed": {},
        "commands": {}, "results": {"go:untraced": [row], "go:hook": []},
        "sweep": [], "otlp_bench": None, "elapsed_s": 3,
    }
    report.write(data, str(tmp_path))
    md = (tmp_path / "benchmarks.md").read_text()
    assert "**Preliminary.**" in md
    assert "| untraced | 1,000 | 1,000–1,000 | 1.00 |" in md
    assert "other CPU %" in md
    assert "not measured (no tracer binary at build/ebpftrace)" in md
