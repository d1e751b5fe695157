"""The kernel's verifier walks at most 1M instructions per program: one
that needs more does not load, and the tracer does not start. A program
close to the limit on this kernel may cross it on another (a different
verifier, another clang), so each program, in every mode that changes
what is compiled in (tracepoints or raw hooks, log capture on or off),
must stay well inside it. The count is the kernel's own
(bpf_prog_info.verified_insns, read by tests/tools/prog_insns.c: Debian's
bpftool does not show it); nothing is timed.
"""
import os
import subprocess
import sys

import pytest

from lib.peers import made_tool
from lib.tracer import Tracer

LIMIT = 1_000_000
BUDGET = LIMIT // 4  # the most any one program may use


@pytest.fixture(scope="module")
def prog_insns():
    return made_tool("prog_insns")


def programs(tool, min_id=0):
    """[(id, name, verified instructions)] of the loaded programs above
    min_id."""
    out = subprocess.run([tool, str(min_id)], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    return [(int(i), name, int(n)) for i, name, n in
            (line.split() for line in out.splitlines())]


@pytest.mark.parametrize("hooks", ["tracepoints", "raw"])
@pytest.mark.parametrize("logs", [True, False])
def test_every_program_stays_well_inside_the_verifier_limit(prog_insns, hooks, logs):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    # a selection turns log capture on in host mode; --logs=false off
    args = ["--hooks", hooks, "--comm", "no-such-comm"]
    if not logs:
        args.append("--logs=false")
    before = max((i for i, _, _ in programs(prog_insns)), default=0)
    t = Tracer(*args).start(settle=0)
    try:
        progs = programs(prog_insns, before)
    finally:
        assert t.stop() == 0, t.stderr.decode(errors="replace")
    # the tracer's programs: those loaded since it started
    assert len(progs) >= 10, progs
    used = sorted(((n, name) for _, name, n in progs), reverse=True)
    print("verified instructions (%s, logs %s): %s" % (hooks, logs, used[:5]),
          file=sys.stderr)
    assert all(n > 0 for n, _ in used), used
    assert used[0][0] <= BUDGET, used[:5]
