"""Renders benchmark results (bench.py's results.json) into
docs/benchmarks.md and docs/benchmarks.png."""
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
    return out


def otlp_section(ob):
    """Markdown lines of the "OTLP encoding" section from bench.run_otlp_bench."""
    out = ["## OTLP encoding", ""]
    if not ob or not ob.get("spans_per_cpu_second"):
        return out + ["Not measured (`build/otlp_bench` %s)." % (
            "failed" if ob else "not built"), ""]
    gz = ob.get("gzip_bytes_per_span")
    out.append("- `build/otlp_bench`: %s spans encoded + gzipped per CPU second%s." % (
        fmt(ob["spans_per_cpu_second"]),
        " (%s gzip bytes per span)" % fmt(gz, 1) if gz else ""))
    if ob.get("post_thread_spans_per_cpu_second"):
        out.append("- `build/otlp_bench post <sink>/v1/traces %s` (the real exporter, "
                   "libcurl to `tests/bench/otlp_sink.py`): %s spans encoded, compressed and "
                   "posted per CPU second of the exporter thread; %s per CPU second of the "
                   "whole process, creating the spans included." % (
                       ob.get("post_spans", "N"), fmt(ob["post_thread_spans_per_cpu_second"]),
                       fmt(ob.get("post_spans_per_cpu_second"))))
    else:
        out.append("- Post mode not measured%s." % (
            ": " + ob["error"] if ob.get("error") else ""))
    return out + [""]


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
    out += ["## Load sweep (highest zero-loss rate)", ""] + sweep_section(data) + [""]
    out += otlp_section(data.get("otlp_bench"))
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
