"""Periodic reports from the work-order store, as the town works: the daily log, the
weekly joint review and the monthly analysis (每日沟通、每周联动、每月研判:
docs/deployment.md#people-and-grids).

:func:`~gridsight.orders.reports.periodic.build_report` computes the figures,
:func:`~gridsight.orders.reports.render.write_report` writes Markdown and PNG charts.
"""

from __future__ import annotations
