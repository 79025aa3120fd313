"""Built-in dispatch plugin: registers the three core work-order dispatch policies."""

from __future__ import annotations

from gridsight.core.dispatch import BUILTIN_POLICIES, DispatchPolicy
from gridsight.core.hookspecs import hookimpl


@hookimpl
def gridsight_register_dispatch_policies() -> list[type[DispatchPolicy]]:
    """``grid_owner_first`` (default), ``nearest_available`` and ``least_loaded``."""
    return list(BUILTIN_POLICIES)
