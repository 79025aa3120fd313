"""gridsight-loitering: an example third-party plugin adding the ``loitering`` hazard.

gridsight finds this module through the ``gridsight`` entry-point group declared in this
package's pyproject.toml, and calls the hook implementations below exactly as it calls
the built-in plugins'.
"""

from __future__ import annotations

from gridsight import HazardRule, hookimpl
from gridsight_loitering.rule import LoiteringRule, LoiteringSettings

__all__ = ["LoiteringRule", "LoiteringSettings", "gridsight_register_hazard_rules"]


@hookimpl
def gridsight_register_hazard_rules() -> list[type[HazardRule]]:
    """Provide the ``loitering`` hazard."""
    return [LoiteringRule]
