"""Parsing ``synthetic://<scene>?seed=N&fps=F&w=W&h=H`` URIs into a :class:`WorldSpec`.

Besides the four contract parameters a URI may carry a few optional ones that the docs,
tests and dataset export use:

- ``time=day|dusk|night``: force the lighting (default: drawn from the seed);
- ``clock=HH:MM``: the wall-clock time of day at stream time 0 (default: drawn from the
  seed, consistent with the lighting);
- ``density=X``: multiply the background traffic rate (default 1; the dataset uses more);
- ``effects=0|1``: turn sensor noise, blur, compression and shake off (default 1).

Any other parameter is an error that names it, so a typo never silently changes a world.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from gridsight.core.errors import SourceError

SCHEME = "synthetic"
SCENES: tuple[str, ...] = ("reservoir", "stairwell", "fire_lane", "street")
LIGHTINGS: tuple[str, ...] = ("day", "dusk", "night")

DEFAULT_FPS = 5.0
DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 360

_KNOWN = ("seed", "fps", "w", "h", "time", "clock", "density", "effects")


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Everything that decides what a synthetic camera shows.

    Attributes:
        scene: ``reservoir`` | ``stairwell`` | ``fire_lane`` | ``street``.
        seed: the world's seed; the same spec always renders the same frames.
        fps: frames per second of the stream.
        width: frame width in pixels.
        height: frame height in pixels.
        lighting: ``day`` | ``dusk`` | ``night``, or None to draw it from the seed.
        clock_s: seconds after midnight at stream time 0, or None to draw it from the seed.
        density: multiplier of the background traffic rate.
        effects: apply sensor noise, blur, compression and camera shake.
    """

    scene: str
    seed: int = 0
    fps: float = DEFAULT_FPS
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    lighting: str | None = None
    clock_s: float | None = None
    density: float = 1.0
    effects: bool = True

    def __post_init__(self) -> None:
        if self.scene not in SCENES:
            raise SourceError(
                f"synthetic scene {self.scene!r} is unknown; use one of {', '.join(SCENES)}"
            )
        if not 0 < self.fps <= 120:
            raise SourceError(f"synthetic parameter 'fps'={self.fps}: expected 0 < fps <= 120")
        if not 64 <= self.width <= 4096:
            raise SourceError(f"synthetic parameter 'w'={self.width}: expected 64..4096 pixels")
        if not 64 <= self.height <= 4096:
            raise SourceError(f"synthetic parameter 'h'={self.height}: expected 64..4096 pixels")
        if self.lighting is not None and self.lighting not in LIGHTINGS:
            raise SourceError(
                f"synthetic parameter 'time'={self.lighting!r}: use one of {', '.join(LIGHTINGS)}"
            )
        if self.clock_s is not None and not 0 <= self.clock_s < 86400:
            raise SourceError(f"synthetic parameter 'clock'={self.clock_s}: expected 00:00..23:59")
        if not 0 <= self.density <= 20:
            raise SourceError(f"synthetic parameter 'density'={self.density}: expected 0..20")

    def uri(self) -> str:
        """The canonical URI of this spec (optional parameters only when set)."""
        fps = f"{self.fps:g}"
        out = f"{SCHEME}://{self.scene}?seed={self.seed}&fps={fps}&w={self.width}&h={self.height}"
        if self.lighting is not None:
            out += f"&time={self.lighting}"
        if self.clock_s is not None:
            minutes = int(self.clock_s // 60)
            out += f"&clock={minutes // 60:02d}:{minutes % 60:02d}"
        if self.density != 1.0:
            out += f"&density={self.density:g}"
        if not self.effects:
            out += "&effects=0"
        return out


def _number(name: str, raw: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise SourceError(f"synthetic parameter {name!r}={raw!r}: expected {what}") from None


def parse_clock(raw: str, name: str = "clock") -> float:
    """Parse ``HH:MM`` or ``HH:MM:SS`` into seconds after midnight.

    Raises:
        SourceError: the text is not a valid time of day (the message names ``name``).
    """
    parts = raw.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        values = [int(p) for p in parts]
    except ValueError:
        raise SourceError(f"synthetic parameter {name!r}={raw!r}: expected HH:MM") from None
    hours, minutes = values[0], values[1]
    seconds = values[2] if len(values) == 3 else 0
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
        raise SourceError(f"synthetic parameter {name!r}={raw!r}: expected 00:00..23:59")
    return float(hours * 3600 + minutes * 60 + seconds)


def is_synthetic_uri(uri: str) -> bool:
    """True when the URI uses the ``synthetic://`` scheme."""
    return uri.strip().lower().startswith(f"{SCHEME}://")


def parse_world_uri(uri: str) -> WorldSpec:
    """Parse a ``synthetic://`` URI.

    Args:
        uri: e.g. ``synthetic://reservoir?seed=101&fps=5&w=640&h=360``.

    Returns:
        The world spec; missing parameters take their defaults (seed 0, 5 fps, 640x360).

    Raises:
        SourceError: wrong scheme, unknown scene, or a bad/unknown query parameter (the
            message names it and says what is expected).

    Example:
        >>> parse_world_uri("synthetic://street?seed=3").width
        640
    """
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != SCHEME:
        raise SourceError(f"not a synthetic URI: {uri!r} (expected synthetic://<scene>?seed=N)")
    scene = (parts.netloc + parts.path).strip("/")
    if scene not in SCENES:
        raise SourceError(
            f"synthetic scene {scene!r} in {uri!r} is unknown; use one of {', '.join(SCENES)}"
        )
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise SourceError(f"synthetic URI {uri!r}: malformed query string") from None
    kwargs: dict[str, object] = {}
    seen: set[str] = set()
    for name, raw in pairs:
        if name not in _KNOWN:
            raise SourceError(
                f"synthetic parameter {name!r} in {uri!r} is unknown; use {', '.join(_KNOWN)}"
            )
        if name in seen:
            raise SourceError(f"synthetic parameter {name!r} given twice in {uri!r}")
        seen.add(name)
        if name == "seed":
            seed = int(_number(name, raw, int))
            if seed < 0:
                raise SourceError(f"synthetic parameter 'seed'={raw!r}: expected >= 0")
            kwargs["seed"] = seed
        elif name == "fps":
            kwargs["fps"] = _number(name, raw, float)
        elif name == "w":
            kwargs["width"] = int(_number(name, raw, int))
        elif name == "h":
            kwargs["height"] = int(_number(name, raw, int))
        elif name == "time":
            kwargs["lighting"] = raw
        elif name == "clock":
            kwargs["clock_s"] = parse_clock(raw)
        elif name == "density":
            kwargs["density"] = _number(name, raw, float)
        elif name == "effects":
            if raw not in ("0", "1"):
                raise SourceError(f"synthetic parameter 'effects'={raw!r}: expected 0 or 1")
            kwargs["effects"] = raw == "1"
    return WorldSpec(scene=scene, **kwargs)  # type: ignore[arg-type]
