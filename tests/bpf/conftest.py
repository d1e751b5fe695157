"""Fixtures for tests that load the real BPF programs (root required)."""
import os

import pytest

from lib.tracer import Tracer


@pytest.fixture(scope="session")
def tracer(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("BPF tests need root (CI runs as root): cannot load BPF")
    stats = str(tmp_path_factory.mktemp("tracer") / "stats.json")
    t = Tracer(stats_file=stats).start()
    t.stats_file = stats
    yield t
    rc = t.stop()
    assert rc == 0, "tracer exit code %s; stderr:\n%s" % (rc, t.stderr.decode(errors="replace"))
    bad = [s for s in t.all_spans() if isinstance(s, tuple)]
    assert not bad, f"tracer printed lines that are not valid span JSON: {bad[:3]}"


@pytest.fixture
def server_factory():
    from lib.peers import Server
    started = []

    def make(kind, downstream=None, service=None, env=None):
        env = dict(env or {}, **({"OTEL_SERVICE_NAME": service} if service else {}))
        s = Server(kind, downstream, env).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()
