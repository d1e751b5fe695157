#!/usr/bin/env python3
"""What the tracer costs processes it does NOT trace (part of `make bench`:
bench.py runs it once, after the HTTP rounds, with the servers stopped;
alone: BENCH_ONLY_SYSCALLS=1 tests/bench/run.sh, or this file).

The syscall hooks run in every process on the host, selected or not:
`--hooks tracepoints` (the default) runs one program on each hooked
syscalls/sys_enter_X and sys_exit_X event, `--hooks raw` two tp_btf programs
on every syscall of every process. tests/bench/syscall_bench.c times tight
loops of getppid (hooked by no program), read of 64 bytes from /dev/zero and
write of 64 bytes to /dev/null (both hooked, neither a socket nor stdout), in
CPU ns per call (the thread's CPU clock, median over 20 ms slices), under:
  untraced | tracepoints --hook-only | tracepoints fully on
  | --hooks raw --hook-only | --hooks raw fully on
The tracer runs with --format none --pid <an idle `sleep` of ours>, so the
benchmark process is not selected. Rounds alternate the conditions (order
rotated each round), with an untraced run before and after each traced one;
medians with min–max over rounds, and the ns each condition adds per call:
the median over rounds of the difference to the mean of the two untraced
runs around it.

Environment (all optional):
  BENCH_SYSCALL_ROUNDS=5  BENCH_SYSCALL_SECONDS=1 (per syscall and run)
  BENCH_SYSCALL_SLICE_MS=20  BENCH_SYSCALLS=0 (bench.py leaves it out)
  BENCH_SYSCALL_WAIT=10: before each run, wait up to this many seconds for
    other ebpftrace processes on the host (other sessions' tests) to exit;
    runs that still had one are counted in the report
  EBPFTRACE=build/ebpftrace  EBPFTRACE_ARGS=...  BENCH_OUT=build/bench
  BENCH_DOCS=docs
Alone, results go to $BENCH_OUT/syscalls.json; when bench.py's
$BENCH_OUT/results.json is there, they are merged into it and
docs/benchmarks.md is re-rendered, else the section goes to
$BENCH_OUT/syscalls.md.
"""
import json
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402

SYSCALLS = ("getppid", "read", "write")
# (key, label, bench.tracer_cmd mode or None)
CONDITIONS = [
    ("untraced", "untraced", None),
    ("hook", "tracepoints, hook-only", "hook"),
    ("full", "tracepoints, fully on", "full"),
    ("hook-raw", "--hooks raw, hook-only", "hook-raw"),
    ("full-raw", "--hooks raw, fully on", "full-raw"),
]
FIELDS = ("calls", "slices", "wall_ns", "cpu_ns", "median_cpu_ns", "min_cpu_ns")


def settings():
    return {"rounds": bench.env_int("BENCH_SYSCALL_ROUNDS", 5),
            "seconds": bench.env_int("BENCH_SYSCALL_SECONDS", 1),
            "slice_ms": bench.env_int("BENCH_SYSCALL_SLICE_MS", 20),
            "wait": bench.env_int("BENCH_SYSCALL_WAIT", 10)}


def parse_syscall_bench(out):
    """syscall_bench's lines -> {syscall: {field: number}}; incomplete lines
    are left out."""
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0] not in SYSCALLS:
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        try:
            row = {k: (int(kv[k]) if k in ("calls", "slices") else float(kv[k]))
                   for k in FIELDS}
        except (KeyError, ValueError):
            continue
        res[parts[0]] = row
    return res


def other_tracers(exclude=()):
    """Pids of ebpftrace processes other than ours (other sessions' tests on a
    shared host): their hooks slow every syscall, traced or not."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == "ebpftrace":
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def wait_no_other_tracers(timeout, exclude=()):
    """Waits up to timeout s for other tracers to exit; returns how many remain."""
    deadline = time.time() + timeout
    while True:
        n = len(other_tracers(exclude))
        if n == 0 or time.time() >= deadline:
            return n
        time.sleep(0.5)


def build_syscall_bench(cfg):
    exe = os.path.join(cfg.out, "syscall_bench")
    src = os.path.join(HERE, "syscall_bench.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                        "-o", exe, src], check=True)
    return exe


def bench_cmd(exe, st):
    return [exe, "-d", str(st["seconds"]), "-s", str(st["slice_ms"])]


def measure(cfg, exe, st, mode, idle_pid, tag):
    """One run of syscall_bench under one condition."""
    tracer = None
    if mode:
        tracer = bench.Tracer(cfg, mode, idle_pid, tag)
        try:
            tracer.wait_attached()
        except RuntimeError:
            tracer.stop()
            raise
    mine = (tracer.pid,) if tracer else ()
    try:
        wait_no_other_tracers(st.get("wait", 0), mine)
        others0 = set(other_tracers(mine))
        tr0 = bench.cpu_ticks(tracer.pid) if tracer else 0
        ru0, sys0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), \
            bench.system_busy_ticks(), time.time()
        r = subprocess.run(bench_cmd(exe, st), capture_output=True, text=True,
                           timeout=3 * st["seconds"] * 4 + 60)
        wall = time.time() - t0
        sys1, ru1 = bench.system_busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
        tr1 = bench.cpu_ticks(tracer.pid) if tracer else 0
        others = len(others0 | set(other_tracers(mine)))
        alive = tracer.proc.alive() if tracer else None
    finally:
        stats = tracer.stop() if tracer else None
    if tracer and not alive:
        raise RuntimeError("ebpftrace exited during the run (%s):\n%s" % (
            tracer.proc.p.returncode, tracer.proc.tail()))
    res = parse_syscall_bench(r.stdout)
    if r.returncode != 0 or set(res) != set(SYSCALLS):
        raise RuntimeError("syscall_bench exit %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    bench_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    tracer_cpu = ((tr1 or 0) - (tr0 or 0)) / bench.CLK_TCK
    other = (sys1 - sys0) / bench.CLK_TCK - bench_cpu - tracer_cpu
    out = {"syscalls": res, "wall_s": wall, "bench_cpu_s": bench_cpu,
           "other_cpu_pct": max(0.0, other / wall * 100), "other_tracers": others}
    if tracer:
        out["tracer_cpu_pct"] = tracer_cpu / wall * 100
        out["tracer_alive"] = alive
        out["stats"] = bench.summarize_stats(stats)
        if out["stats"]:
            out["stats"]["log_records"] = out["stats"]["raw"].get("log_records")
            out["stats"].pop("raw", None)
    return out


def bracket(before, after):
    """Untraced ns per call around a traced run: the mean of the runs just
    before and just after it (or the one there is)."""
    out = {}
    for sc in SYSCALLS:
        vals = [u["syscalls"][sc]["median_cpu_ns"] for u in (before, after) if u]
        if vals:
            out[sc] = sum(vals) / len(vals)
    return out


def run(cfg, st=None):
    """All rounds; returns the "syscalls" part of results.json.

    A round: untraced, then each traced condition (order rotated by one each
    round) followed by an untraced run, so that every traced run has an
    untraced run just before and just after it: its "baseline" is their
    mean, which cancels load that drifts on the scale of a few seconds."""
    st = st or settings()
    t_start = time.time()
    data = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "settings": st,
            "commit": bench.sh("git -C %s rev-parse --short HEAD" % bench.ROOT),
            "conditions": [{"key": k, "label": lb, "tracer": m} for k, lb, m in CONDITIONS],
            "results": {k: [] for k, _, _ in CONDITIONS}, "failed": {},
            "skip_reason": cfg.tracer_usable(), "commands": {}}
    os.makedirs(cfg.out, exist_ok=True)
    try:
        exe = build_syscall_bench(cfg)
    except (OSError, subprocess.CalledProcessError) as e:
        data["error"] = "syscall_bench did not build: %s" % e
        return data
    data["commands"]["syscall_bench"] = bench.show_cmd(bench_cmd(exe, st))
    idle = bench.Proc("sysbench-idle", ["sleep", "1000000"],
                      os.path.join(cfg.out, "sysbench-idle.log"))
    data["commands"]["idle"] = "sleep 1000000"
    traced = [c for c in CONDITIONS if c[2]]
    runs = [0]

    def one(r, key, label, mode):
        print("bench: syscalls round %d/%d %-24s" % (r + 1, st["rounds"], label),
              end=" ", flush=True)
        if mode:
            data["commands"].setdefault("tracer " + key, bench.show_cmd(
                bench.tracer_cmd(cfg, mode, "<idle pid>", "<file>")))
        try:
            res = measure(cfg, exe, st, mode, idle.pid, "syscalls-%s-%d" % (key, runs[0]))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print("FAILED", flush=True)
            data["failed"][key] = str(e)[-800:]
            return None
        finally:
            runs[0] += 1
        res["round"] = r
        data["results"][key].append(res)
        print(" ".join("%s %.0f ns" % (s, res["syscalls"][s]["median_cpu_ns"])
                       for s in SYSCALLS) +
              ", other CPU %.0f%%" % res["other_cpu_pct"] +
              (", %d other tracer(s) running" % res["other_tracers"]
               if res["other_tracers"] else ""), flush=True)
        return res

    try:
        for r in range(st["rounds"]):
            before = one(r, *CONDITIONS[0])
            k = r % len(traced)
            for key, label, mode in traced[k:] + traced[:k]:
                if data["skip_reason"] or key in data["failed"]:
                    continue
                res = one(r, key, label, mode)
                after = one(r, *CONDITIONS[0])
                if res:
                    res["baseline"] = bracket(before, after)
                before = after
    finally:
        idle.stop()
    data["elapsed_s"] = round(time.time() - t_start)
    return data


def main():
    cfg = bench.Config()
    os.makedirs(cfg.out, exist_ok=True)
    data = run(cfg)
    if data.get("skip_reason"):
        print("bench: syscalls: tracer conditions not measured: %s" % data["skip_reason"])
    path = os.path.join(cfg.out, "syscalls.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print("bench: syscall results in %s" % path)
    import report
    results = os.path.join(cfg.out, "results.json")
    if os.path.exists(results):
        with open(results) as f:
            full = json.load(f)
        full["syscalls"] = data
        with open(results, "w") as f:
            json.dump(full, f, indent=1)
        report.write(full, cfg.docs)
    else:
        md = os.path.join(cfg.out, "syscalls.md")
        with open(md, "w") as f:
            f.write("\n".join(report.syscalls_section(data)) + "\n")
        print("bench: no %s, report section in %s" % (results, md))
    return 0 if not data.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
