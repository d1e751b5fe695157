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


# ---------------------------------------------------------------- logbench

import logbench  # noqa: E402

PROM = """# HELP ebpftrace_loki_lines_sent_total Log records Loki accepted.
# TYPE ebpftrace_loki_lines_sent_total counter
ebpftrace_loki_lines_sent_total 12345
ebpftrace_loki_lines_dropped_total{reason="queue_full"} 7
ebpftrace_loki_lines_dropped_total{reason="rejected"} 3
loki_source_file_files_active_total{component_id="loki.source.file.bench"} 1
weird_metric NaN
"""


def test_parse_summary():
    s = logbench.parse_summary("lines=1283328 bytes=212788039 seconds=5.008239\n")
    assert s == {"lines": 1283328, "bytes": 212788039, "seconds": 5.008239}
    assert logbench.parse_summary("") == {}


def test_parse_prom_and_sum():
    v = logbench.parse_prom(PROM)
    assert v["ebpftrace_loki_lines_sent_total"] == 12345
    assert logbench.prom_sum(v, "ebpftrace_loki_lines_dropped_total") == 10
    assert logbench.prom_sum(v, "loki_source_file_files_active_total") == 1
    assert logbench.prom_sum(v, "ebpftrace_loki_lines") is None  # no prefix match
    assert logbench.prom_sum(v, "absent_total") is None


def test_loki_count():
    doc = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1764370000.123, "1000000"]}]}}
    assert logbench.loki_count(doc) == 1000000
    assert logbench.loki_count({"data": {"result": []}}) == 0
    assert logbench.loki_count(None) == 0


def test_highest_loss_free_and_report_section():
    sweep = [{"rate": 25000, "loss_free": True},
             {"rate": 50000, "loss_free": True, "written": 250000, "captured": 250000,
              "delivered": 250000, "ringbuf_drops": 0, "dropped": 0},
             {"rate": 100000, "loss_free": False, "written": 5, "delivered": 4},
             {"rate": 150000, "error": "boom"}]
    assert logbench.highest_loss_free(sweep) == 50000
    assert logbench.highest_loss_free([{"rate": 1, "loss_free": False}]) is None
    assert logbench.highest_loss_free(sweep + [{"rate": 9e5, "loss_free": True,
                                                "queue_bytes": "512MiB"}]) == 50000
    row = {"written_per_s": 2e5, "delivered_per_s": 1.5e5, "cpu_cores": 0.5,
           "lines_per_cpu_s": 3e5, "hwm_kb": 20480, "lost": 0}
    summ = {"ebpftrace": dict(row, ringbuf_drops=0, dropped=0, written_per_s_range=[1e5, 3e5]),
            "shipper": dict(row, lines_per_cpu_s=5e4),
            "baseline": {"written_per_s": 4e5, "writer_us_per_line": 2.5}}
    lg = {"machine": {"date": "today"},
          "settings": {"lines": 1000, "max_seconds": 20, "rounds": 1, "settle": 8,
                       "rate_seconds": 5, "loki": "loki-v3"},
          "shipper": {"name": "Promtail", "version": "v3", "module": "m", "build": "b",
                      "alloy_error": "403 Forbidden", "alloy_version": "v1.10.0"},
          "summary": summ, "sweep": sweep, "ratio_vs_shipper": 6.0,
          "highest_loss_free_rate": 50000, "zero_loss_at_100k": False,
          "loki_capacity": {"lines_per_s": 40000, "loki_lines_per_cpu_s": 90000},
          "targets": logbench.TARGETS,
          "commands": {"ebpftrace": "ebpftrace run", "promtail config": "a\nb"}}
    text = "\n".join(report.logs_section(lg))
    assert "## Log capture" in text
    assert "| 300,000 |" in text and "200,000 (100,000–300,000)" in text
    assert "6.0× the lines per CPU-second (target ≥ 2×: met)" in text
    assert "Highest loss-free rate (default queue): 50,000 lines/s; zero loss at 100,000 lines/s: **no**" in text
    assert "failed: boom" in text
    assert "| 50,000 | 250,000 | n/a | 250,000 | 0 | 250,000 | 0 | n/a | yes |" in text
    assert "| writer alone, stdout a pipe to cat (no capture) | 400,000 |" in text
    assert "40,000 lines/s, 90,000 lines per Loki CPU-second" in text
    assert "ebpftrace: ebpftrace run" in text and "promtail config: a" not in text
    assert "Promtail configuration:" in text and "| Promtail v3 tailing a file" in text
    assert "Grafana Alloy v1.10.0 could not be built here" in text and "403 Forbidden" in text
