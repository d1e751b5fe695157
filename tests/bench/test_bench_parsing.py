"""Unit tests of the benchmark harness's parsers and report (no servers).

Run: python3 -m pytest -q tests/bench/test_bench_parsing.py
"""
import os
import pytest
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


def test_gap_to_hook_only_is_paired_by_round():
    """Round 1 ran slow for every condition: the rounds' gaps see it, and
    a fully-on run faster than hook-only reads as points above."""
    rows = lambda *v: [{"round": i, "rps": x} for i, x in enumerate(v)]
    data = {"results": {"w:untraced": rows(100.0, 50.0, 100.0),
                        "w:hook": rows(95.0, 48.0, 90.0),
                        "w:full": rows(90.0, 44.0, 92.0)}}
    gaps = report.paired_gaps(data, "w", "")
    assert [round(g, 1) for g in gaps] == [5.0, 8.0, -2.0]
    assert report._gap_words(-2.0) == "2.0 points above"
    cell = report._gap_cell(gaps, 1.5)
    assert cell.startswith("5.0 points below: median of the rounds' gaps 5.0, 8.0, -2.0")
    assert cell.endswith("1.5 points below between the medians of ratios")


OTLP_ENCODE_OUT = """otlp_encode_gzip_spans_per_cpu_second 312345
otlp_gzip_bytes_per_span 57.4
otlp_raw_bytes_per_span 468.6
"""
OTLP_POST_OUT = """otlp_post_thread_spans_per_cpu_second 251000
otlp_post_spans_per_cpu_second 150000
otlp_bench: 200000 of 200000 spans exported in 391 requests (0 errors), 1.33 cpu-s
otlp_post_plain_thread_spans_per_cpu_second 904094
otlp_post_plain_spans_per_cpu_second 455617
"""


def test_parse_otlp_bench_both_modes():
    assert bench.parse_otlp_bench(OTLP_ENCODE_OUT) == {
        "spans_per_cpu_second": 312345.0, "gzip_bytes_per_span": 57.4,
        "raw_bytes_per_span": 468.6}
    assert bench.parse_otlp_bench(OTLP_POST_OUT) == {
        "post_thread_spans_per_cpu_second": 251000.0,
        "post_spans_per_cpu_second": 150000.0,
        "post_plain_thread_spans_per_cpu_second": 904094.0,
        "post_plain_spans_per_cpu_second": 455617.0}
    assert bench.parse_otlp_bench("otlp_bench: out of memory\n") == {}


def test_report_otlp_section():
    ob = dict(bench.parse_otlp_bench(OTLP_ENCODE_OUT + OTLP_POST_OUT), post_spans=200000)
    md = "\n".join(report.otlp_section(ob))
    assert "312,345 spans encoded + gzipped per CPU second (57.4 gzip bytes per span, " \
        "468.6 before compression)" in md
    assert "`otlp.compression: none`" in md
    assert "904,094 spans per CPU second of the exporter thread, 455,617 of the whole" in md
    assert "post <sink>/v1/traces 200000" in md
    assert "251,000 spans encoded, compressed and posted per CPU second of the exporter" in md
    assert "150,000 per CPU second of the whole process" in md
    ob["post_rounds"] = {"post_thread_spans_per_cpu_second": [251000.0, 240000.0, 260500.0],
                         "post_plain_thread_spans_per_cpu_second": [904094.0]}
    md = "\n".join(report.otlp_section(ob))
    assert "per CPU second of the exporter thread (median of 3 rounds, 240,000–260,500); " \
        "150,000" in md
    assert "904,094 spans per CPU second of the exporter thread, 455,617" in md
    ob = {"spans_per_cpu_second": 1000.0, "error": "otlp-bench-sink did not get ready"}
    assert "Post mode not measured: otlp-bench-sink did not get ready" in \
        "\n".join(report.otlp_section(ob))
    assert "not built" in "\n".join(report.otlp_section(None))


def test_report_startup_section():
    st = {"runs": {"tracepoints": [420, 380, 460], "raw": [600, 560, 700]},
          "command": "build/ebpftrace run --format none [--hooks raw]"}
    md = "\n".join(report.startup_section(st))
    assert "tracepoints (default): 420 ms median (380–460 ms, 3 runs)" in md
    assert "`--hooks raw`: 600 ms median (560–700 ms, 3 runs)" in md
    assert "Not measured" in "\n".join(report.startup_section(None))
    st["error"] = "no ready line"
    assert "Error: no ready line" in "\n".join(report.startup_section(st))


def test_time_to_ready_reads_stderr(tmp_path):
    ms = bench.time_to_ready([sys.executable, "-c",
                              "import sys,time; time.sleep(0.2); print('x: ready', file=sys.stderr); time.sleep(30)"])
    assert 150 <= ms < 10000
    with pytest.raises(RuntimeError):
        bench.time_to_ready([sys.executable, "-c", "print('no')"])


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


# ---------------------------------------------------------------- syscalls

import subprocess  # noqa: E402

import sysbench  # noqa: E402

SYSCALL_OUT = """getppid calls=1005000 slices=25 wall_ns=532.08 cpu_ns=298.60 median_cpu_ns=297.84 min_cpu_ns=285.05
read calls=806000 slices=25 wall_ns=658.63 cpu_ns=411.09 median_cpu_ns=412.79 min_cpu_ns=388.93
write calls=966000 slices=25 wall_ns=597.30 cpu_ns=332.23 median_cpu_ns=335.03 min_cpu_ns=309.90
"""


def test_parse_syscall_bench():
    r = sysbench.parse_syscall_bench(SYSCALL_OUT)
    assert set(r) == {"getppid", "read", "write"}
    assert r["getppid"] == {"calls": 1005000, "slices": 25, "wall_ns": 532.08,
                            "cpu_ns": 298.6, "median_cpu_ns": 297.84, "min_cpu_ns": 285.05}
    assert r["write"]["median_cpu_ns"] == 335.03
    # a line cut short, an unknown name and noise are left out
    r = sysbench.parse_syscall_bench("read calls=5 slices=1 wall_ns=1\nopen calls=1\n"
                                     "syscall_bench: read /dev/zero: EIO\n")
    assert r == {}


def test_syscall_bench_builds_and_prints_every_syscall(tmp_path):
    exe = str(tmp_path / "syscall_bench")
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe,
                    os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "syscall_bench.c")], check=True)
    out = subprocess.run([exe, "-d", "0.05", "-s", "5"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    r = sysbench.parse_syscall_bench(out)
    assert set(r) == set(sysbench.SYSCALLS)
    for row in r.values():
        assert row["calls"] > 0 and row["slices"] >= 5
        assert 0 < row["min_cpu_ns"] <= row["median_cpu_ns"]
    bad = subprocess.run([exe, "-d", "0"], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_bracket_is_the_mean_of_the_untraced_runs_around():
    def run(g, r, w):
        return {"syscalls": {"getppid": {"median_cpu_ns": g}, "read": {"median_cpu_ns": r},
                             "write": {"median_cpu_ns": w}}}
    assert sysbench.bracket(run(100, 200, 300), run(120, 220, 320)) == {
        "getppid": 110, "read": 210, "write": 310}
    assert sysbench.bracket(None, run(1, 2, 3)) == {"getppid": 1, "read": 2, "write": 3}


def test_other_tracers_leaves_out_this_process_and_excluded_pids():
    pids = sysbench.other_tracers()
    assert os.getpid() not in pids
    assert all(p not in sysbench.other_tracers(exclude=pids) for p in pids)


def _sc(g, r, w):
    return {"getppid": {"median_cpu_ns": g}, "read": {"median_cpu_ns": r},
            "write": {"median_cpu_ns": w}}


def syscall_data(raw_getppid=600.0):
    """Two rounds; untraced runs around each traced one (sysbench.run's shape)."""
    u = [{"round": 0, "syscalls": _sc(300, 400, 400), "other_cpu_pct": 10.0},
         {"round": 0, "syscalls": _sc(320, 420, 420), "other_cpu_pct": 20.0},
         {"round": 1, "syscalls": _sc(310, 410, 410), "other_cpu_pct": 30.0, "other_tracers": 1}]
    stats = {"spans": 0, "log_records": 0, "events": 3}
    tp = [{"round": 0, "syscalls": _sc(330, 700, 650), "baseline":
           {"getppid": 300.0, "read": 410.0, "write": 410.0}, "other_cpu_pct": 5.0,
           "stats": stats},
          {"round": 1, "syscalls": _sc(350, 760, 700), "other_cpu_pct": 7.0, "stats": stats}]
    raw = [{"round": 0, "syscalls": _sc(raw_getppid, 900, 900),
            "baseline": {"getppid": 310.0, "read": 410.0, "write": 410.0},
            "other_cpu_pct": 5.0, "stats": stats, "other_tracers": 2}]
    return {"date": "2026-11-29 03:00:00 UTC",
            "settings": {"rounds": 2, "seconds": 1, "slice_ms": 20, "wait": 10},
            "conditions": [{"key": k, "label": lb, "tracer": m}
                           for k, lb, m in sysbench.CONDITIONS],
            "results": {"untraced": u, "full": tp, "full-raw": raw, "hook": [],
                        "hook-raw": []},
            "failed": {"hook": "ebpftrace exited (1):\nno BTF"}, "skip_reason": None,
            "commands": {"syscall_bench": "build/bench/syscall_bench -d 1 -s 20"}}


def test_syscalls_summary_adds_against_the_bracketing_runs():
    s = report.syscalls_summary(syscall_data())
    assert s["untraced"]["n"] == 3 and s["untraced"]["getppid"]["ns"] == 310
    assert s["untraced"]["getppid"]["added"] is None
    assert s["untraced"]["with_other_tracers"] == 1
    # round 0 against its bracket (300, not its round's median 310), round 1
    # (no bracket) against the untraced run of its round (310): +30 and +40
    assert s["full"]["getppid"]["added"] == 35
    assert (s["full"]["getppid"]["added_min"], s["full"]["getppid"]["added_max"]) == (30, 40)
    assert s["full"]["read"]["added"] == (290 + 350) / 2
    assert s["full"]["spans"] == 0 and s["full"]["log_records"] == 0
    assert s["full-raw"]["getppid"]["added"] == 290
    assert s["full-raw"]["with_other_tracers"] == 1
    assert "hook" not in s
    # raw minus tracepoints, paired by round: round 0 only (290 - 30)
    assert report.raw_vs_tracepoints(syscall_data(), "getppid") == (260, 260, 260)


def test_syscalls_section_table():
    md = "\n".join(report.syscalls_section(syscall_data()))
    assert "## Cost to processes that are not traced" in md
    assert "| untraced | 310 (300–320) | — | 410 (400–420) | — |" in md
    assert "| tracepoints, fully on | 340 (330–350) | +35 (+30–+40) |" in md
    assert "| --hooks raw, fully on | 600 (600–600) | +290 (+290–+290) |" in md
    assert "| 5 | 1 | 0 / 0 | 1 |" in md  # other CPU, other tracers, spans / logs, runs
    assert "| tracepoints, hook-only | not measured (failed, see below) |" in md
    assert "- Fully on, `--hooks raw`: +290 ns per `getppid`, +490 per `read`" in md
    assert "no BTF" in md and "build/bench/syscall_bench -d 1 -s 20" in md
    assert "20 ms slices" in md and "1 s per syscall" in md and "2 rounds" in md
    assert report.syscalls_section(None)[-2] == "Not measured in this run."
    assert "did not build: cc" in "\n".join(
        report.syscalls_section({"error": "syscall_bench did not build: cc"}))


def test_hooks_paragraph_cites_the_numbers_and_backs_the_default():
    text = report.hooks_paragraph({"conditions": []}, {}, syscall_data())
    assert "tracepoints add +35 ns per `getppid`" in text
    assert "(the +35 ns on `getppid`)" in text
    assert "raw adds +290, +490 and +490" in text
    assert "getppid +260 (+260–+260)" in text
    assert "`tracepoints` is the cheaper for processes that are not traced (in every round)" in text
    assert "The default stays `tracepoints`" in text
    # raw no costlier on getppid: the text says the run does not back the default
    text = report.hooks_paragraph({"conditions": []}, {}, syscall_data(raw_getppid=320.0))
    assert "was not costlier" in text and "which this run does not back" in text
    text = report.hooks_paragraph({"conditions": []}, {}, None)
    assert "was not measured in this run" in text


def test_hooks_paragraph_cites_the_http_rounds():
    summ = {"go:full": {"ratio": 0.75, "ratio_min": 0.70, "ratio_max": 0.80},
            "go:full-raw": {"ratio": 0.9, "ratio_min": 0.85, "ratio_max": 0.95}}
    text = report.hooks_paragraph({"conditions": [{"workload": "go"}]}, summ, syscall_data())
    assert "go 0.750 (0.700–0.800) with tracepoints, 0.900 (0.850–0.950) with raw." in text
    summ["go:full-raw"]["ratio_min"] = 0.79
    text = report.hooks_paragraph({"conditions": [{"workload": "go"}]}, summ, syscall_data())
    assert "with raw (ranges overlap)" in text


def test_report_renders_the_syscall_section_and_documents_running_it(tmp_path):
    data = {
        "machine": {"date": "2025-01-01 00:00:00 UTC", "kernel": "6.18", "nproc": 2,
                    "cpu": "cpu", "memory": "1 GiB", "os": "os", "java": "j", "go": "g",
                    "wrk": "w", "agent": None, "ebpftrace": None, "ebpftrace_commit": "abc"},
        "settings": {"rounds": 5, "seconds": 10, "conns": 16, "wrk_threads": 2,
                     "warmup": 1, "sweep_seconds": 1, "note": "", "wrk": "wrk ...",
                     "jvm_opts": []},
        "conditions": [], "skip_reason": None, "failed": {}, "commands": {},
        "results": {}, "sweep": [], "otlp_bench": None, "elapsed_s": 3,
        "syscalls": syscall_data(), "logs": None,
    }
    report.write(data, str(tmp_path))
    md = (tmp_path / "benchmarks.md").read_text()
    assert md.index("## Cost to processes that are not traced") < md.index("## Targets")
    assert "| --hooks raw, fully on | 600 (600–600) |" in md
    assert "Per-syscall tracepoints vs `--hooks raw`" in md and "raw adds +290" in md
    assert "`BENCH_ONLY_SYSCALLS=1 make bench`" in md
    assert "BENCH_ONLY_SYSCALLS=1" in bench.__doc__ and "BENCH_SYSCALLS=0" in bench.__doc__


def test_run_sh_runs_the_syscall_part_alone():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.sh")) as f:
        text = f.read()
    assert 'BENCH_ONLY_SYSCALLS:-0}" = 1' in text and "exec python3 tests/bench/sysbench.py" in text
