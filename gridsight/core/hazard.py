"""Deprecated: the rule API's old home. Import it from ``gridsight`` instead::

    from gridsight import HazardRule, Observation, RuleSettings

Kept so plugins written against the README of gridsight 0.1 keep working; it warns once
per import and will be removed in a later release.
"""

from __future__ import annotations

import warnings

from gridsight.core.hazards.rule import HazardRule, Observation, RuleSettings

__all__ = ["HazardRule", "Observation", "RuleSettings"]

warnings.warn(
    "gridsight.core.hazard is deprecated: import HazardRule, Observation and RuleSettings "
    "from gridsight (from gridsight import HazardRule, Observation, RuleSettings)",
    DeprecationWarning,
    stacklevel=2,
)
