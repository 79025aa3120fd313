"""Hazard events: filtered, cursor-paginated listing; one event; its snapshot and clip;
the live stream.

The snapshot and the clip are found by event id through the store, and served only when
the stored path resolves inside the snapshots (clips) folder: a client never names a file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from gridsight.api.deps import Anyone, EventLogDep, ServicesDep, Viewer
from gridsight.api.errors import NotFound, error_responses
from gridsight.api.schemas import EventOut, EventPage
from gridsight.api.services import Services
from gridsight.orders.event_log import MAX_LIMIT, EventFilter, EventLog, StoredEvent

router = APIRouter(prefix="/events", tags=["events"])

IdFilter = Annotated[str | None, Query(max_length=64)]
TOPICS = ("event", "work_order", "camera")


def event_clip_url(ev: StoredEvent | None) -> str | None:
    """URL of an event's evidence clip, if the engine wrote one (``--clips``)."""
    return f"/api/v1/events/{ev.id}/clip" if ev is not None and ev.clip else None


def event_out(ev: StoredEvent) -> EventOut:
    """The API form of a stored event."""
    return EventOut(
        id=ev.id,
        camera=ev.camera,
        hazard=ev.hazard,
        village=ev.village,
        grid=ev.grid,
        started_ts=ev.started_ts,
        started_at=ev.started_at,
        last_phase=ev.last_phase,
        last_at=ev.last_at,
        ended_at=ev.ended_at,
        end_reason=ev.extra.get("end_reason") if ev.ended_at is not None else None,
        confidence=ev.confidence,
        boxes=[[float(v) for v in b] for b in ev.boxes],
        track_ids=[int(t) for t in ev.track_ids],
        snapshot_url=f"/api/v1/events/{ev.id}/snapshot" if ev.snapshot else None,
        clip_url=event_clip_url(ev),
        order_id=ev.order_id,
    )


@router.get("", response_model=EventPage, responses=error_responses(401, 403, 422))
def events_list(
    log: EventLogDep,
    _user: Viewer,
    camera: IdFilter = None,
    hazard: IdFilter = None,
    village: IdFilter = None,
    grid: IdFilter = None,
    since: Annotated[float | None, Query(description="started at or after (epoch s)")] = None,
    until: Annotated[float | None, Query(description="started before (epoch s)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> EventPage:
    """Events newest first; ``next_cursor`` fetches the next page."""
    flt = EventFilter(camera, hazard, village, grid, since, until)
    page = log.list(flt, limit=limit, cursor=cursor)
    return EventPage(items=[event_out(e) for e in page.items], next_cursor=page.next_cursor)


async def _stream(
    services: Services,
    request: Request,
    topics: frozenset[str],
    limit: int | None,
    worker_id: str | None = None,
) -> AsyncIterator[str]:
    bus = services.bus
    sub = bus.subscribe(topics)
    gauge = services.http_metrics.sse_clients
    gauge.inc()
    sent = 0
    try:
        yield f"retry: 3000\n: connected, topics {','.join(sorted(topics))}\n\n"
        while limit is None or sent < limit:
            try:
                msg = await asyncio.wait_for(sub.queue.get(), services.settings.sse_heartbeat_s)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            if msg is None:
                return  # the server is shutting down
            if worker_id is not None and msg.data.get("assignee") != worker_id:
                continue
            yield msg.sse()
            sent += 1
    finally:
        gauge.dec()
        bus.unsubscribe(sub)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        **error_responses(401, 403),
    },
    summary="Live events, work-order changes and camera changes (server-sent events)",
)
async def events_stream(
    request: Request,
    services: ServicesDep,
    user: Anyone,
    topic: Annotated[
        list[str] | None, Query(description="event | work_order | camera (repeatable)")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=10000, description="close after N")] = None,
) -> StreamingResponse:
    """SSE frames ``event: <topic>`` with a JSON ``data:``; a comment every few seconds.

    A worker account receives only ``work_order`` messages of orders assigned to it.
    """
    wanted = frozenset(t for t in (topic or TOPICS) if t in TOPICS) or frozenset(TOPICS)
    worker_id = None
    if user.role == "worker":
        wanted = frozenset({"work_order"})
        worker_id = user.worker_id or ""
    return StreamingResponse(
        _stream(services, request, wanted, limit, worker_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{event_id}", response_model=EventOut, responses=error_responses(401, 403, 404))
def event_get(log: EventLogDep, _user: Viewer, event_id: str) -> EventOut:
    """One event by id."""
    ev = log.get(event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    return event_out(ev)


def _evidence_file(stored: str | None, roots: list[Path], data_dir: Path) -> Path | None:
    """The file of a stored evidence path, only if it lies inside one of ``roots``.

    A relative path is looked up in each root, then in the data folder (the form that
    survives a restart from another directory or a moved data folder), then (older
    stores) from the working directory.
    """
    if not stored or not roots:
        return None
    path = Path(stored)
    bases = [Path("/")] if path.is_absolute() else [*roots, data_dir, Path.cwd()]
    for base in bases:
        candidate = (base / path).resolve()
        if any(candidate.is_relative_to(r) for r in roots) and candidate.is_file():
            return candidate
    return None


def snapshot_path(services: Services, stored: str | None) -> Path | None:
    """The snapshot file of a stored path, only if it lies inside the snapshots folder."""
    settings = services.settings
    return _evidence_file(stored, [settings.snapshots_dir.resolve()], settings.data_dir)


def clip_roots(services: Services) -> list[Path]:
    """The folders clips are served from: ``GRIDSIGHT_CLIPS_DIR`` (``serve --clips``) and
    the config's ``clips.dir`` (relative to the working directory, as the engine writes)."""
    roots = [services.settings.clips_dir] if services.settings.clips_dir is not None else []
    town = services.township
    if town is not None and town.clips is not None and town.clips.dir is not None:
        roots.append(Path(town.clips.dir).expanduser().resolve())
    return roots


def clip_path(services: Services, stored: str | None) -> Path | None:
    """The clip file of a stored path, only if it lies inside a clips folder."""
    return _evidence_file(stored, clip_roots(services), services.settings.data_dir)


#: The documented answers of the routes that serve a snapshot (a clip).
SNAPSHOT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "the evidence snapshot"},
    **error_responses(401, 403, 404),
}
CLIP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "the evidence clip (H.264 MP4)"},
    **error_responses(401, 403, 404),
}


def evidence_file(
    services: Services, event: StoredEvent | None, kind: str, owner: str
) -> FileResponse:
    """The ``snapshot`` or ``clip`` file of ``event`` (a 404 naming ``owner`` if none)."""
    if kind == "snapshot":
        path = snapshot_path(services, event.snapshot) if event is not None else None
    else:
        path = clip_path(services, event.clip) if event is not None else None
    if path is None:
        raise NotFound(f"{owner} has no {kind}")
    return FileResponse(path, media_type="image/jpeg" if kind == "snapshot" else "video/mp4")


def _stored(log: EventLog, event_id: str) -> StoredEvent:
    ev = log.get(event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    return ev


@router.get("/{event_id}/snapshot", response_class=FileResponse, responses=SNAPSHOT_RESPONSES)
def event_snapshot(
    services: ServicesDep, log: EventLogDep, _user: Viewer, event_id: str
) -> FileResponse:
    """The evidence JPEG of an event (404 if none, or if it lies outside the folder)."""
    return evidence_file(services, _stored(log, event_id), "snapshot", f"event {event_id!r}")


@router.get("/{event_id}/clip", response_class=FileResponse, responses=CLIP_RESPONSES)
def event_clip(
    services: ServicesDep, log: EventLogDep, _user: Viewer, event_id: str
) -> FileResponse:
    """The evidence clip of an event (404 if none, not yet written, or outside the
    clips folder)."""
    return evidence_file(services, _stored(log, event_id), "clip", f"event {event_id!r}")
