"""Hazards: from tracked detections to hazard events.

The rule interface plugins implement (``HazardRule``, ``RuleSettings``, ``Observation``),
zones (polygons and lines in pixels), the per-camera, per-hazard event lifecycle
(confirmation, gaps, updates, end, cooldown), and the per-camera runner that validates a
camera's hazard settings once and isolates each rule's failures.
"""
