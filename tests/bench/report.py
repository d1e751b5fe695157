"""Renders benchmark results (bench.py's results.json) into
docs/benchmarks.md and docs/benchmarks.png."""
import json
import os
import statistics

WORKLOAD_TITLES = {
    "jdk": "JDK 17 HttpServer, GET /hello (hello world: the worst case)",
    "go": "Go net/http, GET /hello (hello world: the worst case)",
}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def span(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def fmt(x, digits=0, scale=1.0):
    if x is None:
        return "n/a"
    return "{:,.{d}f}".format(x * scale, d=digits)


def paired_ratios(rows, base_rows):
    base = {r["round"]: r["rps"] for r in base_rows}
    return [r["rps"] / base[r["round"]] for r in rows if base.get(r["round"])]


def stat_of(rows, key):
    vals = []
    for r in rows:
        st = r.get("stats") or {}
        vals.append(st.get(key))
    return vals


def summarize(rows, base_rows):
    s = {"n": len(rows)}
    rps = [r["rps"] for r in rows]
    s["rps"], (s["rps_min"], s["rps_max"]) = med(rps), span(rps)
    ratios = paired_ratios(rows, base_rows) if base_rows else []
    s["ratio"], (s["ratio_min"], s["ratio_max"]) = med(ratios), span(ratios)
    if s["ratio"] is None and base_rows and s["rps"]:
        s["ratio"] = s["rps"] / med([r["rps"] for r in base_rows])
    for k in ("p50_us", "p99_us", "server_cpu_us_per_req", "tracer_cpu_us_per_req",
              "tracer_rss_kb", "tracer_hwm_kb", "other_cpu_pct"):
        s[k] = med([r.get(k) for r in rows])
    s["p99_min"], s["p99_max"] = span([r.get("p99_us") for r in rows])
    ev = [(st or {}).get("events") for st in (r.get("stats") for r in rows)]
    per_req = [e / r["requests"] for e, r in zip(ev, rows) if e is not None and r.get("requests")]
    s["events_per_req"] = med(per_req)
    s["has_stats"] = any(r.get("stats") for r in rows)
    for k in ("ringbuf_drops", "spans_dropped", "losses", "events", "spans"):
        vals = [v for v in stat_of(rows, k) if v is not None]
        s[k] = sum(vals) if vals else None
    s["errors"] = sum(r.get("errors", 0) + r.get("non2xx", 0) for r in rows)
    s["sink_bytes_per_req"] = med([r["sink_bytes"] / r["requests"] for r in rows
                                   if r.get("sink_bytes") is not None and r.get("requests")])
    return s


def table(data, workload):
    conds = [c for c in data["conditions"] if c["workload"] == workload]
    res = data["results"]
    base_rows = res.get(workload + ":untraced", [])
    out = ["| condition | req/s median | min–max | vs untraced (paired, min–max) | p50 ms | "
           "p99 ms (min–max) | server CPU µs/req | tracer CPU µs/req | tracer RSS MiB | "
           "events/req | losses (ringbuf / spans) | other CPU % | rounds |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summaries = {}
    for c in conds:
        rows = res.get(c["key"], [])
        if not rows:
            why = data["failed"].get(c["key"]) and "failed, see below" or \
                (data.get("skip_reason") if c["tracer"] else None) or "no data"
            out.append("| %s | not measured (%s) |  |  |  |  |  |  |  |  |  |  |  |"
                       % (c["label"], why))
            continue
        s = summarize(rows, base_rows if c["key"] != workload + ":untraced" else None)
        summaries[c["key"]] = s
        ratio = "1.00" if c["key"].endswith(":untraced") else "%s (%s–%s)" % (
            fmt(s["ratio"], 3), fmt(s["ratio_min"], 3), fmt(s["ratio_max"], 3))
        tracer = bool(c["tracer"])
        if not tracer:
            losses = "—"
        elif not s["has_stats"]:
            losses = "n/a"
        else:
            losses = "%s / %s" % (fmt(s["ringbuf_drops"]), fmt(s["spans_dropped"]))
        out.append("| %s | %s | %s–%s | %s | %s | %s (%s–%s) | %s | %s | %s | %s | %s | %s | %d |" % (
            c["label"], fmt(s["rps"]), fmt(s["rps_min"]), fmt(s["rps_max"]), ratio,
            fmt(s["p50_us"], 3, 1e-3), fmt(s["p99_us"], 2, 1e-3), fmt(s["p99_min"], 2, 1e-3),
            fmt(s["p99_max"], 2, 1e-3), fmt(s["server_cpu_us_per_req"], 1),
            fmt(s["tracer_cpu_us_per_req"], 2) if tracer else "—",
            fmt(s["tracer_rss_kb"], 1, 1 / 1024) if tracer else "—",
            fmt(s["events_per_req"], 2) if tracer else "—", losses,
            fmt(s["other_cpu_pct"]), s["n"]))
    return out, summaries


def sweep_section(data):
    rows = data.get("sweep") or []
    if not rows:
        why = data.get("skip_reason") or "disabled or tracer failed"
        return ["Not measured (%s)." % why]
    wl = rows[0].get("workload", "jdk")
    out = ["ebpftrace fully on (console off), %s server, GET /hello, wrk closed loop with a "
           "fixed number of connections, %ds per step:" % (
               wl, data["settings"]["sweep_seconds"]), "",
           "| connections | req/s | p99 ms | tracer CPU µs/req | events | ringbuf drops | "
           "spans dropped | all losses |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    best = None
    for r in rows:
        if "error" in r:
            out.append("| %d | failed: %s |  |  |  |  |  |  |" % (r["conns"], r["error"][:80]))
            continue
        st = r.get("stats") or {}
        out.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["conns"], fmt(r["rps"]), fmt(r.get("p99_us"), 2, 1e-3),
            fmt(r.get("tracer_cpu_us_per_req"), 2), fmt(st.get("events")),
            fmt(st.get("ringbuf_drops")), fmt(st.get("spans_dropped")), fmt(st.get("losses"))))
        if st and st.get("losses") == 0 and (best is None or r["rps"] > best["rps"]):
            best = r
    out.append("")
    if best:
        out.append("Highest zero-loss rate observed: **%s req/s** (%d connections). wrk2 is "
                   "not available, so this is the best closed-loop point, not an open-loop "
                   "rate search." % (fmt(best["rps"]), best["conns"]))
    else:
        out.append("No step ran without losses (or the tracer wrote no stats file).")
    return out


def plot(data, path, summaries):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = [w for w in dict.fromkeys(c["workload"] for c in data["conditions"])
                 if any(k.startswith(w + ":") for k in summaries)]
    if not workloads:
        return False
    fig, axes = plt.subplots(2, len(workloads), figsize=(6.5 * len(workloads), 7.5),
                             squeeze=False)
    for col, w in enumerate(workloads):
        conds = [c for c in data["conditions"] if c["workload"] == w and c["key"] in summaries]
        labels = [c["label"] for c in conds]
        ss = [summaries[c["key"]] for c in conds]
        ys = range(len(conds))
        colors = ["#777777" if not c["tracer"] and "agent" not in c["key"] else
                  "#d1742c" if "agent" in c["key"] else "#2c7bb6" for c in conds]
        for row, (key, lo, hi, scale, title) in enumerate((
                ("rps", "rps_min", "rps_max", 1.0, "throughput, req/s (median, min–max)"),
                ("p99_us", "p99_min", "p99_max", 1e-3, "p99 latency, ms (median, min–max)"))):
            ax = axes[row][col]
            vals = [s[key] * scale for s in ss]
            err = [[(s[key] - s[lo]) * scale for s in ss], [(s[hi] - s[key]) * scale for s in ss]]
            ax.barh(list(ys), vals, xerr=err, color=colors, capsize=3)
            ax.set_yticks(list(ys))
            ax.set_yticklabels(labels, fontsize=8)
            ax.invert_yaxis()
            ax.set_title("%s — %s" % (w, title), fontsize=9)
            for y, v, s in zip(ys, vals, ss):
                txt = "%.0f" % v if row == 0 else "%.2f" % v
                if row == 0 and s.get("ratio") is not None:
                    txt += "  (%.2f×)" % s["ratio"]
                ax.text(0, y, "  " + txt, va="center", fontsize=8, color="white",
                        fontweight="bold")
            ax.margins(x=0.05)
    fig.suptitle("ebpftrace benchmark, %s, %s cores (%s)" % (
        data["machine"]["date"][:10], data["machine"]["nproc"], data["machine"]["kernel"]),
        fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def header(data):
    m, st = data["machine"], data["settings"]
    out = ["# Benchmarks", ""]
    prelim = st["rounds"] < 5 or st["seconds"] < 10
    if prelim or st.get("note"):
        out += ["> **Preliminary.** " + (
            "Short settings (%d rounds × %d s); rerun `make bench` with the defaults for "
            "numbers to quote. " % (st["rounds"], st["seconds"]) if prelim else "")
            + (st.get("note") or ""), ""]
    out += ["Generated by `make bench` (tests/bench/run.sh) on %s; ebpftrace commit `%s`." % (
        m["date"], m["ebpftrace_commit"]), "",
        "## Machine", "",
        "| | |", "|---|---|",
        "| kernel | %s |" % m["kernel"], "| OS | %s |" % m["os"],
        "| CPU | %s, %s cores (nproc) |" % (m["cpu"], m["nproc"]),
        "| memory | %s |" % m["memory"], "| Java | %s |" % m["java"],
        "| Go | %s |" % m["go"], "| wrk | %s |" % m["wrk"],
        "| OTel Java agent | %s |" % (m["agent"] or "not used"),
        "| ebpftrace | %s |" % (m["ebpftrace"] or "not present"), ""]
    return out


def method(data):
    st = data["settings"]
    out = ["## Method", "",
           "Client and servers share the machine's cores over loopback. All servers start "
           "once, get a warm-up (%d s of wrk for the JVMs), then every round runs each "
           "condition once for %d s, with the order rotated by one each round (%d rounds). "
           "Medians and min–max are across rounds; *vs untraced* is the median of per-round "
           "ratios to the untraced run of the same round, which cancels slow drift of the "
           "machine. CPU per request is (utime+stime) from `/proc/<pid>/stat` over the "
           "measured window divided by the requests wrk completed (1 µs/req = 0.001 cores "
           "per 1k req/s); server CPU includes the kernel time spent in BPF programs run on "
           "its syscalls. *Other CPU* is the machine's busy time (from `/proc/stat`) during "
           "the window minus that of wrk, the server, the tracer and the OTLP sink, in %% of "
           "one core: work from outside the benchmark; rounds with a high value are noisy. "
           "Tracer RSS is VmRSS at the end of the window; events and losses "
           "come from the tracer's `--stats-file` (whole tracer lifetime, including ~1 s of "
           "idle settle time before the load). The tracer is scoped with `--pid` to the "
           "server; the syscall tracepoints still fire for every process (wrk included)."
           % (st["warmup"], st["seconds"], st["rounds"]), "",
           "Exact commands (ports are picked at start; `<pid>` is the server's):", "",
           "```", st["wrk"]]
    out += ["%s: %s" % (k, v) for k, v in sorted(data["commands"].items())]
    out += ["```", ""]
    out += ["Parts alone: `BENCH_ONLY_SYSCALLS=1 make bench` runs only the cost to processes "
            "that are not traced (tests/bench/sysbench.py; `BENCH_SYSCALL_ROUNDS` (5), "
            "`BENCH_SYSCALL_SECONDS` (1, per syscall and run), `BENCH_SYSCALL_SLICE_MS` (20), "
            "`BENCH_SYSCALL_WAIT` (10 s to wait for other tracers on the host); "
            "`BENCH_SYSCALLS=0` leaves it out of a full run), `BENCH_ONLY_LOGS=1 make bench` "
            "only the log capture benchmark. A part run alone is merged into "
            "`build/bench/results.json` and this file re-rendered; the other settings are "
            "in tests/bench/bench.py's docstring.", ""]
    return out


def load_logs():
    """tests/bench/logbench.py's results, if a run left them."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(os.environ.get("BENCH_OUT", os.path.join(root, "build", "bench")),
                        "logs.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


LOG_LABELS = {"ebpftrace": "ebpftrace (BPF capture of stdout, pipe) → Loki",
              "shipper": "%s tailing a file → Loki"}


def logs_section(lg):
    """Markdown lines of the "Log capture" section from logs.json."""
    st, sh, summ = lg["settings"], lg.get("shipper") or {}, lg.get("summary") or {}
    shipper = "%s %s" % (sh.get("name", "shipper"), sh.get("version") or "")
    out = ["## Log capture", "",
           "Measured %s. A writer (`tests/bench/logwriter.c`) writes %s realistic log lines "
           "of ~165 bytes, one `write(2)` per line, as fast as it can (capped at %d s); they "
           "go into one real Loki (`%s`; ingestion rate limits raised so that Loki throttles "
           "neither side, its write-ahead log and log-level discovery off to spare its CPU "
           "for both sides alike). Rounds alternate the conditions (%d rounds); a round ends when "
           "Loki holds every line or nothing arrived for %d s. *Delivered* is counted in "
           "Loki (`sum(count_over_time({...}[1h]))`); CPU is the shipper's utime+stime "
           "from `/proc` over the whole window (first line written to last line "
           "delivered), so lines per CPU-second = delivered / CPU seconds; RSS is VmHWM "
           "(peak). Medians (min–max)." % (
               lg["machine"]["date"], "{:,}".format(st["lines"]), st["max_seconds"],
               st.get("loki", "loki"), st["rounds"], st["settle"]), "",
           "| condition | written lines/s | delivered lines/s | CPU cores | "
           "lines per CPU-second | RSS peak MiB | writer µs/line | Loki µs/line | losses |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]

    def rng(s, k, d=0, scale=1.0):
        r = s.get(k + "_range")
        if not r or r[0] == r[1]:
            return fmt(s.get(k), d, scale)
        return "%s (%s–%s)" % (fmt(s.get(k), d, scale), fmt(r[0], d, scale),
                               fmt(r[1], d, scale))
    b = summ.get("baseline")
    if b:
        out.append("| writer alone, stdout a pipe to cat (no capture) | %s | | | | | %s | | |" % (
            rng(b, "written_per_s"), rng(b, "writer_us_per_line", 2)))
    for key in ("ebpftrace", "shipper"):
        s = summ.get(key)
        if not s:
            continue
        label = LOG_LABELS[key] % shipper if "%s" in LOG_LABELS[key] else LOG_LABELS[key]
        loss = "%s lines not in Loki" % fmt(s.get("lost"))
        if key == "ebpftrace":
            loss += ", %s ring-buffer drops, %s dropped" % (
                fmt(s.get("ringbuf_drops")), fmt(s.get("dropped")))
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, rng(s, "written_per_s"), rng(s, "delivered_per_s"),
            rng(s, "cpu_cores", 2), rng(s, "lines_per_cpu_s"),
            fmt(s.get("hwm_kb"), 1, 1 / 1024), rng(s, "writer_us_per_line", 2),
            rng(s, "loki_us_per_line", 1), loss))
    out.append("")
    t = lg.get("targets") or {}
    e = summ.get("ebpftrace") or {}
    if e.get("lines_per_cpu_s"):
        out.append("- ebpftrace: %s delivered lines per CPU-second (target ≥ %s: %s)%s." % (
            fmt(e["lines_per_cpu_s"]), fmt(t.get("lines_per_cpu_s")),
            "met" if e["lines_per_cpu_s"] >= t.get("lines_per_cpu_s", 0) else "missed",
            "; %s captured lines per CPU-second (lines dropped at the full queue were "
            "captured, assembled and queued too)" % fmt(e["captured_per_cpu_s"])
            if e.get("captured_per_cpu_s") and e.get("dropped") else ""))
    if lg.get("ratio_vs_shipper"):
        out.append("- ebpftrace vs %s: %.1f× the lines per CPU-second (target ≥ %.0f×: %s)." % (
            shipper.strip(), lg["ratio_vs_shipper"], t.get("ratio_vs_shipper", 2),
            "met" if lg["ratio_vs_shipper"] >= t.get("ratio_vs_shipper", 2) else "missed"))
    out.append("- The CPU that the BPF programs spend in the writer's own `write(2)` calls "
               "is charged to the writer, not to ebpftrace: *writer µs/line* (the writer's "
               "utime+stime per line) against *writer alone* shows it. The file-tailing "
               "shipper's reads are in its own CPU (its writer writes to a file, not a pipe, "
               "which costs the writer more by itself). *Loki µs/line* is the CPU Loki spent "
               "per delivered line in the same window: what the push format (JSON+gzip for "
               "ebpftrace, protobuf+snappy for Promtail and Alloy) costs the receiver.")
    out += ["", "### Loss sweep (ebpftrace, fixed rates, %d s each)" % st["rate_seconds"], "",
            "| target lines/s | written | written lines/s | captured | ring-buffer drops | "
            "delivered | dropped (Loki queue) | CPU cores | loss-free |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in lg.get("sweep") or []:
        if r.get("error"):
            out.append("| %s | failed: %s | | | | | | | |" % (fmt(r["rate"]), r["error"][:80]))
            continue
        rate = fmt(r["rate"])
        if r.get("queue_bytes"):
            rate += " (`--loki-queue-bytes %s`)" % r["queue_bytes"]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            rate, fmt(r.get("written")), fmt(r.get("written_per_s")),
            fmt(r.get("captured")), fmt(r.get("ringbuf_drops")), fmt(r.get("delivered")),
            fmt(r.get("dropped")), fmt(r.get("cpu_cores"), 2),
            "yes" if r.get("loss_free") else "**no**"))
    out.append("")
    hi = lg.get("highest_loss_free_rate")
    out.append("Highest loss-free rate (default queue): %s lines/s; zero loss at %s lines/s: %s." % (
        fmt(hi) if hi else "none of the rates",
        fmt(t.get("loss_free_rate", 100000)),
        {True: "yes", False: "**no**", None: "not measured"}[lg.get("zero_loss_at_100k")]))
    cap = lg.get("loki_capacity") or {}
    if cap.get("lines_per_s"):
        out += ["", "Loki alone, in the same run (pre-built JSON+gzip bodies of 5,000 of the "
                "writer's lines posted one after the other, no shipper): %s lines/s, %s lines "
                "per Loki CPU-second. *Captured* lines are the tracer's log records "
                "(`--stats-file`); lines *dropped* were captured but did not fit the bounded "
                "queue (`loki.queue_bytes`, 32 MiB) while Loki accepted fewer lines per second "
                "than were written, and are counted. A file-tailing shipper does not drop "
                "there: it falls behind, with the file as its buffer." % (
                    fmt(cap["lines_per_s"]), fmt(cap.get("loki_lines_per_cpu_s")))]
    out += ["", "Shipper: %s, module `%s`, built by `tests/bench/build_shipper.sh`: %s" % (
        shipper.strip(), sh.get("module", "?"), sh.get("build", "not built")), ""]
    if sh.get("alloy_error"):
        out += ["Grafana Alloy %s could not be built here; the build's error:" % (
            sh.get("alloy_version") or ""), "", "```", sh["alloy_error"].strip(), "```", ""]
    if sh.get("note"):
        out += [sh["note"], ""]
    if sh.get("error"):
        out += ["The shipper could not be built:", "", "```", sh["error"].strip(), "```", ""]
    out += ["Commands (`<port>`s are picked at start):", "", "```"]
    out += ["%s: %s" % (k, v) for k, v in sorted((lg.get("commands") or {}).items())
            if "\n" not in v]
    out += ["```", ""]
    for k, v in sorted((lg.get("commands") or {}).items()):
        if k.endswith(" config"):
            out += ["%s configuration:" % k[:-7].capitalize(), "", "```", v.strip(), "```", ""]
    if lg.get("failed"):
        out += ["Failed runs:", ""]
        for k, v in lg["failed"].items():
            out += ["- `%s`: %s" % (k, v.strip().splitlines()[-1] if v.strip() else "")]
        out.append("")
    return out


def _post_rounds(ob, key):
    """ " (median of N rounds: min–max)" for a post figure measured in rounds."""
    v = (ob.get("post_rounds") or {}).get(key) or []
    if len(v) < 2:
        return ""
    return " (median of %d rounds, %s–%s)" % (len(v), fmt(min(v)), fmt(max(v)))


def otlp_section(ob):
    """Markdown lines of the "OTLP encoding" section from bench.run_otlp_bench."""
    out = ["## OTLP encoding", ""]
    if not ob or not ob.get("spans_per_cpu_second"):
        return out + ["Not measured (`build/otlp_bench` %s)." % (
            "failed" if ob else "not built"), ""]
    gz, raw = ob.get("gzip_bytes_per_span"), ob.get("raw_bytes_per_span")
    out.append("- `build/otlp_bench`: %s spans encoded + gzipped per CPU second%s." % (
        fmt(ob["spans_per_cpu_second"]),
        " (%s gzip bytes per span%s)" % (
            fmt(gz, 1), ", %s before compression" % fmt(raw, 1) if raw else "") if gz else ""))
    if ob.get("post_thread_spans_per_cpu_second"):
        out.append("- `build/otlp_bench post <sink>/v1/traces %s` (the real exporter, "
                   "libcurl to `tests/bench/otlp_sink.py`): %s spans encoded, compressed and "
                   "posted per CPU second of the exporter thread%s; %s per CPU second of the "
                   "whole process, creating the spans included." % (
                       ob.get("post_spans", "N"), fmt(ob["post_thread_spans_per_cpu_second"]),
                       _post_rounds(ob, "post_thread_spans_per_cpu_second"),
                       fmt(ob.get("post_spans_per_cpu_second"))))
    else:
        out.append("- Post mode not measured%s." % (
            ": " + ob["error"] if ob.get("error") else ""))
    if ob.get("post_plain_thread_spans_per_cpu_second"):
        out.append("- The same with `otlp.compression: none` (`... post <sink>/v1/traces %s none`): "
                   "%s spans per CPU second of the exporter thread%s, %s of the whole process. "
                   "gzip is most of the exporter's CPU; where the collector is on the same node "
                   "(an Alloy or collector DaemonSet), turning it off trades network bytes for "
                   "that CPU." % (
                       ob.get("post_spans", "N"), fmt(ob["post_plain_thread_spans_per_cpu_second"]),
                       _post_rounds(ob, "post_plain_thread_spans_per_cpu_second"),
                       fmt(ob.get("post_plain_spans_per_cpu_second"))))
    return out + [""]



TARGETS_NOTE = [
    "How far to trust these rows: on this machine (a 2-core VM) the same code "
    "measures differently from run to run and from round to round. The OTLP encoder "
    "alone (`build/otlp_bench`, code unchanged between the two runs) gave 405k spans "
    "per CPU-second in the run of commit c61a08d, 270k in the run of 25d0821, and "
    "about 300k when run again right after that one; after commit 8826f65, which cut "
    "its instructions per span by 18.6% (callgrind), it gave 469k "
    "in the run of 0d720b9 and 484k in the run of 888cdaf, so most of that rise is the "
    "machine; within one run, the gap "
    "between hook-only and fully on moves by more than the target itself from one "
    "round to the next (the rounds' gaps are in the rows). So the throughput rows "
    "judge the median of the rounds' gaps, each between two runs of one round, "
    "which share its drift; the difference of the two medians of ratios (the "
    "tables above) is shown too, and can even come out with fully on above "
    "hook-only.",
    "",
    "Why the misses (from the columns above, `bpf_stats_enabled` and `perf`): fully on, "
    "every data syscall of a traced connection runs one BPF program at sys_exit (its "
    "arguments read from the registers it entered with) that looks the connection up, "
    "copies the payload prefix and writes a ring-buffer record. With "
    "kernel.bpf_stats_enabled, on the Go server under wrk (`--pid` of the server, "
    "2026-11-30), the programs of all processes took about 370 ns per request "
    "hook-only, 670 with nothing selected (`--pid` of an idle process: 1,140 before "
    "commit 503c2c5, which ends the reads of a process with no tracked connection, and "
    "with `--pid` its writes, at a word read), and 2.3 to 2.6 µs fully on. Variants "
    "built with parts removed put the server's connection lookups at about 160 ns per "
    "request, the ring output at about 300 ns per record and the rest of a record (the "
    "copy, its header, the counters) at about 270 ns, for the two records a request "
    "makes; this shows as the server's own CPU per request rising over hook-only (JDK "
    "and Go columns above). The tracer's userspace work (decode, HTTP parse, span, 1.3 "
    "to 2 µs per request, spread over many functions: no one of them is above 8% under "
    "`perf`) runs on the same two cores as wrk and the server, so each µs of it costs "
    "throughput directly on this machine; together that is 3 to 4 µs on a request that "
    "costs 50 to 95 µs of CPU in all (server, wrk and kernel), which is more than 3 "
    "points. The same sum on a faster day (2026-12-01, the machine of the run of "
    "07f27c6: Go untraced at 62k to 68k req/s, about 30 µs of the two cores per "
    "request), in two runs of 8 alternating 6 s rounds of the Go server alone "
    "(`BENCH_WORKLOADS=go BENCH_OTLP=0 BENCH_AGENT=0 BENCH_RAW=0 BENCH_SWEEP= "
    "BENCH_SYSCALLS=0 BENCH_ROUNDS=8 BENCH_SECONDS=6 tests/bench/run.sh`, and a "
    "script doing the same): fully on, the server's own CPU rose 1.4 and 2.0 µs per "
    "request over hook-only (its BPF) and the tracer's was 0.75 and 0.72 µs, so "
    "2.2 and 2.7 µs, 7 and 9 points of a request's CPU; the rounds' gaps had "
    "medians of 8.1 and 12.5 points. Most of the gap is the tracer's own CPU, the "
    "rest (1 to 3 points) is within the rounds' spread. Within 3 points on this "
    "workload needs the whole tracer, BPF and userspace, under about 0.9 µs per "
    "request: less than half of what two ring-buffer records and one span cost "
    "here. Where that CPU goes, sampled by `perf record -a -g` on both cores (5 s of "
    "the Go server under `wrk -t2 -c16`, fully on, `--pid` of the server, "
    "2026-12-01, 37,221 samples): BPF took 5.9% of the samples and the tracer's "
    "process 2.1%. Of the BPF, 2.2 points is the tracepoint dispatch that hook-only "
    "pays too; the rest is the programs' own instructions and small helpers (1.8), the "
    "ring buffer (0.7), the reads of user memory (0.6) and the map lookups (0.5). No "
    "one part is big enough that taking it away would close the gap. Since commit 91cd047 a CPU asks the ring how full it is (a read of the "
    "position the reader writes from the other core) once per 16 KiB it wrote, not once "
    "per record: 2,190 -> 2,010 ns of BPF per request in alternating runs of the two "
    "builds, and throughput higher in 5 of 7 alternating rounds. Waking the reader "
    "sooner (at 64 KiB queued, not a quarter of the ring) so that it reads records "
    "still in cache was measured and dropped: in the `make bench` run of 91cd047 the "
    "tracer's CPU per request rose to 2.5 µs (JDK) and 2.2 µs (Go), about 0.3 µs above "
    "the quarter-full build in alternating runs, and throughput was no higher. Also "
    "measured against the build before them in alternating runs, and dropped: reserving "
    "each record in the ring as a dynptr and reading the payload straight into it "
    "(`bpf_probe_read_user_dynptr`, no copy through the per-CPU scratch record) cost "
    "more BPF, 2.3 against 1.9 µs per request; plain instead of atomic updates of the "
    "connection's counters, and no per-record event counter, made no difference "
    "outside the noise; a 256 KiB ring (the reader's batches fit in a core's L2 cache) "
    "gained no throughput over 10 alternating rounds (gap to hook-only 7.7 against 7.5 "
    "points); the reader as SCHED_BATCH (never preempting the server when woken) gained "
    "none over 8 rounds. The OTLP exporter: since commit 8826f65 it encodes span and resource "
    "attributes itself (protobuf-c packs the rest, and copies the encoded attributes in "
    "as unknown fields of their message), which halved the encoding (9,075 -> 4,520 "
    "instructions per span under callgrind; 24.8k -> 20.2k with gzip). Under `perf` "
    "its thread spent 63% of its CPU in zlib (level 1 already; zlib's table CRC-32 alone "
    "about 1,800 instructions per span), 13% in the encoder's own code, 11% in libc, 5% "
    "in protobuf-c, 5% in the kernel and 2% in curl. Since commit 2b96596 the gzip header "
    "and trailer are written around zlib's raw deflate, with a CRC-32 folded 64 bytes a "
    "step by PCLMULQDQ: 3.6 times zlib's CRC throughput, 7% -> 2% of the encode-and-gzip "
    "profile (the post rounds of this run: 360k–390k spans per CPU-second, against "
    "295k in one post run of bd2bd2f). deflate's cost goes by symbols, "
    "not bytes: the random trace and span ids and the timestamps are literals, each a "
    "hash insert and a match search, about 12.7k instructions per span in all. So a span "
    "costs the exporter about 3 µs, about the whole tracer's per request without it: "
    "the OTLP condition (5 µs per request) and the exporter (300k spans per CPU-second) "
    "sit near their targets, on one side or the other as the machine's speed moves (the "
    "run of 503c2c5, before the encoder change, on a slower day: 6.11 µs and 258.6k, "
    "both missed; the run of 0d720b9: both met). Framing the three outer message levels by hand instead of protobuf-c "
    "was measured and changed nothing (protobuf-c packs nested messages in place); "
    "zlib's deflateTune/memLevel/windowBits, Z_RLE and Z_HUFFMAN_ONLY (more symbols: 44k "
    "instructions per span), and ordering the attributes so the constant ones form one "
    "match, changed nothing or cost more, so none was kept (Z_FIXED: a few percent "
    "faster, 7% more bytes). Without gzip (`otlp.compression: none`, section below) the "
    "exporter's thread does about 2.5 to 3 times the spans per CPU-second. A smaller "
    "deflate window to spare memory (windowBits 13 and memLevel 7: 96 KiB of state, "
    "not 256) cost speed, not saved it: 494k against 615k spans per CPU-second in "
    "`build/otlp_bench` (2026-12-02), 59.8 against 57.1 bytes per span. RSS: the ring "
    "buffer's 2 MiB "
    "counts once (the reader maps its pages once; libbpf's reader maps them twice); the "
    "shared libraries libcurl pulls in are resident whether OTLP is on or not: libcrypto "
    "has 1.4 MiB of pages resident once loaded (its relocations) and 3.1 MiB after "
    "curl_global_init, which initialises OpenSSL (measured in a program that only calls "
    "it, 2026-12-02; telling libssh2 not to initialise its crypto first changed nothing; "
    "leaving OpenSSL's error strings unloaded would spare 0.6 MiB but make every TLS "
    "error a number, so they stay). OTLP adds the exporter thread's malloc arena (about "
    "1.1 MiB: the encoder's buffers, zlib's state, curl's) and the spans waiting in the "
    "queue: since commit 2b823cc a span is copied into a block of the size it needs when "
    "it is queued (616 bytes for a JDK hello-world server span, against the 1,016 it is "
    "built in), and a batch's spans are freed once encoded, not after the POST (a retry "
    "resends the encoded body).",
    "",
    "The JDK row, measured apart (2026-12-02, the JDK server of this harness "
    "already warm, 3 alternating rounds of 8 s of `wrk -t2 -c16` per condition, "
    "`/proc/stat`; `kernel.bpf_stats_enabled` in other runs of the same): untraced "
    "56.9k to 59.8k req/s, hook-only 56.1k to 57.7k, fully on 50.9k to 51.5k, so 10 "
    "points under hook-only. Each request there is a read of the request and two "
    "writes (the 101-byte head and the 6-byte body: `HttpServer` writes them "
    "apart), so 3 records where Go makes 2; the server also writes and reads an "
    "eventfd and calls `fcntl` 4 times per request (hooked, no record). The machine "
    "was 9 to 12% idle in every condition (the server hands each exchange from its "
    "dispatcher thread to a worker), so throughput followed CPU: about 30.3 µs of "
    "the two cores per request untraced, 31.0 hook-only and 34.4 fully on. Of the "
    "3.4 µs that fully on adds over hook-only, `bpf_stats` counts 1.07 µs of BPF "
    "(1.46 against 0.39 µs per request) and `/proc` 0.96 µs of the tracer's "
    "userspace. The other 1.4 µs is in neither count: work the tracer makes others "
    "do, most likely the server's and wrk's caches refilled after the programs' "
    "copies and the reader's batches (not measured apart), and 0.13 more context "
    "switches per request on the host (0.71 against 0.63 in the server). Taking the "
    "JDK body write's record away (a head held back in BPF until its body follows) "
    "would spare about 0.3 µs of userspace and one ring record per request, but "
    "needs a per-connection store and a flush for heads that no body follows (HEAD, "
    "204, 304, a stalled stream); it was not built.",
]

# The tracer's default for --hooks (user/options.c, hooks_choices/defaults):
# the paragraph below says whether this run's numbers back it.
DEFAULT_HOOKS = "tracepoints"


# ---------------------------------------------------------------- syscalls
# Cost to processes that are not traced (tests/bench/sysbench.py).

SYSCALLS = ("getppid", "read", "write")


def _ns(row, sc):
    return ((row.get("syscalls") or {}).get(sc) or {}).get("median_cpu_ns")


def added_by_round(rows, base_rows, sc):
    """{round: ns per call of a traced run minus its untraced baseline}: the
    mean of the untraced runs just before and after it (row["baseline"], as
    sysbench.py records it), else the median of the untraced runs of its
    round."""
    out = {}
    for r in rows:
        ns, b = _ns(r, sc), (r.get("baseline") or {}).get(sc)
        if b is None:
            b = med([_ns(u, sc) for u in base_rows if u.get("round") == r.get("round")])
        if ns is not None and b is not None:
            out.setdefault(r.get("round"), []).append(ns - b)
    return {k: statistics.mean(v) for k, v in out.items()}


def syscalls_summary(sd):
    """{condition key: {syscall: {ns, min, max, added, added_min, added_max},
    n, other_cpu_pct, spans, log_records}} from sysbench.py's data."""
    res = sd.get("results") or {}
    base_rows = res.get("untraced") or []
    out = {}
    for c in sd.get("conditions") or []:
        rows = res.get(c["key"]) or []
        if not rows:
            continue
        s = {"n": len(rows), "other_cpu_pct": med([r.get("other_cpu_pct") for r in rows]),
             "with_other_tracers": sum(1 for r in rows if r.get("other_tracers"))}
        for k in ("spans", "log_records"):
            vals = [(r.get("stats") or {}).get(k) for r in rows]
            vals = [v for v in vals if v is not None]
            s[k] = sum(vals) if vals else None
        for sc in SYSCALLS:
            vals = [_ns(r, sc) for r in rows]
            d = {"ns": med(vals)}
            d["min"], d["max"] = span(vals)
            diffs = list(added_by_round(rows, base_rows, sc).values()) \
                if c["key"] != "untraced" else []
            d["added"] = med(diffs)
            d["added_min"], d["added_max"] = span(diffs)
            s[sc] = d
        out[c["key"]] = s
    return out


def signed(x, digits=0):
    if x is None:
        return "n/a"
    return ("+" if x >= 0 else "−") + fmt(abs(x), digits)


def syscalls_section(sd):
    """Markdown lines of the "Cost to processes that are not traced" section."""
    out = ["## Cost to processes that are not traced", ""]
    if not sd:
        return out + ["Not measured in this run.", ""]
    if sd.get("error"):
        return out + ["Not measured: %s" % sd["error"], ""]
    st = sd["settings"]
    out.append(
        "Measured %s%s. The syscall hooks run in every process on the host, traced or not; "
        "this is what they cost a process that is not selected. The tracer runs with "
        "`--format none --pid <idle pid>` (an idle `sleep` of the harness), so nothing the "
        "benchmark does is traced, and `tests/bench/syscall_bench.c` times tight loops of "
        "three syscalls: `getppid` through syscall(2), which no program of the tracer hooks "
        "(with `--hooks raw` the tp_btf programs run on it all the same, as on every "
        "syscall); `read` of 64 bytes from /dev/zero and `write` of 64 bytes to /dev/null, "
        "both hooked, neither a socket nor stdout/stderr (fully on, the programs find the "
        "process's bit in the connection gate clear, so they look no connection up; a write "
        "also checks whether the process is selected for log capture; then they return). Each number is CPU "
        "ns per call from the "
        "thread's CPU clock (time other tasks held the CPU is left out; BPF programs run in "
        "the calling thread and are counted), the median over %d ms slices that interleave "
        "the three loops, %d s per syscall and run. Each of the %d rounds runs every traced "
        "condition once (the order rotated by one each round) with an untraced run just "
        "before and just after it; medians (min–max) are over runs, and *added* is the "
        "median (min–max) over rounds of a traced run's ns per call minus the mean of the "
        "two untraced runs around it, which cancels load that drifts over a few seconds. "
        "*Spans / log records* are the tracer's own counts (`--stats-file`): 0 / 0 shows "
        "that nothing of the benchmark was traced. Nothing is pinned: the tracer "
        "has no work to do here (it selects nothing), and the CPU clock leaves out time "
        "spent waiting for a core. *Other CPU* as above: the machine's busy time outside "
        "syscall_bench and the tracer, in %% of one core. *Other tracers* counts the runs "
        "during which another ebpftrace process was running on the host (another session's "
        "tests; the harness waits up to %d s for them to exit before each run): its hooks "
        "slow every syscall of every process, so such runs read high." % (
            sd.get("date", "n/a"),
            ", ebpftrace commit `%s`" % sd["commit"] if sd.get("commit") else "",
            st["slice_ms"], st["seconds"], st["rounds"],
            st.get("wait", 0)))
    out.append("")
    summ = syscalls_summary(sd)
    out += ["| condition | getppid ns | added | read ns | added | write ns | added | "
            "other CPU % | other tracers | spans / log records | runs |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in sd["conditions"]:
        s = summ.get(c["key"])
        if not s:
            why = "failed, see below" if (sd.get("failed") or {}).get(c["key"]) else \
                (sd.get("skip_reason") if c["tracer"] else None) or "no data"
            out.append("| %s | not measured (%s) |  |  |  |  |  |  |  |  |  |" % (
                c["label"], why))
            continue
        cells = []
        for sc in SYSCALLS:
            d = s[sc]
            cells.append("%s (%s–%s)" % (fmt(d["ns"]), fmt(d["min"]), fmt(d["max"])))
            cells.append("—" if c["key"] == "untraced" else "%s (%s–%s)" % (
                signed(d["added"]), signed(d["added_min"]), signed(d["added_max"])))
        out.append("| %s | %s | %s | %d | %s | %d |" % (
            c["label"], " | ".join(cells), fmt(s["other_cpu_pct"]), s["with_other_tracers"],
            "—" if not c["tracer"] else "%s / %s" % (fmt(s["spans"]), fmt(s["log_records"])),
            s["n"]))
    out.append("")
    for key, what in (("full", "tracepoints"), ("full-raw", "`--hooks raw`")):
        s = summ.get(key)
        if s:
            out.append("- Fully on, %s: %s ns per `getppid`, %s per `read`, %s per `write` "
                       "of a process that is not traced." % (
                           what, signed(s["getppid"]["added"]), signed(s["read"]["added"]),
                           signed(s["write"]["added"])))
    if summ:
        out.append("")
    out += ["Commands:", "", "```"]
    out += ["%s: %s" % (k, v) for k, v in sorted((sd.get("commands") or {}).items())]
    out += ["```", ""]
    for k, v in (sd.get("failed") or {}).items():
        out += ["Failed, `%s`:" % k, "", "```", v.strip(), "```", ""]
    return out


def raw_vs_tracepoints(sd, sc, mode="full"):
    """Per round, what raw adds minus what tracepoints add (each against its own
    untraced baseline), ns per call of syscall sc: median, min, max."""
    res = sd.get("results") or {}
    base = res.get("untraced") or []
    raw = added_by_round(res.get(mode + "-raw") or [], base, sc)
    tp = added_by_round(res.get(mode) or [], base, sc)
    diffs = [raw[k] - tp[k] for k in raw if k in tp]
    lo, hi = span(diffs)
    return med(diffs), lo, hi


def hooks_paragraph(data, summ, sd):
    """The "Per-syscall tracepoints vs --hooks raw" paragraph, from this run."""
    text = ["Per-syscall tracepoints vs `--hooks raw` (tp_btf sys_enter/sys_exit):"]
    http = []
    for w in dict.fromkeys(c["workload"] for c in data.get("conditions") or []):
        tp, raw = summ.get(w + ":full"), summ.get(w + ":full-raw")
        if tp and raw and tp["ratio"] is not None and raw["ratio"] is not None:
            overlap = not (tp["ratio_max"] < raw["ratio_min"] or raw["ratio_max"] < tp["ratio_min"])
            http.append("%s %s (%s–%s) with tracepoints, %s (%s–%s) with raw%s" % (
                w, fmt(tp["ratio"], 3), fmt(tp["ratio_min"], 3), fmt(tp["ratio_max"], 3),
                fmt(raw["ratio"], 3), fmt(raw["ratio_min"], 3), fmt(raw["ratio_max"], 3),
                " (ranges overlap)" if overlap else ""))
    if http:
        text.append("on the traced server, fully on, throughput relative to untraced is "
                    + "; ".join(http) + ".")
    else:
        text.append("the HTTP rounds did not compare the two in this run.")
    ssum = syscalls_summary(sd) if sd and not sd.get("error") else {}
    tp, raw = ssum.get("full"), ssum.get("full-raw")
    if not (tp and raw):
        text.append("The cost to processes that are not traced, which decides the default, "
                    "was not measured in this run; the default stays `%s` until it is."
                    % DEFAULT_HOOKS)
        return " ".join(text)
    text.append("On processes that are not traced (section above), fully on, tracepoints "
                "add %s ns per `getppid` (a syscall nothing hooks), %s per `read` and %s per "
                "`write`; raw adds %s, %s and %s." % (
                    signed(tp["getppid"]["added"]), signed(tp["read"]["added"]),
                    signed(tp["write"]["added"]), signed(raw["getppid"]["added"]),
                    signed(raw["read"]["added"]), signed(raw["write"]["added"])))
    verdict, diffs = {}, []
    for sc in SYSCALLS:
        m, lo, hi = raw_vs_tracepoints(sd, sc)
        diffs.append("%s %s (%s–%s)" % (sc, signed(m), signed(lo), signed(hi)))
        verdict[sc] = None if m is None else ("raw" if m > 0 else "tracepoints")
    text.append("What raw adds minus what tracepoints add, paired per round, ns per call: "
                "%s." % ", ".join(diffs))
    # getppid stands for the syscalls no program hooks: most of what most
    # processes on a host do (futex, epoll_wait, mmap, ...).
    costlier = verdict["getppid"]
    if costlier is None:
        text.append("The default stays `%s`: the run has no paired rounds to compare." %
                    DEFAULT_HOOKS)
    elif costlier == "raw":
        cheaper = "tracepoints"
        lo = raw_vs_tracepoints(sd, "getppid")[1]
        text.append("So `tracepoints` is the cheaper for processes that are not traced (%s): "
                    "raw runs its programs on every syscall of every process on the host, "
                    "the unhooked ones (most of what most processes do: futex, epoll_wait, "
                    "mmap, ...) included, where tracepoints run no program and cost only the "
                    "kernel's syscall-tracepoint path (the %s ns on `getppid`)." % (
                        "in every round" if lo is not None and lo > 0
                        else "in the median; not in every round of this noisy run",
                        signed(tp["getppid"]["added"])))
    else:
        cheaper = "raw"
        text.append("In this run `--hooks raw` was not costlier than tracepoints even on the "
                    "unhooked `getppid`, where tracepoints run nothing: so close a result is "
                    "within the noise of the machine; rerun before reading it as a gain.")
    if costlier is not None:
        if cheaper == DEFAULT_HOOKS:
            text.append("The default stays `%s`; `--hooks raw` remains for hosts where a run "
                        "of this benchmark says otherwise." % DEFAULT_HOOKS)
        else:
            text.append("The default is `%s`, which this run does not back; check with a "
                        "quiet machine before changing it." % DEFAULT_HOOKS)
    return " ".join(text)


def _pts(a, b):
    return None if a is None or b is None else (a - b) * 100


def _gap_words(gap):
    """Fully on against hook-only, in points: below, or above (noise)."""
    if gap is None:
        return "n/a"
    if gap < 0:
        return "%s points above" % fmt(-gap, 1)
    return "%s points below" % fmt(gap, 1)


def paired_gaps(data, w, sfx):
    """Per round, hook-only minus fully on, in points of that round's
    untraced throughput: the two runs of one round share its drift, which
    the difference of the two medians of ratios does not cancel."""
    res = data.get("results") or {}
    by = {k: {r["round"]: r["rps"] for r in res.get(w + ":" + k) or []}
          for k in ("untraced", "hook" + sfx, "full" + sfx)}
    base, hook, full = by["untraced"], by["hook" + sfx], by["full" + sfx]
    return [(hook[i] - full[i]) * 100 / base[i]
            for i in sorted(hook) if i in full and base.get(i)]


def _gap_cell(gaps, of_medians):
    return ("%s: median of the rounds' gaps %s (each hook-only minus fully on "
            "in the same round, in points of its untraced run); %s between "
            "the medians of ratios" % (
                _gap_words(med(gaps)), ", ".join(fmt(g, 1) for g in gaps),
                _gap_words(of_medians)))


def targets_section(data, summ, sd=None):
    """The issue's targets, checked against this run's numbers; sd: the
    syscall section's data (the hooks paragraph cites it)."""
    out = ["| target | measured | met |", "|---|---|---|"]

    def row(name, value, ok):
        out.append("| %s | %s | %s |" % (name, value, "n/a" if ok is None else
                                         ("yes" if ok else "**no**")))
    for w in dict.fromkeys(c["workload"] for c in data["conditions"]):
        for sfx, what in (("", "tracepoints"), ("-raw", "--hooks raw")):
            hook, full = summ.get(w + ":hook" + sfx), summ.get(w + ":full" + sfx)
            if hook and full:
                gaps = paired_gaps(data, w, sfx)
                gap = med(gaps) if gaps else _pts(hook["ratio"], full["ratio"])
                row("%s, %s: fully on within 3 points of hook-only" % (w, what),
                    _gap_cell(gaps, _pts(hook["ratio"], full["ratio"]))
                    if gaps else _gap_words(gap), gap is not None and gap <= 3)
        for key in (w + ":full", w + ":full-otlp"):
            s = summ.get(key)
            if s:
                us = s["tracer_cpu_us_per_req"]
                row("%s: ≤ 5 µs tracer CPU per request" % key, "%s µs" % fmt(us, 2),
                    us is not None and us <= 5)
                mib = s["tracer_rss_kb"] / 1024 if s["tracer_rss_kb"] else None
                row("%s: RSS ≤ 20 MiB" % key, "%s MiB" % fmt(mib, 1),
                    mib is not None and mib <= 20)
    sweep = [r for r in data.get("sweep") or [] if "error" not in r]
    at10k = [r for r in sweep if r["rps"] >= 10000]
    if at10k:
        lost = sum(((r.get("stats") or {}).get("ringbuf_drops") or 0) for r in at10k)
        row("zero lost events at ≥ 10k req/s (sweep steps)",
            "%d ring-buffer drops over %d steps of %s–%s req/s" % (
                lost, len(at10k), fmt(min(r["rps"] for r in at10k)),
                fmt(max(r["rps"] for r in at10k))), lost == 0)
    ob = data.get("otlp_bench") or {}
    v = ob.get("post_thread_spans_per_cpu_second") or ob.get("spans_per_cpu_second")
    row("exporter ≥ 300k spans per CPU-second", "%s" % fmt(v), None if v is None else v >= 300000)
    return out + [""] + TARGETS_NOTE + ["", hooks_paragraph(data, summ, sd)]

def startup_section(st):
    """Markdown lines of the "Start-up" section from bench.run_startup."""
    out = ["## Start-up", ""]
    if not st:
        return out + ["Not measured.", ""]
    names = {"tracepoints": "tracepoints (default)", "raw": "`--hooks raw`"}
    for kind, runs in (st.get("runs") or {}).items():
        if runs:
            out.append("- %s: %s ms median (%s–%s ms, %d runs)." % (
                names.get(kind, kind), fmt(med(runs)), fmt(min(runs)), fmt(max(runs)),
                len(runs)))
    if st.get("error"):
        out.append("- Error: %s" % st["error"])
    out += ["", "From the command to its `ready` line: BTF and the object opened, every "
            "program loaded and verified by the kernel, maps filled, programs attached "
            "(`%s`, the runs of the two kinds alternating)." % st.get("command", ""), ""]
    return out


def write(data, docs_dir):
    os.makedirs(docs_dir, exist_ok=True)
    out = header(data) + ["## Results", ""]
    all_summ = {}
    for w in dict.fromkeys(c["workload"] for c in data["conditions"]):
        rows, summ = table(data, w)
        all_summ.update(summ)
        out += ["### " + WORKLOAD_TITLES.get(w, w), ""] + rows + [""]
        sink = [(k, s) for k, s in summ.items() if s.get("sink_bytes_per_req")]
        for k, s in sink:
            out.append("- %s: OTLP sink received %s bytes per request." % (
                k, fmt(s["sink_bytes_per_req"], 1)))
        if sink:
            out.append("")
    if plot(data, os.path.join(docs_dir, "benchmarks.png"), all_summ):
        out += ["![throughput and p99 per condition](benchmarks.png)", ""]
    sd = data.get("syscalls")
    out += syscalls_section(sd)
    out += ["## Targets", ""] + targets_section(data, all_summ, sd) + [""]
    out += ["## Load sweep (highest zero-loss rate)", ""] + sweep_section(data) + [""]
    out += otlp_section(data.get("otlp_bench"))
    out += startup_section(data.get("startup"))
    logs = data.get("logs") or load_logs()
    if logs:
        out += logs_section(logs)
    out += method(data)
    if data.get("failed"):
        out += ["## Failures", ""]
        for k, v in data["failed"].items():
            out += ["- `%s`:" % k, "", "```", v.strip(), "```", ""]
    out.append("Raw per-round results: `build/bench/results.json` (not committed); "
               "re-render with `tests/bench/bench.py --report <results.json>`. "
               "Total harness time: %s s." % data.get("elapsed_s", "n/a"))
    with open(os.path.join(docs_dir, "benchmarks.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("bench: wrote %s" % os.path.join(docs_dir, "benchmarks.md"))
