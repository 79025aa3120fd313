"""The simulation trace: one row per alarm and request, as ``gridsight sim run --trace``
writes it (the ARCHITECTURE contract):

``replication, camera, hazard, kind, alarm_s, verified_s, dispatched_s, on_site_s,
closed_s, worker, village`` — blank where a step did not happen.

``kind`` is ``alarm`` (a real hazard), ``false_alarm``, or the request kind
(``qr_request``, ``hotline``, …); requests have no camera or hazard, and their
``alarm_s`` is when the resident's request came in. ``verified_s`` is when an operator
(or, for auto-verified hazards, the service at once) verified the alarm — for a
dismissed false alarm, when it was dismissed — or when a request's triage ended.
``worker`` is the worker who took the order. A cancelled order (its hazard cleared
before anyone was sent) has no ``dispatched_s`` and no ``closed_s``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

COLUMNS: tuple[str, ...] = (
    "replication",
    "camera",
    "hazard",
    "kind",
    "alarm_s",
    "verified_s",
    "dispatched_s",
    "on_site_s",
    "closed_s",
    "worker",
    "village",
)

Row = tuple[Any, ...]


def _t(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.3f}"


def trace_rows(index: int, cfg: Any, model: Any, alarms: Any) -> list[Row]:
    """The trace rows of one replication (alarms, then requests, each in time order)."""
    t = cfg.township
    cams = t.cameras
    hz = [h for h, _ in cfg.hazards]
    workers = [w.spec.id for w in model.workers]
    rows: list[Row] = []
    for k in range(len(alarms)):
        c = cams[int(alarms.camera[k])]
        w = int(model.a_worker[k])
        rows.append(
            (
                index,
                c.id,
                hz[int(alarms.hazard[k])],
                "alarm" if alarms.occurrence[k] >= 0 else "false_alarm",
                _t(float(alarms.time[k])),
                _t(float(model.a_verified[k])),
                _t(float(model.a_dispatch[k])),
                _t(float(model.a_arrive[k])),
                _t(float(model.a_closed[k])),
                workers[w] if w >= 0 else "",
                c.village,
            )
        )
    rq = model.requests
    for k in range(len(rq)):
        g = t.grids[int(rq.grid[k])]
        w = int(model.r_worker[k])
        rows.append(
            (
                index,
                "",
                "",
                cfg.requests[int(rq.stream[k])].kind,
                _t(float(rq.time[k])),
                _t(float(model.r_verified[k])),
                _t(float(model.r_dispatch[k])),
                _t(float(model.r_arrive[k])),
                _t(float(model.r_closed[k])),
                workers[w] if w >= 0 else "",
                g.village,
            )
        )
    return rows


def write_trace(path: str | Path, rows: Iterable[Sequence[Any]]) -> Path:
    """Write the trace CSV (header :data:`COLUMNS`)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(rows)
    return p
