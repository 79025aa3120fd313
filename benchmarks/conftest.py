"""Benchmark markers (select with ``-m``, e.g. ``pytest benchmarks -m capacity``) and a
``bench_report`` fixture: lines a benchmark adds to it are printed in the terminal
summary, so side-by-side tables show in ``make bench`` without ``-s``."""

from __future__ import annotations

import pytest

_REPORT = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capacity: cameras per box before/after motion gating and int8 (slow)"
    )
    config.stash[_REPORT] = []


@pytest.fixture(scope="session")
def bench_report(pytestconfig: pytest.Config) -> list[str]:
    """Append lines here to have them printed at the end of the run."""
    return pytestconfig.stash[_REPORT]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    lines = config.stash.get(_REPORT, [])
    if lines:
        terminalreporter.section("benchmark figures, side by side")
        for line in lines:
            terminalreporter.write_line(line)
