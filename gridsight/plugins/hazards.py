"""Built-in hazards plugin: the four hazard rules of the Jingqiao deployment.

Registered through the ``gridsight`` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from gridsight.core.hazards.rule import HazardRule
from gridsight.core.hookspecs import hookimpl


@hookimpl
def gridsight_register_hazard_rules() -> list[type[HazardRule]]:
    """The built-in rules: ``near_water``, ``fire_lane``, ``ebike``, ``vending``."""
    from gridsight.plugins.rules.ebike import EbikeRule
    from gridsight.plugins.rules.fire_lane import FireLaneRule
    from gridsight.plugins.rules.near_water import NearWaterRule
    from gridsight.plugins.rules.vending import VendingRule

    return [NearWaterRule, FireLaneRule, EbikeRule, VendingRule]
