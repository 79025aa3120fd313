"""Camera and zone config: one AI-analysed camera point, its zones and its hazards.

The YAML form is the cross-part contract (see ARCHITECTURE.md)::

    - id: cam-reservoir-01
      name: 赭山头水库 north bank
      village: ruijia
      grid: ruijia-g01
      source: "synthetic://reservoir?seed=101&fps=5&w=640&h=360"
      fps: 5
      resolution: [640, 360]
      anchor: bottom_center
      zones:
        - {name: water_edge, kind: polygon, points: [[0, 200], [640, 200], [640, 360], [0, 360]]}
      hazards:
        near_water: {zone: water_edge}

Zone geometry is checked here (simple polygon, inside the image); the hazard settings
are checked against each rule's own settings model by
:func:`gridsight.core.config.hazards.validate_camera_hazards`, since only the plugins
know them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from gridsight.core.config.base import (
    Id,
    InvariantViolation,
    PixelPoint,
    PointKm,
    Problem,
    StrictModel,
    duplicates,
)
from gridsight.core.config.detector import DetectorConfig
from gridsight.core.config.geometry import outside_image, polygon_problem

Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]

ZoneName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", max_length=64, description="zone name"),
]


class PolygonZoneConfig(StrictModel):
    """A polygon zone in image pixels (x right, y down), e.g. a fire lane or water edge."""

    name: ZoneName
    kind: Literal["polygon"]
    points: tuple[PixelPoint, ...] = Field(
        description="vertices in order around the zone, in pixels; at least 3"
    )

    @field_validator("points")
    @classmethod
    def _simple_polygon(cls, points: tuple[PixelPoint, ...]) -> tuple[PixelPoint, ...]:
        problem = polygon_problem(points)
        if problem is not None:
            raise ValueError(problem)
        return points


class LineZoneConfig(StrictModel):
    """A directed line (e.g. a lobby entrance): crossing it towards ``inward`` counts as in.

    ``inward: left`` means the side on the left when walking from the first point to
    the second, in image coordinates as seen on screen.
    """

    name: ZoneName
    kind: Literal["line"]
    points: tuple[PixelPoint, PixelPoint] = Field(description="start and end point, in pixels")
    inward: Literal["left", "right"] = "left"

    @field_validator("points")
    @classmethod
    def _distinct(cls, points: tuple[PixelPoint, PixelPoint]) -> tuple[PixelPoint, PixelPoint]:
        if points[0] == points[1]:
            raise ValueError("a line zone needs two distinct points, got the same point twice")
        return points


ZoneConfig = Annotated[PolygonZoneConfig | LineZoneConfig, Field(discriminator="kind")]


class MotionConfig(StrictModel):
    """The ``motion:`` block of a camera: the cheap motion test that gates inference.

    Used when the engine runs with motion-gated inference (``gridsight run
    --motion-gate``); see :mod:`gridsight.core.engine.motion` and
    :mod:`gridsight.core.engine.gate`. Every field has a default, so ``motion: {}`` (or
    no block at all) means the defaults.

    Example::

        motion:
          threshold: 25
          keepalive_s: 2
          mask:                                  # a tree and the burnt-in clock
            - [[0, 0], [160, 0], [160, 120], [0, 120]]
            - [[440, 0], [640, 0], [640, 30], [440, 30]]
    """

    threshold: int = Field(
        default=25, ge=1, le=255, description="grey-level change (0-255) that counts a pixel"
    )
    min_area: float = Field(
        default=0.002,
        gt=0.0,
        le=1.0,
        description="fraction of the unmasked image that must change to count as motion",
    )
    max_area: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="a change over more of the image is a lighting change (background restarts)",
    )
    alpha: float = Field(
        default=0.2,
        gt=0.0,
        le=1.0,
        description="weight of each frame in the running-average background",
    )
    height: int = Field(
        default=90, ge=16, le=1080, description="rows of the downscaled grey image tested"
    )
    keepalive_s: float = Field(
        default=2.0,
        gt=0.0,
        le=60.0,
        description="a still scene is still inferred at least this often (seconds)",
    )
    hold_s: float = Field(
        default=1.0,
        ge=0.0,
        le=60.0,
        description="after motion stops, keep inferring every frame for this long",
    )
    mask: tuple[tuple[PixelPoint, ...], ...] = Field(
        default=(),
        description="polygons (image pixels) where motion never counts: trees, timestamps",
    )

    @field_validator("mask")
    @classmethod
    def _simple_polygons(
        cls, mask: tuple[tuple[PixelPoint, ...], ...]
    ) -> tuple[tuple[PixelPoint, ...], ...]:
        for k, polygon in enumerate(mask):
            problem = polygon_problem(polygon)
            if problem is not None:
                raise ValueError(f"mask polygon {k}: {problem}")
        return mask

    @model_validator(mode="after")
    def _area_order(self) -> MotionConfig:
        if self.max_area <= self.min_area:
            raise ValueError(
                f"max_area ({self.max_area}) must be greater than min_area ({self.min_area}): "
                "a change over max_area of the image is taken for a lighting change"
            )
        return self


def _zone_refs(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """``(settings key, zone name)`` for the settings that name zones.

    Before the plugins are loaded we cannot know a rule's settings model, so this follows
    the naming convention every rule uses: a key ``zone`` or ``*_zone`` holds one zone
    name (so do ``line`` and ``*_line``, naming a line zone), ``zones`` or ``*_zones`` a
    list of them. The plugins' own ``zone_names`` is checked later by
    ``validate_camera_hazards``.
    """
    refs: list[tuple[str, str]] = []
    for key, value in settings.items():
        single = key in ("zone", "line") or key.endswith(("_zone", "_line"))
        if single and isinstance(value, str):
            refs.append((key, value))
        elif (key == "zones" or key.endswith("_zones")) and isinstance(value, list | tuple):
            refs.extend((key, v) for v in value if isinstance(v, str))
    return refs


class CameraConfig(StrictModel):
    """One AI-analysed camera point."""

    id: Id
    name: str = Field(min_length=1, description="human-readable place name")
    village: Id = Field(description="id of the village/community the camera is in")
    grid: Id = Field(description="id of the comprehensive grid (of that village) it is in")
    source: str = Field(
        min_length=1, description="source URI: rtsp://, file:// or synthetic://<scene>?seed=N"
    )
    fps: float = Field(default=5.0, gt=0, le=60, description="target sampling rate, frames/s")
    resolution: tuple[int, int] = Field(
        description="width, height in pixels of the image the zones are drawn on"
    )
    anchor: Anchor = Field(default="bottom_center", description="which box point decides 'in zone'")
    position: PointKm | None = Field(
        default=None,
        description="where the camera looks, km in the town frame (default: its grid centre)",
    )
    tracker: str = Field(
        default="bytetrack",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="the tracker that gives this camera's detections track ids (bytetrack, "
        "or a plugin's)",
    )
    tracker_settings: dict[str, Any] = Field(
        default_factory=dict,
        description="this camera's tracker parameters over the defaults (for bytetrack: "
        "high_thresh, low_thresh, new_track_thresh, match_thresh, min_hits, lost_buffer_s, ...)",
    )
    zones: tuple[ZoneConfig, ...] = ()
    hazards: dict[Id, dict[str, Any]] = Field(
        default_factory=dict,
        description="hazard id -> that rule's settings (validated by the rule's Settings model)",
    )
    start_time: AwareDatetime | None = Field(
        default=None,
        description=(
            "video files only: wall-clock time of the first frame, ISO 8601 with a UTC "
            "offset (2026-03-01T06:00:00+08:00); frames then carry start_time + stream "
            "time, which calendar rules (vending's allowed hours) read. Default: the time "
            "the file is opened"
        ),
    )
    motion: MotionConfig | None = Field(
        default=None,
        description="motion test for motion-gated inference (defaults if absent)",
    )
    detector: DetectorConfig | None = Field(
        default=None,
        description="this camera's own model (overrides the township's detector: fields it "
        "sets); cameras on different models are batched separately",
    )

    @field_validator("start_time")
    @classmethod
    def _start_time_for_files(cls, value: AwareDatetime | None, info: Any) -> Any:
        source = str(info.data.get("source", "")).strip().lower()
        scheme = source.split("://", 1)[0] if "://" in source else "file"
        if value is not None and scheme != "file":
            where = (
                "its world's clock (clock=HH:MM in the URI)"
                if scheme == "synthetic"
                else ("the capture clock")
            )
            raise ValueError(
                f"start_time is for video files; a {scheme}:// camera's frames carry {where}"
            )
        return value

    @field_validator("resolution")
    @classmethod
    def _positive_resolution(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] <= 0 or value[1] <= 0:
            raise ValueError(f"resolution must be positive [width, height], got {list(value)}")
        return value

    @field_validator("hazards", mode="before")
    @classmethod
    def _settings_mapping(cls, value: Any) -> Any:
        # `near_water:` with nothing after it means "defaults": YAML reads that as None.
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _zones_fit(self) -> CameraConfig:
        problems: list[Problem] = []
        width, height = self.resolution
        for name, idx in duplicates([z.name for z in self.zones]).items():
            problems.append(
                Problem(("zones", idx[1], "name"), f"zone name {name!r} is used twice; rename one")
            )
        for k, zone in enumerate(self.zones):
            for p_idx, (x, y) in outside_image(zone.points, width, height):
                problems.append(
                    Problem(
                        ("zones", k, "points", p_idx),
                        f"point ({x:g}, {y:g}) of zone {zone.name!r} is outside the "
                        f"{width}x{height} image (resolution); zones are drawn in pixels",
                    )
                )
        if self.motion is not None:
            for m_idx, polygon in enumerate(self.motion.mask):
                for p_idx, (x, y) in outside_image(polygon, width, height):
                    problems.append(
                        Problem(
                            ("motion", "mask", m_idx, p_idx),
                            f"point ({x:g}, {y:g}) of motion mask polygon {m_idx} is outside "
                            f"the {width}x{height} image (resolution); masks are drawn in pixels",
                        )
                    )
        names = {z.name for z in self.zones}
        for hazard, settings in self.hazards.items():
            for key, zone_name in _zone_refs(settings):
                if zone_name not in names:
                    known = ", ".join(sorted(names)) or "none"
                    problems.append(
                        Problem(
                            ("hazards", hazard, key),
                            f"hazard {hazard!r} refers to zone {zone_name!r}, which this camera "
                            f"does not define (its zones: {known})",
                        )
                    )
        if problems:
            raise InvariantViolation(problems)
        return self

    def zone_dicts(self) -> list[dict[str, Any]]:
        """The zones as plain dicts, the form ``zones_from_config`` (core.hazards.zones) reads."""
        return [zone.model_dump(mode="python") for zone in self.zones]

    @property
    def scene(self) -> str | None:
        """The scene of a ``synthetic://`` source (``reservoir``, ...), else None."""
        prefix = "synthetic://"
        if not self.source.startswith(prefix):
            return None
        return self.source[len(prefix) :].split("?", 1)[0] or None
