"""Benchmark markers (select with ``-m``), e.g. ``pytest benchmarks -m capacity``."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capacity: cameras per box before/after motion gating and int8 (slow)"
    )
