"""Random output written in odd ways, through the real BPF programs.

A seeded writer sends a random text to stdout in writes and writevs of
random sizes (one byte to 60 kB, so BPF cuts some into pieces), that cut
lines, CRLF pairs and UTF-8 characters anywhere, while two threads write
whole lines to stderr at the same time. stdout must come out as its
lines, in order, each once and whole; stderr as every line of both
threads, each once, in each thread's order.
"""
import os
import random

from test_logs_edge import Writer, attrs, body, by_stream, mine, settle

SEED = int(os.environ.get("EBT_RANDOM_SEED", "20261202"))

WRITER = r"""
import os, random, sys, threading
sys.stdin.readline()
r = random.Random(%d)
with open(sys.argv[1], "rb") as f:
    text = f.read()

def errs(name):
    for i in range(300):
        os.write(2, ("%%s %%04d " %% (name, i) + "e" * r.randrange(200) + "\n").encode())

threads = [threading.Thread(target=errs, args=(n,)) for n in ("alpha", "beta")]
for t in threads:
    t.start()
i = 0
while i < len(text):
    n = r.choice([1 + r.randrange(8), 1 + r.randrange(300), 1 + r.randrange(20000), 60000])
    piece = text[i:i + n]
    if r.random() < 0.3 and len(piece) > 3:
        cuts = sorted(r.sample(range(1, len(piece)), 2))
        os.writev(1, [piece[:cuts[0]], piece[cuts[0]:cuts[1]], piece[cuts[1]:]])
    else:
        os.write(1, piece)
    i += len(piece)
for t in threads:
    t.join()
"""

WORDS = ["word", "caf\u00e9", "\u20ac", "\U0001F600", "\t", "\x1b[31mred\x1b[0m",
         "progress 10%\r", "{\"level\":\"info\"}", "a=1", "  "]


def random_text(r):
    """Lines of random words (valid UTF-8) with \\n or \\r\\n endings, some
    long, the last one ended too (the writer's exit is not what is tested)."""
    lines = []
    for _ in range(600):
        n = r.randrange(3000) if r.random() < 0.05 else r.randrange(25)
        line = "".join(r.choice(WORDS) for _ in range(n)).rstrip("\r")
        lines.append(line)
    text = "".join(line + r.choice(["\n", "\n", "\r\n"]) for line in lines)
    return lines, text.encode()


def test_random_writes_to_stdout_and_stderr(tmp_path):
    r = random.Random(SEED)
    lines, text = random_text(r)
    (tmp_path / "text").write_bytes(text)
    with Writer(WRITER % SEED, str(tmp_path / "text")) as w:
        w.go(timeout=60)
        assert w.out == text  # what the pipe carried
        out, err = by_stream(mine(settle(w.tracer, quiet=2.0, timeout=30), w.proc.pid))
    got = [body(x) for x in out]
    assert len(got) == len(lines), (len(got), len(lines))
    for i, (g, want) in enumerate(zip(got, lines)):
        assert g == want, (i, g[:200], want[:200])
    assert not [x for x in out + err if attrs(x).get("ebpftrace.log.truncated")]
    want_err = w.err.decode().splitlines()
    assert sorted(body(x) for x in err) == sorted(want_err)
    for name in ("alpha", "beta"):
        mine_ = [body(x) for x in err if body(x).startswith(name)]
        assert mine_ == sorted(mine_), name  # each thread's lines in its order
        assert len(mine_) == 300
