#!/usr/bin/env python3
"""ebpftrace benchmark harness (entry point: tests/bench/run.sh, `make bench`).

Alternating rounds of wrk on loopback against real servers, one condition at
a time, the order rotated every round:
  untraced | ebpftrace --hook-only | ebpftrace fully on (console off)
  | the same two with --hooks raw (tp_btf sys_enter/sys_exit)
  | ebpftrace fully on + OTLP export to a local sink
  | OpenTelemetry Java agent (exporters off) | agent + OTLP to the sink
Writes docs/benchmarks.md, docs/benchmarks.png and raw JSON results.

Environment (all optional):
  BENCH_ROUNDS=5 BENCH_SECONDS=10 BENCH_CONNS=16 BENCH_WRK_THREADS=2
  BENCH_WORKLOADS=jdk,go  BENCH_OTLP=1  BENCH_AGENT=1  BENCH_WARMUP=10
  BENCH_RAW=1 (also run hook-only and fully-on with --hooks raw)
  BENCH_SWEEP=1,4,16,64  BENCH_SWEEP_SECONDS=5  (BENCH_SWEEP= turns the sweep off)
  BENCH_SYSCALLS=1 (after the HTTP rounds, with the servers stopped: the cost to
    processes that are not traced, tests/bench/sysbench.py; BENCH_SYSCALLS=0
    leaves it out)
  BENCH_SYSCALL_ROUNDS=5  BENCH_SYSCALL_SECONDS=1 (per syscall and run)
  BENCH_SYSCALL_SLICE_MS=20  BENCH_SYSCALL_WAIT=10 (s to wait for other ebpftrace
    processes on the host to exit before each run)
  BENCH_ONLY_SYSCALLS=1 (`BENCH_ONLY_SYSCALLS=1 make bench` or tests/bench/run.sh
    runs only that part: about 4 min, 1.5 min with BENCH_SYSCALL_ROUNDS=2; it
    is merged into an existing $BENCH_OUT/results.json and the report
    re-rendered, else written to $BENCH_OUT/syscalls.md)
  EBPFTRACE=build/ebpftrace  EBPFTRACE_ARGS="extra tracer args"
  OTEL_AGENT_JAR=path  BENCH_OUT=build/bench  BENCH_DOCS=docs
  BENCH_NOTE="text put at the top of the report"
Re-render a report from saved results: bench.py --report build/bench/results.json
"""
import json
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.expanduser(os.environ.get("CACHE", "~/.cache/ebpftrace"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit("bench: %s must be an integer" % name)


def env_list(name, default):
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


class Config:
    def __init__(self):
        build = os.environ.get("BUILD", "build")
        self.rounds = env_int("BENCH_ROUNDS", 5)
        self.seconds = env_int("BENCH_SECONDS", 10)
        self.conns = env_int("BENCH_CONNS", 16)
        self.wrk_threads = env_int("BENCH_WRK_THREADS", 2)
        self.warmup = env_int("BENCH_WARMUP", 10)
        self.pause = env_int("BENCH_PAUSE", 1)
        self.workloads = env_list("BENCH_WORKLOADS", "jdk,go")
        self.otlp = os.environ.get("BENCH_OTLP", "1") == "1"
        self.agent = os.environ.get("BENCH_AGENT", "1") == "1"
        self.raw = os.environ.get("BENCH_RAW", "1") == "1"
        self.syscalls = os.environ.get("BENCH_SYSCALLS", "1") != "0"
        self.sweep = [int(x) for x in env_list("BENCH_SWEEP", "1,4,16,64")]
        self.sweep_seconds = env_int("BENCH_SWEEP_SECONDS", 5)
        self.ebpftrace = os.path.abspath(os.environ.get(
            "EBPFTRACE", os.path.join(ROOT, build, "ebpftrace")))
        self.tracer_args = shlex.split(os.environ.get("EBPFTRACE_ARGS", ""))
        self.otlp_bench = os.path.join(ROOT, build, "otlp_bench")
        self.agent_jar = os.environ.get("OTEL_AGENT_JAR", "")
        self.out = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, build, "bench")))
        self.docs = os.path.abspath(os.environ.get("BENCH_DOCS", os.path.join(ROOT, "docs")))
        self.note = os.environ.get("BENCH_NOTE", "")
        self.jvm_opts = ["-Xms256m", "-Xmx1g"]

    def tracer_usable(self):
        if not os.access(self.ebpftrace, os.X_OK):
            return "no tracer binary at %s" % os.path.relpath(self.ebpftrace, ROOT)
        if os.geteuid() != 0:
            return "not root"
        return None


# ---------------------------------------------------------------- processes

class Proc:
    """A child process we started; stopped by its own pid only."""

    def __init__(self, name, cmd, log_path, env=None):
        self.name, self.cmd, self.log_path = name, cmd, log_path
        self.log = open(log_path, "wb")
        full_env = dict(os.environ)
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=full_env,
                                  start_new_session=True)
        self.pid = self.p.pid
        self.port = None

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, n=8):
        return "\n".join(self.output().splitlines()[-n:])

    def alive(self):
        return self.p.poll() is None

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r"^READY (\d+)", self.output(), re.M)
            if m:
                self.port = int(m.group(1))
                return
            if not self.alive():
                break
            time.sleep(0.1)
        raise RuntimeError("%s did not get ready:\n%s" % (self.name, self.tail()))

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.alive():
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------- wrk

UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def to_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS_US[m.group(2)] if m else None


def parse_wrk(out):
    res = {"rps": None, "requests": None, "p50_us": None, "p99_us": None,
           "errors": 0, "non2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M)
        if m:
            res[key] = to_us(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


def wrk_cmd(cfg, url, seconds, conns):
    return ["wrk", "-t%d" % min(cfg.wrk_threads, conns), "-c%d" % conns,
            "-d%ds" % seconds, "--latency", url]


def run_wrk(cfg, url, seconds, conns):
    cmd = wrk_cmd(cfg, url, seconds, conns)
    ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = parse_wrk(out)
    if res["rps"] is None:
        raise RuntimeError("wrk printed no result:\n" + out)
    res["wall_s"] = time.time() - t0
    res["wrk_cpu_s"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return res


def system_busy_ticks():
    """Busy CPU ticks of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


# ---------------------------------------------------------------- tracer

def bpf_prog_count(pid):
    """Programs bpftool attributes to pid; None when bpftool cannot tell."""
    try:
        out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                             text=True, timeout=10).stdout
        progs = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return sum(1 for p in progs for o in p.get("pids", []) if o.get("pid") == pid)


def flatten(obj, prefix=""):
    flat = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            flat.update(flatten(v, prefix + str(k) + "."))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        flat[prefix[:-1]] = obj
    return flat


def summarize_stats(raw):
    """Lenient view of the tracer's --stats-file JSON."""
    if raw is None:
        return None
    flat = flatten(raw)

    def pick(*names):
        for n in names:
            for k, v in flat.items():
                if k == n or k.endswith("." + n):
                    return v
        return None

    losses = sum(v for k, v in flat.items()
                 if re.search(r"drop|lost", k.rsplit(".", 1)[-1]))
    return {"events": pick("events", "events_total"),
            "ringbuf_drops": pick("ringbuf_drops"),
            "spans": pick("spans", "spans_total"),
            "spans_dropped": pick("spans_dropped"),
            "losses": losses, "raw": raw}


class Tracer:
    ready_by_bpftool = True  # set to False once bpftool cannot see owners

    def __init__(self, cfg, mode, target_pid, tag, otlp_url=None):
        self.stats_path = os.path.join(cfg.out, "stats-%s.json" % tag)
        if os.path.exists(self.stats_path):
            os.unlink(self.stats_path)
        self.cmd = tracer_cmd(cfg, mode, target_pid, self.stats_path)
        # The OTLP endpoint comes from the environment only in the OTLP
        # condition; elsewhere the tracer runs without one.
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": None}
        self.proc = Proc("ebpftrace", self.cmd, os.path.join(cfg.out, "tracer-%s.log" % tag), env)
        self.pid = self.proc.pid

    def wait_attached(self, timeout=30):
        deadline, last, stable = time.time() + timeout, -1, 0
        while time.time() < deadline:
            if not self.proc.alive():
                raise RuntimeError("ebpftrace exited (%s):\n%s" % (self.proc.p.returncode, self.proc.tail()))
            if re.search(r"\b(ready|attached)\b", self.proc.output(), re.I):
                break
            if not Tracer.ready_by_bpftool:
                if time.time() > deadline - timeout + 3:
                    break
            else:
                n = bpf_prog_count(self.pid)
                if n is None:
                    Tracer.ready_by_bpftool = False
                elif n > 0 and n == last:
                    stable += 1
                    if stable >= 3:
                        break
                else:
                    stable = 0
                last = n
            time.sleep(0.3)
        time.sleep(1.0)  # let startup work (proc scans, map setup) settle
        if not self.proc.alive():
            raise RuntimeError("ebpftrace exited:\n" + self.proc.tail())

    def stop(self):
        self.proc.stop(signal.SIGINT, timeout=20)
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def tracer_cmd(cfg, mode, target_pid, stats_path):
    cmd = [cfg.ebpftrace, "run", "--pid", str(target_pid), "--format", "none",
           "--stats-file", stats_path]
    if mode.startswith("hook"):
        cmd.insert(2, "--hook-only")
    if mode.endswith("-raw"):
        cmd[2:2] = ["--hooks", "raw"]
    return cmd + cfg.tracer_args


# ---------------------------------------------------------------- servers

def jdk_cmd(cfg, agent_props=None):
    cmd = ["java"] + cfg.jvm_opts
    if agent_props is not None:
        cmd += ["-javaagent:" + cfg.agent_jar] + ["-D%s=%s" % kv for kv in agent_props]
    return cmd + ["-cp", os.path.join(CACHE, "peers"), "JdkServer", "0"]


AGENT_OFF = [("otel.service.name", "jdk-bench"), ("otel.traces.exporter", "none"),
             ("otel.metrics.exporter", "none"), ("otel.logs.exporter", "none")]


def agent_otlp_props(sink_port):
    return [("otel.service.name", "jdk-bench"), ("otel.traces.exporter", "otlp"),
            ("otel.exporter.otlp.protocol", "http/protobuf"),
            ("otel.exporter.otlp.traces.endpoint",
             "http://127.0.0.1:%d/v1/traces" % sink_port),
            ("otel.metrics.exporter", "none"), ("otel.logs.exporter", "none")]


class Condition:
    def __init__(self, key, label, workload, server, tracer=None, otlp=False):
        self.key, self.label, self.workload = key, label, workload
        self.server, self.tracer, self.otlp = server, tracer, otlp


def plan(cfg):
    conds = []
    for w in cfg.workloads:
        srv = "jdk" if w == "jdk" else "go"
        conds += [Condition(w + ":untraced", "untraced", w, srv),
                  Condition(w + ":hook", "ebpftrace hook-only", w, srv, "hook"),
                  Condition(w + ":full", "ebpftrace on, console off", w, srv, "full")]
        if cfg.raw:
            conds += [Condition(w + ":hook-raw", "ebpftrace hook-only, --hooks raw", w, srv,
                                "hook-raw"),
                      Condition(w + ":full-raw", "ebpftrace on, --hooks raw", w, srv,
                                "full-raw")]
        if cfg.otlp and w == "jdk":
            conds.append(Condition(w + ":full-otlp", "ebpftrace on, OTLP to sink", w, srv, "full", True))
        if cfg.agent and w == "jdk" and cfg.agent_jar:
            conds.append(Condition(w + ":agent", "OTel Java agent, exporters off", w, "jdk-agent"))
            if cfg.otlp:
                conds.append(Condition(w + ":agent-otlp", "OTel Java agent, OTLP to sink",
                                       w, "jdk-agent-otlp", otlp=True))
    return conds


class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.procs = {}
        self.commands = {}
        self.skip_reason = cfg.tracer_usable()
        self.failed = {}

    def start(self, name, cmd, timeout=60):
        p = Proc(name, cmd, os.path.join(self.cfg.out, "%s.log" % name))
        self.procs[name] = p
        p.wait_ready(timeout)
        self.commands[name] = show_cmd(cmd)
        print("bench: %s pid %d port %d" % (name, p.pid, p.port), flush=True)
        return p

    def start_servers(self, conds):
        needed = {c.server for c in conds}
        if any(c.otlp for c in conds):
            self.start("sink", [sys.executable, os.path.join(ROOT, "tests/bench/otlp_sink.py"), "0"])
        if "jdk" in needed:
            self.start("jdk", jdk_cmd(self.cfg))
        if "jdk-agent" in needed:
            self.start("jdk-agent", jdk_cmd(self.cfg, AGENT_OFF), 120)
        if "jdk-agent-otlp" in needed:
            props = agent_otlp_props(self.procs["sink"].port)
            self.start("jdk-agent-otlp", jdk_cmd(self.cfg, props), 120)
        if "go" in needed:
            self.start("go", [os.path.join(CACHE, "bin", "goserver"), "0"])
        for name in needed:
            secs = self.cfg.warmup if name.startswith("jdk") else min(3, self.cfg.warmup)
            print("bench: warming %s for %ds" % (name, secs), flush=True)
            run_wrk(self.cfg, self.url(name), secs, self.cfg.conns)

    def url(self, server):
        return "http://127.0.0.1:%d/hello" % self.procs[server].port

    def sink_url(self):
        return "http://127.0.0.1:%d" % self.procs["sink"].port

    def sink_stats(self):
        if "sink" not in self.procs:
            return None
        with urllib.request.urlopen(self.sink_url() + "/stats", timeout=5) as r:
            return json.load(r)

    def sink_ticks(self):
        sink = self.procs.get("sink")
        return (cpu_ticks(sink.pid) or 0) if sink else 0

    def stop_all(self):
        for p in self.procs.values():
            p.stop()

    def measure(self, cond, tag, seconds=None, conns=None):
        seconds = seconds or self.cfg.seconds
        conns = conns or self.cfg.conns
        server = self.procs[cond.server]
        tracer = None
        if cond.tracer:
            otlp = self.sink_url() if cond.otlp else None
            tracer = Tracer(self.cfg, cond.tracer, server.pid, tag, otlp)
            self.commands.setdefault("tracer " + cond.key, (
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<sink port> " if cond.otlp
                else "") + show_cmd(tracer_cmd(self.cfg, cond.tracer, "<pid>", "<file>")))
            try:
                tracer.wait_attached()
            except RuntimeError:
                tracer.stop()
                raise
        sink0 = self.sink_stats() if cond.otlp else None
        srv0 = cpu_ticks(server.pid)
        tr0 = cpu_ticks(tracer.pid) if tracer else None
        sk0, sys0 = self.sink_ticks(), system_busy_ticks()
        try:
            res = run_wrk(self.cfg, self.url(cond.server), seconds, conns)
            srv1 = cpu_ticks(server.pid)
            ours = (srv1 - srv0) + (self.sink_ticks() - sk0)
            if tracer:
                tr1 = cpu_ticks(tracer.pid)
                ours += tr1 - tr0
                res["tracer_cpu_us_per_req"] = per_req(tr0, tr1, res["requests"])
                res["tracer_rss_kb"] = proc_status_kb(tracer.pid, "VmRSS")
                res["tracer_hwm_kb"] = proc_status_kb(tracer.pid, "VmHWM")
                res["tracer_alive"] = tracer.proc.alive()
        finally:
            stats = tracer.stop() if tracer else None
        res["server_cpu_us_per_req"] = per_req(srv0, srv1, res["requests"])
        # CPU the machine spent outside this measurement (other sessions,
        # idle servers), in % of one core: a noisy round shows up here.
        other = (system_busy_ticks() - sys0 - ours) / CLK_TCK - res["wrk_cpu_s"]
        res["other_cpu_pct"] = max(0.0, other / res["wall_s"] * 100)
        if cond.otlp:
            s1 = self.sink_stats()
            res["sink_requests"] = s1["requests"] - sink0["requests"]
            res["sink_bytes"] = s1["bytes"] - sink0["bytes"]
        if tracer:
            res["stats"] = summarize_stats(stats)
            res["tracer_exit"] = tracer.proc.p.returncode
        return res

    def run_rounds(self, conds):
        results = {c.key: [] for c in conds}
        for r in range(self.cfg.rounds):
            k = r % len(conds)
            for c in conds[k:] + conds[:k]:
                if c.tracer and (self.skip_reason or c.key in self.failed):
                    continue
                tag = "%s-r%d" % (c.key.replace(":", "-"), r)
                print("bench: round %d/%d %-14s %s" % (r + 1, self.cfg.rounds, c.key, c.label),
                      end=" ", flush=True)
                try:
                    res = self.measure(c, tag)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print("FAILED", flush=True)
                    self.failed[c.key] = str(e)[-800:]
                    continue
                res["round"] = r
                results[c.key].append(res)
                print("%.0f req/s" % res["rps"], flush=True)
                time.sleep(self.cfg.pause)
        return results

    def run_sweep(self, conds):
        cond = next((c for c in conds if c.tracer == "full" and not c.otlp), None)
        if not self.cfg.sweep or cond is None or self.skip_reason or cond.key in self.failed:
            return []
        rows = []
        for n in self.cfg.sweep:
            print("bench: sweep %s %d connections" % (cond.key, n), end=" ", flush=True)
            try:
                res = self.measure(cond, "sweep-c%d" % n, self.cfg.sweep_seconds, n)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print("FAILED", flush=True)
                rows.append({"conns": n, "error": str(e)[-300:]})
                continue
            res["conns"], res["workload"] = n, cond.workload
            rows.append(res)
            print("%.0f req/s" % res["rps"], flush=True)
        return rows


def show_cmd(cmd):
    """A command line for the report: no host-specific paths or ports."""
    text = " ".join(c if re.fullmatch(r"<[\w ]+>", c) else shlex.quote(c)
                    for c in map(str, cmd))
    text = text.replace(ROOT + "/", "").replace(os.path.expanduser("~"), "~")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<sink port>", text)
    return re.sub(r"^\S*/python3(\.\d+)?\b", "python3", text)


def per_req(t0, t1, requests):
    if t0 is None or t1 is None or not requests:
        return None
    return (t1 - t0) / CLK_TCK / requests * 1e6


OTLP_POST_SPANS = 200000
OTLP_POST_ROUNDS = 3
# result key -> the line otlp_bench prints ("<name> <number>")
OTLP_BENCH_LINES = {
    "spans_per_cpu_second": "otlp_encode_gzip_spans_per_cpu_second",
    "gzip_bytes_per_span": "otlp_gzip_bytes_per_span",
    "post_thread_spans_per_cpu_second": "otlp_post_thread_spans_per_cpu_second",
    "post_spans_per_cpu_second": "otlp_post_spans_per_cpu_second",
    "raw_bytes_per_span": "otlp_raw_bytes_per_span",
    "post_plain_thread_spans_per_cpu_second": "otlp_post_plain_thread_spans_per_cpu_second",
    "post_plain_spans_per_cpu_second": "otlp_post_plain_spans_per_cpu_second",
}


def parse_otlp_bench(out):
    res = {}
    for key, name in OTLP_BENCH_LINES.items():
        m = re.search(r"^%s\s+([\d.eE+]+)\s*$" % name, out, re.M)
        if m:
            res[key] = float(m.group(1))
    return res


def run_otlp_post(cfg):
    """otlp_bench post mode: the real exporter thread posting to a sink of its own,
    with gzip (the default) and with otlp.compression=none, OTLP_POST_ROUNDS
    alternating rounds of each. Returns ({result key: [value per round]}, output)."""
    sink = Proc("otlp-bench-sink", [sys.executable, os.path.join(ROOT, "tests/bench/otlp_sink.py"), "0"],
                os.path.join(cfg.out, "otlp-bench-sink.log"))
    rounds, out = {}, ""
    try:
        sink.wait_ready(30)
        url = "http://127.0.0.1:%d/v1/traces" % sink.port
        for _ in range(OTLP_POST_ROUNDS):
            for extra in ([], ["none"]):
                r = subprocess.run([cfg.otlp_bench, "post", url, str(OTLP_POST_SPANS)] + extra,
                                   capture_output=True, text=True, timeout=300)
                out += r.stdout + r.stderr
                for key, v in parse_otlp_bench(r.stdout).items():
                    rounds.setdefault(key, []).append(v)
        return rounds, out
    finally:
        sink.stop()


def run_otlp_bench(cfg):
    """Encode+gzip on one thread, then post mode against a local sink: each
    post figure is the median of its rounds, which are kept in post_rounds."""
    if not os.access(cfg.otlp_bench, os.X_OK):
        return None
    res = {"spans_per_cpu_second": None, "post_spans": OTLP_POST_SPANS}
    try:
        out = subprocess.run([cfg.otlp_bench], capture_output=True, text=True, timeout=300).stdout
        res.update(parse_otlp_bench(out), output=out[-2000:])
        rounds, out = run_otlp_post(cfg)
        res.update({k: statistics.median(v) for k, v in rounds.items()},
                   post_rounds=rounds, post_output=out[-2000:])
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        res["error"] = str(e)
    return res


STARTUP_RUNS = 3


def time_to_ready(cmd, timeout=60):
    """Milliseconds from starting cmd to its "ready" line on stderr."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stderr:
            if re.search(r"\bready\b", line):
                return round((time.monotonic() - t0) * 1000)
            if time.monotonic() - t0 > timeout:
                break
        raise RuntimeError("no ready line from %s (exit %s)" % (shlex.join(cmd), p.poll()))
    finally:
        p.kill()
        p.wait()


def run_startup(cfg):
    """From the command to "ready" (the programs loaded, verified and
    attached), STARTUP_RUNS alternating runs of each kind of hook."""
    kinds = {"tracepoints": [], "raw": ["--hooks", "raw"]}
    res = {"runs": {k: [] for k in kinds},
           "command": "%s run --format none [--hooks raw]" % os.path.relpath(cfg.ebpftrace, ROOT)}
    try:
        for _ in range(STARTUP_RUNS):
            for kind, extra in kinds.items():
                cmd = [cfg.ebpftrace, "run", "--format", "none"] + extra
                res["runs"][kind].append(time_to_ready(cmd))
    except (OSError, RuntimeError) as e:
        res["error"] = str(e)
    return res


# ---------------------------------------------------------------- machine

def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_info(cfg):
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/{printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "kernel": platform.release(), "nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "java": sh("java -version 2>&1 | head -2 | tail -1"),
        "go": sh("go version"), "wrk": sh("wrk -v 2>&1 | head -1"),
        "agent": os.path.basename(cfg.agent_jar) if cfg.agent_jar else None,
        "ebpftrace": (sh(shlex.quote(cfg.ebpftrace) + " --version 2>&1 | head -1")
                      if os.access(cfg.ebpftrace, os.X_OK) else None),
        "ebpftrace_commit": sh("git -C %s rev-parse --short HEAD" % shlex.quote(ROOT)),
    }


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) == 2 and argv[0] == "--report":
        with open(argv[1]) as f:
            data = json.load(f)
        import report
        report.write(data, Config().docs)
        return 0
    cfg = Config()
    os.makedirs(cfg.out, exist_ok=True)
    conds = plan(cfg)
    bench = Bench(cfg)
    if bench.skip_reason:
        print("bench: tracer conditions not measured: %s" % bench.skip_reason, flush=True)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    t0 = time.time()
    try:
        bench.start_servers(conds)
        results = bench.run_rounds(conds)
        sweep = bench.run_sweep(conds)
    finally:
        bench.stop_all()
    syscalls = None
    if cfg.syscalls:
        import sysbench
        syscalls = sysbench.run(cfg)
    data = {
        "machine": machine_info(cfg),
        "settings": {"rounds": cfg.rounds, "seconds": cfg.seconds, "conns": cfg.conns,
                     "wrk_threads": cfg.wrk_threads, "warmup": cfg.warmup,
                     "sweep_seconds": cfg.sweep_seconds, "note": cfg.note,
                     "wrk": " ".join(wrk_cmd(cfg, "http://127.0.0.1:<port>/hello",
                                             cfg.seconds, cfg.conns)),
                     "jvm_opts": cfg.jvm_opts},
        "conditions": [{"key": c.key, "label": c.label, "workload": c.workload,
                        "tracer": c.tracer, "otlp": c.otlp} for c in conds],
        "skip_reason": bench.skip_reason, "failed": bench.failed,
        "commands": bench.commands, "results": results, "sweep": sweep,
        "syscalls": syscalls,
        "otlp_bench": run_otlp_bench(cfg), "startup": run_startup(cfg),
        "elapsed_s": round(time.time() - t0),
    }
    path = os.path.join(cfg.out, "results.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print("bench: raw results in %s" % os.path.relpath(path, ROOT))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import report
    report.write(data, cfg.docs)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv[1:]))
