"""Evaluation, above the engine: scoring events against ground truth, tracker evaluation,
and the adapter that aligns synthetic cameras with their worlds (zones, clock, truth).

The engine never imports this package.
"""
