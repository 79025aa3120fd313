"""The four built-in hazard rules, registered by :mod:`gridsight.plugins.hazards`.

Each rule module holds one :class:`~gridsight.core.hazards.rule.HazardRule` subclass and its
settings model; :mod:`gridsight.plugins.rules.common` holds what they share.
"""
