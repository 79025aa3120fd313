"""The orders: section of a township YAML: defaults, overrides, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.errors import ConfigError
from gridsight.orders.config import load_orders_township

from .helpers import CONFIG


def _base() -> str:
    """The Jingqiao config without its own ``orders:`` section (the tests append one)."""
    lines = Path(CONFIG).read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("orders:\n")
    end = next(k for k in range(start, len(lines)) if not lines[k].strip())
    return "".join(lines[:start] + lines[end:])


def _town_with(tmp_path: Path, section: str) -> Path:
    text = _base() + "\n" + section
    path = tmp_path / "town.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_published_figures(tmp_path) -> None:
    # The config writes the published figures; the model's defaults are the same.
    s = load_orders_township(CONFIG).orders
    assert s == load_orders_township(_town_with(tmp_path, "")).orders
    assert s.dispatch_due_s("fire_lane") == 60.0
    assert s.close_due_s("fire_lane") == 55 * 60.0
    assert s.for_kind("near_water").auto_verify and not s.for_kind("vending").auto_verify
    assert s.close_due_s("qr_service", request=True) == 3 * 24 * 3600.0


def test_overrides_per_hazard(tmp_path) -> None:
    path = _town_with(
        tmp_path,
        "orders:\n"
        "  sla: {dispatch_s: 90, close_min: 45}\n"
        "  reopen_min: 10\n"
        "  supervisor: {id: duty-chief, name: 值班长, channel: ops}\n"
        "  hazards:\n"
        "    vending: {close_min: 120, reopen_min: 0}\n",
    )
    s = load_orders_township(path).orders
    assert s.dispatch_due_s("fire_lane") == 90.0 and s.close_due_s("fire_lane") == 45 * 60.0
    assert s.close_due_s("vending") == 120 * 60.0
    assert s.reopen_s("fire_lane") == 600.0 and s.reopen_s("vending") == 0.0
    assert s.supervisor is not None and s.supervisor.channel == "ops"


def test_errors_name_file_line_and_field(tmp_path) -> None:
    path = _town_with(tmp_path, "orders:\n  timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as info:
        load_orders_township(path)
    msg = str(info.value)
    line = len(_base().splitlines()) + 3
    assert f"town.yaml:{line}" in msg and "orders.timezone" in msg and "IANA" in msg
    path = _town_with(tmp_path, "orders:\n  sla: {dispatch_secs: 60}\n")
    with pytest.raises(ConfigError, match="dispatch_secs"):
        load_orders_township(path)
