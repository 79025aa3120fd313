"""Request and response models of the REST API (so ``/openapi.json`` documents them).

Work-order models live in :mod:`gridsight.api.schemas.orders`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from gridsight.core.config.base import StrictModel
from gridsight.core.config.camera import ZoneConfig

#: Request bodies use the project's one strict base model: unknown fields are an error
#: naming the field, and a parsed body is immutable.
Strict = StrictModel


# -- health ------------------------------------------------------------------------------
class EngineHealthOut(BaseModel):
    """The engine's health (``Engine.health()``)."""

    phase: str = Field(description="starting | running | restarting | stopping | stopped | failed")
    reason: str = Field(description="why it is in that phase")
    since: float = Field(description="unix time of the last phase change")
    up: bool = Field(description="frames are being analysed")
    restarts: int = Field(description="restarts of the loop after a failure")


class Health(BaseModel):
    """Liveness: the process answers; ``failed`` (503) once the engine has given up."""

    status: Literal["ok", "failed"] = "ok"
    engine: EngineHealthOut | None = Field(
        default=None, description="the engine's health (none with --no-engine)"
    )


class Readiness(BaseModel):
    """Readiness: each check's outcome; ``ready`` only when all pass."""

    ready: bool
    phase: str = Field(
        description="the service's phase (starting | ready | stopping), or, while it is "
        "ready, the engine's when the engine is not running (restarting, failed, ...)"
    )
    reason: str = Field(default="", description="why it is not ready (the first reason)")
    since: float | None = Field(default=None, description="unix time the engine entered its phase")
    engine: EngineHealthOut | None = None
    checks: dict[str, str] = Field(description="check name -> 'ok' or why not")
    reasons: list[str] = Field(description="the failing checks' reasons (empty when ready)")


# -- cameras -----------------------------------------------------------------------------
class CameraOut(BaseModel):
    """A camera with its live status."""

    id: str
    name: str
    village: str
    grid: str
    source: str = Field(description="source URI with any password masked")
    target_fps: float
    enabled: bool
    state: str = Field(
        description="starting | running | retrying | ended | failed | stopped | off (no engine)"
    )
    view: str = Field(
        default="ok",
        description="ok | moved | covered | blinded: the view against its reference (a view "
        "fault means its zones no longer fit what it sees)",
    )
    degraded: bool = Field(
        default=False,
        description="drops above the configured share of its frames "
        "(GRIDSIGHT_DEGRADED_DROP_SHARE): too little is seen to trust it",
    )
    fps: float = Field(description="processed frames per second (recent)")
    frames: int
    drops: int
    drop_share: float = Field(default=0.0, description="drops / (frames + drops)")
    gated: int = Field(
        default=0, description="frames the motion gate kept from the detector (still scene)"
    )
    events: int
    reconnects: int
    errors: int
    stream_ts: float = Field(description="stream time of the last processed frame, s")
    last_frame_at: float | None = Field(
        default=None, description="wall-clock time the last frame was processed (epoch s)"
    )
    last_frame_age_s: float | None = Field(
        default=None,
        description="seconds since the last frame was processed (None before the first)",
    )
    last_error: str | None
    position: tuple[float, float] | None = Field(description="km in the town frame")
    hazards: list[str]
    zones: list[dict[str, Any]]
    node: str | None = Field(
        default=None,
        description="the cluster node that runs it (gridsight serve --nats); None in a "
        "single process or while no node holds it",
    )
    epoch: int | None = Field(
        default=None,
        description="the node's claim on it (its fencing token; rises with every claim); "
        "None outside a cluster",
    )


class CameraList(BaseModel):
    """Every camera."""

    items: list[CameraOut]
    engine: str = Field(description="engine phase: idle | loading | running | stopped | off ...")


class CameraChange(BaseModel):
    """What a camera command did."""

    outcome: Literal["created", "updated", "unchanged", "removed", "absent", "enabled", "disabled"]
    camera: CameraOut | None


class CameraPatch(Strict):
    """Zones and hazard settings changed at run time (validated as the YAML is)."""

    name: str | None = Field(default=None, min_length=1)
    zones: list[ZoneConfig] | None = None
    hazards: dict[str, dict[str, Any]] | None = Field(
        default=None, description="hazard id -> that rule's settings"
    )


# -- events ------------------------------------------------------------------------------
class EventOut(BaseModel):
    """One hazard event (its latest phase)."""

    id: str
    camera: str
    hazard: str
    village: str
    grid: str
    started_ts: float = Field(description="stream time of the start, s")
    started_at: float = Field(description="epoch seconds of the start")
    last_phase: str
    last_at: float
    ended_at: float | None
    end_reason: str | None = Field(
        default=None,
        description="why it ended when not seen to end: 'restart' (a crashed process left "
        "it open; ended at its last known time)",
    )
    confidence: float
    boxes: list[list[float]]
    track_ids: list[int]
    snapshot_url: str | None = Field(description="URL of the evidence image, by event id")
    clip_url: str | None = Field(
        default=None, description="URL of the evidence clip (H.264 MP4), if one was written"
    )
    order_id: str | None = None


class EventPage(BaseModel):
    """A page of events, newest first."""

    items: list[EventOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


# -- auth --------------------------------------------------------------------------------
class LoginIn(Strict):
    """Browser login."""

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    """Who is signed in."""

    id: int
    name: str
    role: str
    worker_id: str | None


class TokenIn(Strict):
    """A new bearer token for the signed-in user."""

    label: str = Field(default="", max_length=128)


class TokenOut(BaseModel):
    """An issued token; ``token`` is shown only in the response that created it."""

    id: int
    user: str
    label: str
    created_at: float
    revoked_at: float | None
    last_used_at: float | None
    token: str | None = None


class UserIn(Strict):
    """A new account (admin only)."""

    name: str = Field(min_length=1, max_length=64)
    role: Literal["viewer", "operator", "admin", "worker"]
    password: str | None = Field(default=None, min_length=8, max_length=256)
    worker_id: str | None = Field(default=None, max_length=64)


class PasswordIn(Strict):
    """A password change of the signed-in user; every other session of theirs ends."""

    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=8, max_length=256)


class RoleIn(Strict):
    """A staff account's new role (admin only; the last enabled admin and the
    ``GRIDSIGHT_ADMIN_TOKEN`` account cannot be demoted: 409)."""

    role: Literal["viewer", "operator", "admin"]


class UserOut(BaseModel):
    """An account."""

    id: int
    name: str
    role: str
    worker_id: str | None
    disabled: bool
    created_at: float


# -- plugins -----------------------------------------------------------------------------
class PluginsOut(BaseModel):
    """What the plugin manager loaded."""

    plugins: list[str] = Field(description="registered plugin names")
    hazards: list[str]
    backends: list[str]
    sources: list[str] = Field(description="source URI schemes")
    sinks: list[str]
    detectors: list[str]
    dispatch_policies: list[str]
    notifiers: list[str]
