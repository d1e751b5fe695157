"""Fixtures of the deployment checks: Helm and the manifest validator
(built once into ~/.cache/ebpftrace by build-tools.sh) and a real Loki
(built by tests/backends/build.sh, started on loopback).

A tool that cannot be built fails the tests that need it, with the build's
output; nothing here skips.
"""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lib"))

import backends  # noqa: E402
import tools  # noqa: E402


def _tool(name):
    try:
        return tools.ensure_tool(name)
    except tools.ToolError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def helm_bin():
    return _tool("helm")


@pytest.fixture(scope="session")
def k8svalidate():
    return _tool("k8svalidate")


@pytest.fixture(scope="session")
def loki(tmp_path_factory):
    try:
        binary = backends.ensure_built("loki")
    except backends.BackendError as e:
        pytest.fail(f"cannot build Loki: {e}", pytrace=False)
    b = backends.Loki(binary)
    b.start(tmp_path_factory.mktemp("loki"))
    _started.append(b)
    yield b
    b.stop()
    _started.remove(b)


_started = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the tail of Loki's log."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and str(HERE) in str(item.fspath):
        for b in _started:
            rep.sections.append((f"{b.name} log tail ({b.log_path})",
                                 b.log_tail(60)))
