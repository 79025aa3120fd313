"""Shared pieces of the work-order tests: a clock, events, a service on the Jingqiao town."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from gridsight.core.events import HazardEvent
from gridsight.orders.config import OrdersConfig, OrdersTownship, load_orders_township
from gridsight.orders.service import OrderService
from gridsight.orders.store import OrderStore

CONFIG = "configs/jingqiao.yaml"
ZONE = ZoneInfo("Asia/Shanghai")
# 10:00 local time on a weekday: the day shift is on.
MORNING = datetime(2026, 7, 1, 10, 0, tzinfo=ZONE).timestamp()


class Clock:
    """A settable clock (epoch seconds)."""

    def __init__(self, t: float = MORNING) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> float:
        self.t += s
        return self.t


def all_day_config(folder: Path) -> Path:
    """configs/jingqiao.yaml with the grid workers on shift round the clock, for tests that
    run on the machine's clock (the CLI, a live server): they must not depend on the hour
    they run at (at night only the cadres are on duty, and dispatch waits for them)."""
    text = Path(CONFIG).read_text(encoding="utf-8")
    anchor = "  timezone: Asia/Shanghai\n"
    if anchor not in text:
        raise AssertionError(f"{CONFIG}: no {anchor.strip()!r} line to anchor the staffing on")
    text = text.replace(anchor, anchor + "  staffing:\n    grid_worker: {shift_h: [0, 24]}\n")
    path = folder / "town-all-day.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@lru_cache(maxsize=1)
def jingqiao() -> OrdersTownship:
    return load_orders_township(CONFIG)


def service(
    store: OrderStore,
    clock: Clock,
    *,
    channels: tuple[str, ...] = ("hook",),
    settings: OrdersConfig | None = None,
) -> OrderService:
    return OrderService(store, jingqiao(), clock=clock, channels=channels, settings=settings)


_N = [0]


def event(
    phase: str = "start",
    *,
    camera: str = "cam-reservoir-01",
    hazard: str = "near_water",
    eid: str | None = None,
    village: str | None = None,
    grid: str | None = None,
    snapshot: str | None = None,
) -> HazardEvent:
    """A hazard event of a Jingqiao camera (village and grid from the config)."""
    cam = jingqiao().camera(camera)
    if eid is None:
        _N[0] += 1
        eid = f"{camera}-{hazard}-{_N[0]}"
    return HazardEvent(
        id=eid,
        camera=camera,
        hazard=hazard,
        phase=phase,  # type: ignore[arg-type]
        ts=0.0,
        wall_time="2026-07-01T10:00:00+08:00",
        village=village or cam.village,
        grid=grid or cam.grid,
        confidence=0.9,
        boxes=((1.0, 2.0, 3.0, 4.0),),
        track_ids=(7,),
        snapshot=snapshot,
    )
