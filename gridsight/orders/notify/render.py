"""Notifications as short human-readable text (for chat apps, e-mail, ntfy, digests).

A message names what a grid worker needs to act: the order, the hazard, the place
(village, grid, camera), the evidence snapshot, the due times and how to acknowledge.

Example:
    >>> title, body = render({"type": "new", "order": {"id": "wo-1", "assignee": "w-12"},
    ...     "after": "dispatched", "hazard": "near_water", "village": "ruijia",
    ...     "grid": "ruijia-01", "camera": "cam-01", "dispatch_due_at": 0.0})
    >>> title
    '[near_water] new work order wo-1 (dispatched) · ruijia / ruijia-01'
"""

from __future__ import annotations

import time
from typing import Any

# Lines of a digest beyond which the rest are only counted (chat bots cap message size).
DIGEST_LINES = 30

_TYPE_WORDS = {
    "new": "new work order",
    "update": "work order",
    "end": "work order ended",
    "escalation": "ESCALATED work order",
    "sla_breach": "SLA BREACH on work order",
}


def clock(ts: Any) -> str:
    """An epoch time as local ``YYYY-MM-DD HH:MM:SS`` (``-`` when missing)."""
    if not isinstance(ts, int | float):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(ts)))


def _place(p: dict[str, Any]) -> str:
    parts = [f"village {p.get('village') or '-'}", f"grid {p.get('grid') or '-'}"]
    if p.get("camera"):
        parts.append(f"camera {p['camera']}")
    return ", ".join(parts)


def one_line(payload: dict[str, Any]) -> str:
    """One line for a digest: ``wo-1 near_water ruijia/ruijia-01 new -> dispatched``."""
    if payload.get("type") == "camera_status":
        return f"camera {payload.get('camera')}: {payload.get('status', {}).get('state', '?')}"
    if isinstance(payload.get("event"), dict):
        ev = payload["event"]
        return (
            f"event {ev.get('id')} {ev.get('hazard')} {ev.get('village')}/{ev.get('grid')} "
            f"{ev.get('phase')}"
        )
    order = payload.get("order") or {}
    return (
        f"{order.get('id', '?')} {payload.get('hazard') or order.get('kind', '?')} "
        f"{payload.get('village', '-')}/{payload.get('grid', '-')} "
        f"{payload.get('type')}: {payload.get('before') or '-'} -> {payload.get('after') or '-'}"
    )


def render(payload: dict[str, Any]) -> tuple[str, str]:
    """``(title, body)`` of one notification (any shape, digests included)."""
    kind = payload.get("type")
    if kind == "digest":
        items = payload.get("items", [])
        title = f"gridsight: {len(items)} notifications (digest, rate limit reached)"
        lines = [f"- {one_line(item.get('payload', item))}" for item in items[:DIGEST_LINES]]
        if len(items) > DIGEST_LINES:
            lines.append(f"- … and {len(items) - DIGEST_LINES} more (see the work-order list)")
        return title, "\n".join(lines)
    if kind == "camera_status":
        status = payload.get("status", {})
        return (
            f"camera {payload.get('camera')}: {status.get('state', '?')}",
            "\n".join(f"{k}: {v}" for k, v in sorted(status.items())),
        )
    if isinstance(payload.get("event"), dict):
        ev = payload["event"]
        title = f"[{ev.get('hazard')}] hazard {ev.get('phase')} · {ev.get('camera')}"
        body = "\n".join(
            [
                f"Event: {ev.get('id')} ({ev.get('phase')}, confidence "
                f"{ev.get('confidence', 0):.2f})",
                f"Place: {_place(ev)}",
                f"Evidence: {ev.get('snapshot') or 'no snapshot'}",
                *([f"Clip: {ev['clip']}"] if ev.get("clip") else []),
                f"Time: {ev.get('wall_time', '-')}",
            ]
        )
        return title, body
    order = payload.get("order") or {}
    hazard = payload.get("hazard") or order.get("kind") or "?"
    word = _TYPE_WORDS.get(str(kind), "work order")
    title = (
        f"[{hazard}] {word} {order.get('id', '?')} ({payload.get('after') or '-'}) · "
        f"{payload.get('village') or '-'} / {payload.get('grid') or '-'}"
    )
    tr = payload.get("transition") or {}
    lines = [
        f"Order: {order.get('id', '?')}  {payload.get('before') or '-'} -> "
        f"{payload.get('after') or '-'}"
        + (f" by {tr['actor']} at {clock(tr.get('at'))}" if tr.get("actor") else ""),
        f"Hazard: {hazard}",
        f"Place: {_place(payload)}",
    ]
    if order.get("title"):
        lines.append(f"What: {order['title']}")
    if tr.get("note"):
        lines.append(f"Note: {tr['note']}")
    lines.append(f"Evidence: {payload.get('snapshot') or 'no snapshot'}")
    if payload.get("clip"):
        lines.append(f"Clip: {payload['clip']}")
    lines.append(
        f"Dispatch due: {clock(payload.get('dispatch_due_at'))} · "
        f"Close due: {clock(payload.get('close_due_at'))}"
    )
    if order.get("assignee"):
        lines.append(f"Assigned to: {order['assignee']}")
    if payload.get("ack_url"):
        lines.append(f"Acknowledge: {payload['ack_url']}")
    elif payload.get("ack_token"):
        lines.append(f"Acknowledge with token: {payload['ack_token']}")
    return title, "\n".join(lines)
