#!/usr/bin/env python3
"""Log capture benchmark (part of `make bench`, run by tests/bench/run.sh
after bench.py; alone: BENCH_ONLY_LOGS=1 tests/bench/run.sh).

A writer (tests/bench/logwriter.c, one write(2) per ~165-byte line) writes
log lines; they are delivered into one real Loki (tests/lib/backends.py,
ingestion limits raised so that Loki does not throttle either side):
  A  ebpftrace run --pid <writer> --loki-endpoint ...: the writer's stdout
     is a pipe drained by cat, the lines are captured in BPF
  B  the file-tailing shipper users run today, Grafana Alloy (built by
     tests/bench/build_shipper.sh): the writer appends to a file, Alloy's
     loki.source.file tails it
Rounds alternate A and B. Each: N lines as fast as the writer can, then wait
until Loki holds them all (or nothing arrives for a while); measured: lines
written, captured, delivered (counted in Loki with LogQL), the shipper's CPU
(utime+stime from /proc) over the whole window, its RSS. Then a loss sweep of
ebpftrace at fixed rates. Results: $BENCH_OUT/logs.json; the report
(tests/bench/report.py) renders them into docs/benchmarks.md when bench.py's
results.json is there, else into $BENCH_OUT/logs.md.

Environment (all optional):
  BENCH_LOG_ROUNDS=3  BENCH_LOG_LINES=1000000  BENCH_LOG_MAX_SECONDS=20
  BENCH_LOG_RATES=25000,50000,100000,150000,200000  BENCH_LOG_RATE_SECONDS=5
  BENCH_LOG_SHIPPER=alloy (none: only ebpftrace)  BENCH_LOG_SETTLE=8
  BENCH_LOG_BIGQUEUE_RATE=100000 BENCH_LOG_BIGQUEUE=512MiB (0: no extra sweep row
    with a queue big enough for the run)
  EBPFTRACE=build/ebpftrace  EBPFTRACE_ARGS="extra tracer args"
  BENCH_OUT=build/bench  BENCH_DOCS=docs
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import backends  # noqa: E402
from bench import CLK_TCK, cpu_ticks, machine_info, proc_status_kb  # noqa: E402

CACHE = os.path.expanduser(os.environ.get("CACHE", "~/.cache/ebpftrace"))
TARGETS = {"lines_per_cpu_s": 150000, "ratio_vs_shipper": 2.0, "loss_free_rate": 100000}

# Loki's default per-tenant and per-stream ingestion limits (4 and 3 MB/s)
# would throttle both sides at these rates: the bench's Loki lifts them.
LOKI_LIMITS = """  ingestion_rate_mb: 1024
  ingestion_burst_size_mb: 2048
  per_stream_rate_limit: 1GB
  per_stream_rate_limit_burst: 2GB
  max_entries_limit_per_query: 100000
  discover_log_levels: false
"""
# Nor write-ahead-log every push: Loki's own durability is not measured here.
LOKI_INGESTER = """  wal:
    enabled: false
"""


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit("logbench: %s must be an integer" % name)


class Config:
    def __init__(self):
        build = os.environ.get("BUILD", "build")
        self.rounds = env_int("BENCH_LOG_ROUNDS", 3)
        self.lines = env_int("BENCH_LOG_LINES", 1000000)
        self.max_seconds = env_int("BENCH_LOG_MAX_SECONDS", 20)
        self.rates = [int(x) for x in os.environ.get(
            "BENCH_LOG_RATES", "25000,50000,100000,150000,200000").split(",") if x.strip()]
        self.rate_seconds = env_int("BENCH_LOG_RATE_SECONDS", 5)
        self.settle = env_int("BENCH_LOG_SETTLE", 8)
        self.big_queue_rate = env_int("BENCH_LOG_BIGQUEUE_RATE", 100000)
        self.big_queue = os.environ.get("BENCH_LOG_BIGQUEUE", "512MiB")
        self.shipper = os.environ.get("BENCH_LOG_SHIPPER", "alloy")
        self.ebpftrace = os.path.abspath(os.environ.get(
            "EBPFTRACE", os.path.join(ROOT, build, "ebpftrace")))
        self.tracer_args = shlex.split(os.environ.get("EBPFTRACE_ARGS", ""))
        self.out = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, build, "bench")))
        self.docs = os.path.abspath(os.environ.get("BENCH_DOCS", os.path.join(ROOT, "docs")))


# ---------------------------------------------------------------- parsing

def parse_summary(text):
    """logwriter's -s file: 'lines=N bytes=B seconds=S'."""
    out = {}
    for k, v in re.findall(r"(\w+)=([\d.]+)", text or ""):
        out[k] = float(v) if "." in v else int(v)
    return out


def parse_prom(text):
    """Prometheus text exposition -> {name or name{labels}: value}."""
    vals = {}
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)", line)
        if m:
            try:
                vals[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return vals


def prom_sum(vals, name):
    """Sum of a metric over all its label sets (None when absent)."""
    hits = [v for k, v in vals.items() if k == name or k.startswith(name + "{")]
    return sum(hits) if hits else None


def loki_count(doc):
    """Value of an instant `sum(count_over_time(...))` query result."""
    res = ((doc or {}).get("data") or {}).get("result") or []
    return int(float(res[0]["value"][1])) if res else 0


def highest_loss_free(rows):
    """Highest target rate of the sweep with no line lost, None if none."""
    ok = [r["rate"] for r in rows if r.get("loss_free") and not r.get("queue_bytes")]
    return max(ok) if ok else None


# ---------------------------------------------------------------- helpers

def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except Exception as e:  # noqa: BLE001 - any failure is "not yet"
        return 0, str(e)


class BenchLoki(backends.Loki):
    def _write_config(self):
        super()._write_config()
        text = self.config_path.read_text()
        text = text.replace("limits_config:\n", "limits_config:\n" + LOKI_LIMITS, 1)
        text = text.replace("ingester:\n", "ingester:\n" + LOKI_INGESTER, 1)
        self.config_path.write_text(text)

    def count(self, selector, window_s=3600):
        q = "sum(count_over_time(%s[%ds]))" % (selector, window_s)
        status, doc = self.get_json("/loki/api/v1/query", {"query": q, "time": str(time.time_ns())},
                                    timeout=30)
        return loki_count(doc) if status == 200 else None


class Child:
    """A process we started (own session), stopped by its pid only."""

    def __init__(self, cmd, log_path, executable=None, stdout=None, stdin=None):
        self.log = open(log_path, "wb")
        self.log_path = log_path
        self.p = subprocess.Popen(cmd, executable=executable,
                                  stdout=stdout if stdout is not None else self.log,
                                  stderr=self.log, stdin=stdin or subprocess.DEVNULL,
                                  start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def tail(self, n=12):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.alive():
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


def reap(child, timeout=600):
    """Wait for a child we started; its CPU seconds (utime+stime)."""
    deadline = time.time() + timeout
    while True:
        pid, status, ru = os.wait4(child.pid, os.WNOHANG)
        if pid == child.pid:
            child.p.returncode = os.waitstatus_to_exitcode(status)
            return ru.ru_utime + ru.ru_stime
        if time.time() > deadline:
            child.p.kill()
            raise RuntimeError("writer did not finish")
        time.sleep(0.05)


def start_writer(child, summary):
    """Send the start signal once the writer waits for it (it made
    SUMMARY.ready); before that the signal would kill it."""
    deadline = time.time() + 10
    while not os.path.exists(summary + ".ready"):
        if not child.alive() or time.time() > deadline:
            raise RuntimeError("writer did not get ready:\n" + child.tail())
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGUSR1)


def free_port():
    return backends.free_ports(1)[0]


def show(cmd):
    text = " ".join(c if re.fullmatch(r"<[\w ]+>", c) else shlex.quote(c) for c in map(str, cmd))
    text = text.replace(ROOT + "/", "").replace(os.path.expanduser("~"), "~")
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)


def build_writer(cfg):
    exe = os.path.join(cfg.out, "logwriter")
    src = os.path.join(HERE, "logwriter.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                        "-o", exe, src], check=True)
    return exe


SHIPPER_INFO = {
    "alloy": {"name": "Grafana Alloy", "module": "github.com/grafana/alloy"},
    "promtail": {"name": "Promtail", "module": "github.com/grafana/loki/v3 (clients/cmd/promtail)"},
}
ALLOY_NOTE = (
    "Alloy's go.mod replaces its nested module github.com/grafana/alloy/syntax with the "
    "directory ./syntax, which a module zip leaves out; the only version the module proxy "
    "serves to fill it, the required v0.1.0, predates the package syntax/typecheck that "
    "Alloy imports, and the proxy refuses (403) the pseudo-version of the tag's own commit "
    "(v0.1.1-0.20250716132854-63aeef73c763). So Promtail stands in for it: the Loki module "
    "at the version Alloy v1.10.0 itself requires, whose file tailer and Loki client are "
    "the code Alloy's loki.source.file and loki.write are built from.")


def build_one(name):
    info = dict(SHIPPER_INFO[name], kind=name)
    r = subprocess.run(["bash", os.path.join(HERE, "build_shipper.sh"), name],
                       capture_output=True, text=True)
    m = re.search(r"%s[-@](v[\w.\-]+)" % name, r.stdout + r.stderr)
    info["version"] = m.group(1) if m else None
    info["build"] = ("`go mod download -json %s@%s`, the module dir (and nested modules at the "
                     "required versions) copied to ~/.cache/ebpftrace/src, "
                     "`CGO_ENABLED=0 go build -tags netgo -trimpath %s`" % (
                         info["module"].split()[0], info["version"],
                         "." if name == "alloy" else "./clients/cmd/promtail"))
    lines = r.stdout.strip().splitlines()
    if r.returncode == 0 and lines and os.access(lines[-1], os.X_OK):
        return lines[-1], info
    evidence = os.path.join(CACHE, "bin", "%s-%s.failed" % (name, info["version"]))
    try:
        with open(evidence) as f:
            info["error"] = f.read().strip()[-2000:]
    except OSError:
        failed = [ln for ln in r.stderr.splitlines() if "ERROR" in ln or "failed" in ln]
        info["error"] = "\n".join(failed[-5:]) or r.stderr[-1500:]
    return None, info


def build_shipper(cfg):
    """(binary or None, info dict) for the file-tailing shipper: Alloy, else
    Promtail with the Alloy build's error as evidence."""
    binary, info = build_one("alloy")
    if binary or cfg.shipper == "alloy-only":
        return binary, info
    print("logbench: Alloy unavailable (%s); trying Promtail" % (
        info.get("error", "").splitlines() or ["?"])[-1][:200], flush=True)
    pbin, pinfo = build_one("promtail")
    pinfo["alloy_error"] = info.get("error")
    pinfo["alloy_version"] = info.get("version")
    pinfo["note"] = ALLOY_NOTE
    return pbin, pinfo


def loki_capacity(loki, writer, tmp, seconds=5, per_push=5000):
    """What this Loki accepts with nobody else sending: pre-built push
    bodies (JSON+gzip, like ebpftrace's, of the writer's lines) posted one
    after the other for `seconds`; lines/s and lines per Loki CPU-second."""
    import gzip
    sample = os.path.join(tmp, "sample.log")
    with open(sample, "wb") as f:
        subprocess.run([writer, "-n", str(per_push)], stdout=f, check=True)
    with open(sample) as f:
        lines = f.read().splitlines()
    bodies = []
    for i in range(8):
        t0 = time.time_ns() - 600 * 10**9
        vals = [[str(t0 + k), "%s p%d" % (ln, i)] for k, ln in enumerate(lines)]
        doc = {"streams": [{"stream": {"job": "logbench-capacity", "n": str(i)}, "values": vals}]}
        bodies.append(gzip.compress(json.dumps(doc).encode(), 1))
    hdr = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    c0, t0, n, i = cpu_ticks(loki.proc.pid), time.time(), 0, 0
    while time.time() - t0 < seconds:
        body = bodies[i % len(bodies)]
        i += 1
        st, resp = backends.http_request(loki.push_url, "POST", body, hdr, timeout=60)
        if st != 204:
            return {"error": "push answered %d: %r" % (st, resp[:200])}
        n += per_push
    dt, cpu = time.time() - t0, (cpu_ticks(loki.proc.pid) - c0) / CLK_TCK
    return {"lines": n, "seconds": dt, "lines_per_s": n / dt,
            "loki_lines_per_cpu_s": n / cpu if cpu else None}


# ---------------------------------------------------------------- runs

class LogBench:
    def __init__(self, cfg, loki, writer, tmp):
        self.cfg, self.loki, self.writer, self.tmp = cfg, loki, writer, tmp
        self.commands = {}
        self.seq = 0

    def _name(self, kind):
        self.seq += 1
        return "lw%s%d%s" % (kind, self.seq, os.urandom(2).hex())

    def writer_cmd(self, name, summary, rate=0, lines=None, seconds=None, path=None):
        cmd = [name, "-w", "-c", name, "-s", summary,
               "-d", str(seconds or self.cfg.max_seconds)]
        if rate:
            cmd += ["-r", str(rate)]
        if lines:
            cmd += ["-n", str(lines)]
        if path:
            cmd += ["-o", path]
        return cmd

    def wait_delivered(self, count_fn, target, t_written):
        """Poll until count_fn() >= target or no progress for `settle`
        seconds; returns (count, time of the last progress)."""
        last, t_last = -1, time.time()
        deadline = time.time() + 300
        while time.time() < deadline:
            n = count_fn()
            now = time.time()
            if n is not None and n > last:
                last, t_last = n, now
            if last >= target:
                break
            if now - max(t_last, t_written) > self.cfg.settle:
                break
            time.sleep(0.5)
        return max(last, 0), t_last

    # -- writer alone (what the capture adds to the writer) -----------------

    def run_baseline(self, lines=None):
        name = self._name("u")
        summary = os.path.join(self.tmp, name + ".sum")
        wcmd = self.writer_cmd(name, summary, 0, lines)
        w = Child(wcmd, os.path.join(self.tmp, name + ".err"), executable=self.writer,
                  stdout=subprocess.PIPE)
        reader = subprocess.Popen(["cat"], stdin=w.p.stdout, stdout=subprocess.DEVNULL,
                                  start_new_session=True)
        w.p.stdout.close()
        try:
            start_writer(w, summary)
            wcpu = reap(w)
        finally:
            if w.alive():
                w.stop()
            reader.wait(timeout=10)
        written = parse_summary(open(summary).read()) if os.path.exists(summary) else {}
        n, sec = written.get("lines", 0), written.get("seconds")
        if not n:
            raise RuntimeError("the writer wrote nothing:\n" + w.tail())
        return {"kind": "baseline", "written": n, "write_seconds": sec,
                "written_per_s": n / sec if sec else None, "writer_cpu_s": wcpu,
                "writer_us_per_line": wcpu / n * 1e6 if n and wcpu is not None else None}

    # -- A: ebpftrace ------------------------------------------------------

    def run_ebpftrace(self, tag, rate=0, lines=None, seconds=None, extra=()):
        name = self._name("e")
        summary = os.path.join(self.tmp, name + ".sum")
        wcmd = self.writer_cmd(name, summary, rate, lines, seconds)
        w = Child(wcmd, os.path.join(self.tmp, name + ".err"), executable=self.writer,
                  stdout=subprocess.PIPE)
        reader = subprocess.Popen(["cat"], stdin=w.p.stdout, stdout=subprocess.DEVNULL,
                                  start_new_session=True)
        w.p.stdout.close()
        stats_path = os.path.join(self.cfg.out, "logs-stats-%s.json" % tag)
        if os.path.exists(stats_path):
            os.unlink(stats_path)
        mport = free_port()
        tcmd = [self.cfg.ebpftrace, "run", "--pid", str(w.pid), "--format", "none",
                "--loki-endpoint", self.loki.url, "--stats-file", stats_path,
                "--metrics-listen", "127.0.0.1:%d" % mport] + list(extra) + self.cfg.tracer_args
        self.commands.setdefault("ebpftrace", show(
            [c if c != str(w.pid) else "<writer pid>" for c in tcmd]).replace(stats_path, "<file>"))
        self.commands.setdefault("writer (A)", show(["build/bench/logwriter"] + wcmd[1:]).replace(
            summary, "<file>").replace(name, "<name>") + " | cat >/dev/null")
        t = Child(tcmd, os.path.join(self.cfg.out, "logs-tracer-%s.log" % tag))
        metrics = "http://127.0.0.1:%d/metrics" % mport
        try:
            deadline = time.time() + 60
            while http_get("http://127.0.0.1:%d/readyz" % mport)[0] != 200:
                if not t.alive() or time.time() > deadline:
                    raise RuntimeError("ebpftrace did not get ready:\n" + t.tail())
                time.sleep(0.2)
            time.sleep(1.0)
            c0, t0, l0 = cpu_ticks(t.pid), time.time(), cpu_ticks(self.loki.proc.pid)
            start_writer(w, summary)
            wcpu = reap(w)
            t_written = time.time()
            written = parse_summary(open(summary).read()) if os.path.exists(summary) else {}
            written["cpu_s"] = wcpu
            target = written.get("lines", 0)
            selector = '{service_name="%s"}' % name

            def sent():
                st, body = http_get(metrics)
                v = parse_prom(body) if st == 200 else {}
                s = (prom_sum(v, "ebpftrace_loki_lines_sent_total") or 0)
                d = (prom_sum(v, "ebpftrace_loki_lines_dropped_total") or 0)
                return int(s + d) if st == 200 else None

            _, t_done = self.wait_delivered(sent, target, t_written)
            c1, l1 = cpu_ticks(t.pid), cpu_ticks(self.loki.proc.pid)
            rss, hwm = proc_status_kb(t.pid, "VmRSS"), proc_status_kb(t.pid, "VmHWM")
            st, body = http_get(metrics)
            prom = parse_prom(body) if st == 200 else {}
        finally:
            t.stop(signal.SIGINT)
            if w.alive():
                w.stop()
            reader.wait(timeout=10)
        stats = None
        try:
            with open(stats_path) as f:
                stats = json.load(f)
        except (OSError, ValueError):
            pass
        delivered = self.loki_count_settled(selector, target)
        res = self.result("ebpftrace", written, delivered, c0, c1, t0, t_written, t_done,
                          rss, hwm, stats=stats, prom=prom, rate=rate)
        res["loki_cpu_s"] = (l1 - l0) / CLK_TCK
        return res

    def loki_count_settled(self, selector, target):
        n = None
        for _ in range(20):
            n = self.loki.count(selector)
            if n is not None and n >= target:
                break
            time.sleep(0.5)
        return n

    # -- B: file-tailing shipper (Alloy, or Promtail) ---------------------

    def run_shipper(self, tag, binary, kind, lines=None, seconds=None):
        name = self._name("f")
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "data"))
        logfile = os.path.join(d, "app.log")
        open(logfile, "w").close()
        port = free_port()
        conf = os.path.join(d, "config." + ("alloy" if kind == "alloy" else "yaml"))
        with open(conf, "w") as f:
            f.write(shipper_config(kind, logfile, name, self.loki.url, port, d))
        if kind == "alloy":
            scmd = [binary, "run", "--server.http.listen-addr=127.0.0.1:%d" % port,
                    "--storage.path=" + os.path.join(d, "data"), "--disable-reporting", conf]
            active = "loki_source_file_files_active_total"
        else:
            scmd = [binary, "-config.file=" + conf]
            active = "promtail_files_active_total"
        self.commands.setdefault(kind, show(scmd).replace(d, "<dir>"))
        self.commands.setdefault(kind + " config", shipper_config(
            kind, "<dir>/app.log", "<name>", "http://127.0.0.1:<loki port>", "<port>", "<dir>"))
        summary = os.path.join(d, "sum")
        wcmd = self.writer_cmd(name, summary, 0, lines, seconds, logfile)
        self.commands.setdefault("writer (B)", show(["build/bench/logwriter"] + wcmd[1:]).replace(
            summary, "<file>").replace(d, "<dir>").replace(name, "<name>"))
        a = Child(scmd, os.path.join(self.cfg.out, "logs-%s-%s.log" % (kind, tag)))
        w = None
        try:
            deadline = time.time() + 90
            base = "http://127.0.0.1:%d" % port
            while True:  # ready, and tailing the (empty) file
                st, body = http_get(base + "/metrics")
                if st == 200 and (prom_sum(parse_prom(body), active) or 0) >= 1:
                    break
                if not a.alive() or time.time() > deadline:
                    raise RuntimeError("%s did not start tailing:\n%s" % (kind, a.tail()))
                time.sleep(0.3)
            time.sleep(1.0)
            w = Child(wcmd, os.path.join(d, "writer.err"), executable=self.writer)
            c0, t0, l0 = cpu_ticks(a.pid), time.time(), cpu_ticks(self.loki.proc.pid)
            start_writer(w, summary)
            wcpu = reap(w)
            t_written = time.time()
            written = parse_summary(open(summary).read()) if os.path.exists(summary) else {}
            written["cpu_s"] = wcpu
            target = written.get("lines", 0)
            selector = '{job="logbench", run="%s"}' % name
            sent_metric = ("loki_write_sent_entries_total" if kind == "alloy"
                           else "promtail_sent_entries_total")

            def sent():
                st, body = http_get(base + "/metrics")
                return int(prom_sum(parse_prom(body), sent_metric) or 0) if st == 200 else None

            _, t_done = self.wait_delivered(sent, target, t_written)
            c1, l1 = cpu_ticks(a.pid), cpu_ticks(self.loki.proc.pid)
            rss, hwm = proc_status_kb(a.pid, "VmRSS"), proc_status_kb(a.pid, "VmHWM")
            st, body = http_get(base + "/metrics")
            prom = parse_prom(body) if st == 200 else {}
        finally:
            a.stop(signal.SIGTERM)
            if w and w.alive():
                w.stop()
        delivered = self.loki_count_settled(selector, target)
        res = self.result(kind, written, delivered, c0, c1, t0, t_written, t_done, rss, hwm)
        res["loki_cpu_s"] = (l1 - l0) / CLK_TCK
        for k in ("sent_entries_total", "dropped_entries_total"):
            res["shipper_" + k] = (prom_sum(prom, "loki_write_" + k) if kind == "alloy"
                                   else prom_sum(prom, "promtail_" + k))
        try:
            os.unlink(logfile)
        except OSError:
            pass
        return res

    def result(self, kind, written, delivered, c0, c1, t0, t_written, t_done, rss, hwm,
               stats=None, prom=None, rate=0):
        lines = written.get("lines", 0)
        if not lines:
            raise RuntimeError("the writer wrote nothing")
        wsec = written.get("seconds") or (t_written - t0)
        window = max(t_done, t_written) - t0
        cpu = (c1 - c0) / CLK_TCK if c0 is not None and c1 is not None else None
        wcpu = written.get("cpu_s")
        r = {"kind": kind, "rate": rate, "written": lines, "write_seconds": wsec,
             "writer_cpu_s": wcpu,
             "writer_us_per_line": wcpu / lines * 1e6 if lines and wcpu is not None else None,
             "written_per_s": lines / wsec if wsec else None,
             "delivered": delivered, "window_s": window,
             "delivered_per_s": (delivered or 0) / window if window > 0 else None,
             "cpu_s": cpu, "cpu_cores": cpu / window if cpu is not None and window > 0 else None,
             "lines_per_cpu_s": (delivered or 0) / cpu if cpu else None,
             "rss_kb": rss, "hwm_kb": hwm,
             "lost": lines - (delivered or 0)}
        if stats is not None:
            r["stats"] = {k: stats.get(k) for k in (
                "events", "ringbuf_drops", "log_records", "log_bytes_lost", "log_bytes_dropped",
                "log_records_truncated", "loki_entries_sent", "loki_entries_dropped",
                "loki_errors")}
            r["captured"] = stats.get("log_records")
            r["ringbuf_drops"] = stats.get("ringbuf_drops")
            r["dropped"] = (stats.get("loki_entries_dropped") or 0)
            if cpu and r["captured"]:
                r["captured_per_cpu_s"] = r["captured"] / cpu
        if prom:
            r["loki_pushes"] = prom_sum(prom, "ebpftrace_loki_pushes_total")
            r["loki_push_retries"] = prom_sum(prom, "ebpftrace_loki_push_retries_total")
        r["loss_free"] = (lines > 0 and delivered == lines and not r.get("ringbuf_drops")
                          and not r.get("dropped"))
        return r


def shipper_config(kind, path, run, loki_url, port, d):
    """The shipper's configuration: tail one file into Loki, its defaults
    otherwise (batches of 1 MiB / 1 s, like ebpftrace's loki.batch_*)."""
    if kind == "alloy":
        return """local.file_match "bench" {
  path_targets = [{"__path__" = "%s", "job" = "logbench", "run" = "%s"}]
  sync_period  = "1s"
}

loki.source.file "bench" {
  targets    = local.file_match.bench.targets
  forward_to = [loki.write.local.receiver]
}

loki.write "local" {
  endpoint {
    url = "%s/loki/api/v1/push"
  }
}
""" % (path, run, loki_url)
    return """server:
  http_listen_address: 127.0.0.1
  http_listen_port: %s
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: 0
positions:
  filename: %s/positions.yaml
clients:
  - url: %s/loki/api/v1/push
scrape_configs:
  - job_name: logbench
    static_configs:
      - targets: [localhost]
        labels:
          job: logbench
          run: %s
          __path__: %s
""" % (port, d, loki_url, run, path)


# ---------------------------------------------------------------- summary

def summarize(rows):
    for r in rows:
        if r.get("loki_cpu_s") is not None and r.get("delivered"):
            r["loki_us_per_line"] = r["loki_cpu_s"] / r["delivered"] * 1e6
    import statistics

    def med(key):
        xs = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(xs) if xs else None

    def rng(key):
        xs = [r[key] for r in rows if r.get(key) is not None]
        return [min(xs), max(xs)] if xs else None
    s = {"n": len(rows)}
    for k in ("written_per_s", "delivered_per_s", "cpu_cores", "lines_per_cpu_s",
              "rss_kb", "hwm_kb", "cpu_s", "writer_us_per_line", "loki_us_per_line",
              "captured_per_cpu_s"):
        s[k], s[k + "_range"] = med(k), rng(k)
    s["lost"] = sum(r.get("lost") or 0 for r in rows)
    s["ringbuf_drops"] = sum(r.get("ringbuf_drops") or 0 for r in rows)
    s["dropped"] = sum(r.get("dropped") or 0 for r in rows)
    return s


def main():
    cfg = Config()
    os.makedirs(cfg.out, exist_ok=True)
    if not os.access(cfg.ebpftrace, os.X_OK):
        print("logbench: no tracer binary at %s, not measured" % cfg.ebpftrace)
        return 0
    if os.geteuid() != 0:
        print("logbench: not root, not measured")
        return 0
    t_start = time.time()
    writer = build_writer(cfg)
    shipper_bin, shipper = (None, {"name": "none"})
    if cfg.shipper != "none":
        print("logbench: building/looking up the shipper (cached)", flush=True)
        shipper_bin, shipper = build_shipper(cfg)
        if not shipper_bin:
            print("logbench: no shipper:\n" + shipper.get("error", ""), flush=True)
    print("logbench: building/looking up Loki (cached)", flush=True)
    loki = BenchLoki(backends.ensure_built("loki"))
    tmp = tempfile.mkdtemp(prefix="logbench-")
    loki.start(os.path.join(tmp, "loki"))
    print("logbench: Loki on %s" % loki.url, flush=True)
    bench = LogBench(cfg, loki, writer, tmp)
    try:
        capacity = loki_capacity(loki, writer, tmp)
    except (OSError, subprocess.CalledProcessError) as e:
        capacity = {"error": str(e)}
    print("logbench: Loki alone accepts %s lines/s (JSON+gzip, sequential pushes)" % (
        "%.0f" % capacity["lines_per_s"] if capacity.get("lines_per_s") else "?"), flush=True)
    conds = {"baseline": [], "ebpftrace": [], "shipper": []}
    failed = {}
    try:
        for r in range(cfg.rounds):
            order = ["ebpftrace", "shipper"] if r % 2 == 0 else ["shipper", "ebpftrace"]
            order.insert(r % 3, "baseline")
            for kind in order:
                if kind == "shipper" and not shipper_bin:
                    continue
                tag = "%s-r%d" % (kind, r)
                print("logbench: round %d/%d %-9s" % (r + 1, cfg.rounds, (
                    shipper["kind"] if kind == "shipper" else kind)), end=" ", flush=True)
                try:
                    if kind == "baseline":
                        res = bench.run_baseline(lines=cfg.lines)
                        res["round"] = r
                        conds[kind].append(res)
                        print("wrote %d (%.0f/s), writer %.2f us/line" % (
                            res["written"], res["written_per_s"] or 0,
                            res["writer_us_per_line"] or 0), flush=True)
                        continue
                    if kind == "ebpftrace":
                        res = bench.run_ebpftrace(tag, lines=cfg.lines)
                    else:
                        res = bench.run_shipper(tag, shipper_bin, shipper["kind"],
                                                lines=cfg.lines)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                    print("FAILED", flush=True)
                    failed[tag] = str(e)[-800:]
                    continue
                res["round"] = r
                conds[kind].append(res)
                print("wrote %d (%.0f/s), delivered %s (%.0f/s), CPU %.2fs -> %s lines/CPU-s" % (
                    res["written"], res["written_per_s"] or 0, res["delivered"],
                    res["delivered_per_s"] or 0, res["cpu_s"] or 0,
                    "%.0f" % res["lines_per_cpu_s"] if res["lines_per_cpu_s"] else "n/a"),
                    flush=True)
        sweep = []
        for rate in cfg.rates:
            print("logbench: sweep ebpftrace %d lines/s for %ds" % (rate, cfg.rate_seconds),
                  end=" ", flush=True)
            try:
                res = bench.run_ebpftrace("sweep-%d" % rate, rate=rate,
                                          seconds=cfg.rate_seconds)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                print("FAILED", flush=True)
                sweep.append({"rate": rate, "error": str(e)[-300:]})
                continue
            sweep.append(res)
            print("wrote %d (%.0f/s), delivered %s, ringbuf drops %s, dropped %s%s" % (
                res["written"], res["written_per_s"] or 0, res["delivered"],
                res.get("ringbuf_drops"), res.get("dropped"),
                " loss-free" if res["loss_free"] else ""), flush=True)
        if cfg.big_queue_rate:
            # Same rate with a queue big enough for the whole run: is what is
            # lost at the default bound only what Loki could not take in time?
            rate = cfg.big_queue_rate
            print("logbench: sweep ebpftrace %d lines/s for %ds, --loki-queue-bytes %s" % (
                rate, cfg.rate_seconds, cfg.big_queue), end=" ", flush=True)
            try:
                res = bench.run_ebpftrace("sweep-%d-bigq" % rate, rate=rate,
                                          seconds=cfg.rate_seconds,
                                          extra=["--loki-queue-bytes", cfg.big_queue])
                res["queue_bytes"] = cfg.big_queue
                sweep.append(res)
                print("wrote %d, delivered %s, dropped %s" % (
                    res["written"], res["delivered"], res.get("dropped")), flush=True)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                print("FAILED", flush=True)
                sweep.append({"rate": rate, "queue_bytes": cfg.big_queue, "error": str(e)[-300:]})
    finally:
        loki.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    summ = {k: summarize(v) for k, v in conds.items() if v}
    ratio = None
    if summ.get("ebpftrace", {}).get("lines_per_cpu_s") and summ.get("shipper", {}).get(
            "lines_per_cpu_s"):
        ratio = summ["ebpftrace"]["lines_per_cpu_s"] / summ["shipper"]["lines_per_cpu_s"]
    at100 = next((r for r in sweep if r.get("rate") == TARGETS["loss_free_rate"]
                  and not r.get("queue_bytes")), None)
    data = {
        "machine": machine_info(type("C", (), {"ebpftrace": cfg.ebpftrace, "agent_jar": ""})()),
        "settings": {"rounds": cfg.rounds, "lines": cfg.lines, "max_seconds": cfg.max_seconds,
                     "rates": cfg.rates, "rate_seconds": cfg.rate_seconds,
                     "settle": cfg.settle, "loki_limits": LOKI_LIMITS.strip(),
                     "loki": os.path.basename(loki.binary)},
        "shipper": shipper, "commands": bench.commands, "loki_capacity": capacity,
        "results": conds, "summary": summ, "sweep": sweep, "failed": failed,
        "ratio_vs_shipper": ratio,
        "highest_loss_free_rate": highest_loss_free(sweep),
        "zero_loss_at_100k": bool(at100 and at100.get("loss_free")) if at100 else None,
        "targets": TARGETS, "elapsed_s": round(time.time() - t_start),
    }
    path = os.path.join(cfg.out, "logs.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print("logbench: results in %s" % os.path.relpath(path, ROOT))
    import report
    results = os.path.join(cfg.out, "results.json")
    if os.path.exists(results):
        with open(results) as f:
            full = json.load(f)
        full["logs"] = data
        report.write(full, cfg.docs)
    else:
        md = os.path.join(cfg.out, "logs.md")
        with open(md, "w") as f:
            f.write("\n".join(report.logs_section(data)) + "\n")
        print("logbench: no %s, report section in %s" % (
            os.path.relpath(results, ROOT), os.path.relpath(md, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
