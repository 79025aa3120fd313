"""The governance simulator: a SimPy model of the township that checks the published targets.

Alerts (synthetic, or replayed from an engine JSONL trace) and residents' requests flow
through the command centre, the dispatch policy (``gridsight.core.dispatch``) and the
field workers; the same hazard occurrences are run through a manual-patrol baseline.
Replications give KPIs with 95% confidence intervals and a verdict on each target.
See docs/simulation.md for the model description.
"""

from __future__ import annotations
