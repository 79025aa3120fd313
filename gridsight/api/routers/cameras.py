"""Cameras: list with live status; add, replace, patch, remove, enable, disable at run time.

Changes are idempotent by camera id (``PUT`` the same config twice: ``unchanged``;
``DELETE`` an absent camera: ``absent``) and validated exactly as the township YAML is.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Path

from gridsight.api.deps import Operator, ServicesDep, Viewer
from gridsight.api.errors import BadRequest, NotFound, error_responses
from gridsight.api.schemas import CameraChange, CameraList, CameraOut, CameraPatch
from gridsight.api.services import Services
from gridsight.core.config.camera import CameraConfig
from gridsight.core.engine import EngineStopped
from gridsight.live.engine_host import CameraView

router = APIRouter(prefix="/cameras", tags=["cameras"])

CameraId = Path(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64, description="camera id")
_ERRORS = error_responses(401, 403)


def mask_source(uri: str) -> str:
    """``uri`` with a password replaced by ``***`` (RTSP URLs often carry one)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def camera_out(services: Services, view: CameraView, now: float | None = None) -> CameraOut:
    """The API form of a camera view; ``now`` (the wall clock by default: the engine
    records frames on it) dates the last frame."""
    cfg = view.config
    now = time.time() if now is None else now
    age = None if view.last_frame_at is None else round(max(0.0, now - view.last_frame_at), 3)
    position = None
    if services.township is not None:
        try:
            position = services.township.camera_position(cfg)
        except KeyError:
            position = cfg.position
    return CameraOut(
        id=cfg.id,
        name=cfg.name,
        village=cfg.village,
        grid=cfg.grid,
        source=mask_source(cfg.source),
        target_fps=cfg.fps,
        enabled=view.enabled,
        state=view.state,
        view=view.view,
        degraded=view.degraded,
        fps=round(view.fps, 2),
        frames=view.frames,
        drops=view.drops,
        drop_share=round(view.drop_share, 4),
        gated=view.gated,
        events=view.events,
        reconnects=view.reconnects,
        errors=view.errors,
        stream_ts=round(view.stream_ts, 3),
        last_frame_at=view.last_frame_at,
        last_frame_age_s=age,
        last_error=view.last_error,
        position=position,
        hazards=sorted(cfg.hazards),
        zones=cfg.zone_dicts(),
        node=view.node,
        epoch=view.epoch,
    )


def _views(services: Services) -> list[CameraView]:
    if services.host is not None:
        return services.host.cameras()
    cams = services.township.cameras if services.township is not None else ()
    return [CameraView(c, True, "off") for c in cams]


def _one(services: Services, camera_id: str) -> CameraOut | None:
    for view in _views(services):
        if view.config.id == camera_id:
            return camera_out(services, view)
    return None


def _host(services: Services) -> Any:
    if services.host is None:
        raise EngineStopped(
            "the engine is off (gridsight serve --no-engine): cameras are read-only"
        )
    return services.host


def _changed(services: Services, camera_id: str, outcome: str) -> CameraChange:
    cam = _one(services, camera_id)
    services.bus.publish(
        "camera", {"camera": camera_id, "outcome": outcome, "state": cam.state if cam else None}
    )
    return CameraChange(outcome=outcome, camera=cam)  # type: ignore[arg-type]


@router.get("", response_model=CameraList, responses=_ERRORS, summary="Every camera, with status")
def list_cameras(services: ServicesDep, _user: Viewer) -> CameraList:
    """Cameras with state, fps, drops, reconnects and last error."""
    phase = services.host.phase if services.host is not None else "off"
    return CameraList(items=[camera_out(services, v) for v in _views(services)], engine=phase)


@router.get(
    "/{camera_id}",
    response_model=CameraOut,
    responses=error_responses(401, 403, 404),
    summary="One camera",
)
def get_camera(services: ServicesDep, _user: Viewer, camera_id: str = CameraId) -> CameraOut:
    """One camera with its status."""
    cam = _one(services, camera_id)
    if cam is None:
        raise NotFound(f"no camera {camera_id!r}")
    return cam


@router.put(
    "/{camera_id}",
    response_model=CameraChange,
    responses=error_responses(401, 403, 409, 422),
    summary="Add or replace a camera (idempotent)",
)
def put_camera(
    services: ServicesDep, _user: Operator, body: CameraConfig, camera_id: str = CameraId
) -> CameraChange:
    """Add the camera, or replace its config; the same config twice is ``unchanged``."""
    if body.id != camera_id:
        raise BadRequest(f"id: the body's id {body.id!r} is not the path's {camera_id!r}", "id")
    cfg, outcome = _host(services).put_camera(body)
    return _changed(services, cfg.id, outcome)


@router.patch(
    "/{camera_id}",
    response_model=CameraChange,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Change a camera's zones or hazard settings without a restart",
)
def patch_camera(
    services: ServicesDep, _user: Operator, body: CameraPatch, camera_id: str = CameraId
) -> CameraChange:
    """Merge the given fields into the camera's config and apply it."""
    host = _host(services)
    view = host.camera(camera_id)
    if view is None:
        raise NotFound(f"no camera {camera_id!r}")
    data = view.config.model_dump(mode="python")
    if body.name is not None:
        data["name"] = body.name
    if body.zones is not None:
        data["zones"] = [z.model_dump(mode="python") for z in body.zones]
    if body.hazards is not None:
        data["hazards"] = body.hazards
    _cfg, outcome = host.put_camera(data)
    return _changed(services, camera_id, outcome)


@router.delete(
    "/{camera_id}",
    response_model=CameraChange,
    responses=error_responses(401, 403, 409),
    summary="Remove a camera (idempotent: an absent camera is 'absent')",
)
def delete_camera(
    services: ServicesDep, _user: Operator, camera_id: str = CameraId
) -> CameraChange:
    """Stop the camera's reader, end its open events and forget it."""
    outcome = _host(services).remove_camera(camera_id)
    return _changed(services, camera_id, outcome)


def _toggle(services: Services, camera_id: str, enable: bool) -> CameraChange:
    host = _host(services)
    outcome = host.enable_camera(camera_id) if enable else host.disable_camera(camera_id)
    if outcome == "absent":
        raise NotFound(f"no camera {camera_id!r}")
    return _changed(services, camera_id, outcome)


@router.post(
    "/{camera_id}/enable",
    response_model=CameraChange,
    responses=error_responses(401, 403, 404, 409),
    summary="Start a disabled camera",
)
def enable_camera(
    services: ServicesDep, _user: Operator, camera_id: str = CameraId
) -> CameraChange:
    """Start the camera's reader again (``unchanged`` if it runs)."""
    return _toggle(services, camera_id, True)


@router.post(
    "/{camera_id}/disable",
    response_model=CameraChange,
    responses=error_responses(401, 403, 404, 409),
    summary="Stop a camera but keep its config",
)
def disable_camera(
    services: ServicesDep, _user: Operator, camera_id: str = CameraId
) -> CameraChange:
    """Stop the camera's reader and end its open events (``unchanged`` if stopped)."""
    return _toggle(services, camera_id, False)
