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


@pytest.fixture(scope="session")
def tempo(tmp_path_factory):
    b = _backend(backends.Tempo, tmp_path_factory)
    yield b
    b.stop()
    _started.remove(b)


@pytest.fixture(scope="session")
def loki(tmp_path_factory):
    b = _backend(backends.Loki, tmp_path_factory)
    yield b
    b.stop()
    _started.remove(b)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for b in _started:
            rep.sections.append((f"{b.name} log tail ({b.log_path})",
                                 b.log_tail(60)))
