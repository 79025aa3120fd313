"""Settings of the live work-order loop: the ``orders:`` section of a township YAML.

The models live in the core (:mod:`gridsight.core.config.orders`), so the core
:class:`~gridsight.core.config.Township` validates the section and ``gridsight config
check`` / ``gridsight run`` read it; this module keeps the names its callers import.
:data:`OrdersTownship` is :class:`~gridsight.core.config.Township` itself, and
:func:`load_orders_township` is :func:`~gridsight.core.config.load_township`.
"""

from __future__ import annotations

from pathlib import Path

from gridsight.core.config import Township, load_township
from gridsight.core.config.orders import (
    HazardOrders,
    Mode,
    OrdersConfig,
    RoleShift,
    SlaSettings,
    Staffing,
    Supervisor,
)

OrdersTownship = Township
"""A township config with its ``orders:`` section (the core model; kept for callers)."""


def load_orders_township(path: str | Path) -> Township:
    """Load a township YAML with its ``orders:`` section (same as ``load_township``).

    Raises:
        ConfigError: naming file, line, field path and what was expected.
    """
    return load_township(path)


def orders_settings(town: Township) -> OrdersConfig:
    """The ``orders:`` section of a township (its defaults where the file has none)."""
    return town.orders


__all__ = [
    "HazardOrders",
    "Mode",
    "OrdersConfig",
    "OrdersTownship",
    "RoleShift",
    "SlaSettings",
    "Staffing",
    "Supervisor",
    "load_orders_township",
    "orders_settings",
]
