"""Prints the recovery times the fault tests measured (a table, not an assertion)."""

from __future__ import annotations

from typing import Any

from .harness import RECOVERIES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RECOVERIES:
        return
    tr = terminalreporter
    tr.section("fault matrix: time to recover after the fault ended")
    tr.write_line(f"{'fault':<28} {'recovery_s':>10}  how")
    for row in RECOVERIES:
        value = row["recovery_s"]
        shown = f"{value:10.2f}" if isinstance(value, float) else f"{'n/a':>10}"
        tr.write_line(f"{row['fault']:<28} {shown}  {row['how']}")
