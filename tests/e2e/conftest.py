"""Session fixtures starting real Tempo / Loki backends on loopback.

Each backend is built once (cached outside the repo by
tests/backends/build.sh), started in a session temp dir, and stopped at the
end of the session. When a test fails, the tail of every running backend's
log is attached to its report.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import backends  # noqa: E402

_started = []


def _backend(kind, tmp_path_factory):
    b = kind(backends.ensure_built(kind.name))
    b.start(tmp_path_factory.mktemp(kind.name))
    print(f"\n{kind.name}: ready in {b.startup_seconds:.1f}s on {b.url} "
          f"(log {b.log_path})", file=sys.stderr)
    _started.append(b)
    return b


def _shared(kind, tmp_path_factory):
    b = _backend(kind, tmp_path_factory)
    yield b
    b.stop()
    _started.remove(b)


@pytest.fixture(scope="session")
def _tempo_shared(tmp_path_factory):
    yield from _shared(backends.Tempo, tmp_path_factory)


@pytest.fixture(scope="session")
def _loki_shared(tmp_path_factory):
    yield from _shared(backends.Loki, tmp_path_factory)


@pytest.fixture
def tempo(_tempo_shared):
    """The session's Tempo, healed first: a test that left it paused,
    stopped or hung does not fail every test after it."""
    _tempo_shared.heal()
    return _tempo_shared


@pytest.fixture
def loki(_loki_shared):
    """The session's Loki, healed first (see tempo)."""
    _loki_shared.heal()
    return _loki_shared


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b in _started:
            rep.sections.append((f"{b.name} log tail ({b.log_path})",
                                 b.log_tail(60)))
