"""Who appears when: seeded streams of hazard episodes, near misses and traffic.

Each scene has three independent streams, each with its own generator spawned from the
world's seed (so more traffic never shifts when the hazards happen):

- **hazards**: one real episode at a time (a person at the water's edge, an e-bike taken
  into the lobby, a vehicle parked in the fire lane, a stall set up on the pavement),
  separated by gaps longer than the rule's cooldown so each episode is its own alert;
- **near misses**: look-alikes that must not alert (a walk along the footpath, a car
  driving through the lane, a bicycle or pedestrian entering the lobby, a vendor inside
  the allowed hours, a car parked *beside* the lane, an e-bike passing the door outside);
- **traffic**: background people and vehicles, scaled by the URI's ``density``.

Episode timing follows the built-in rules (gridsight/plugins/rules): an episode's
``start`` is the first moment its hazard condition holds in the scene, from which the
engine's onset delay is measured —

- ``near_water``: the person's feet enter the ``water_edge`` zone (rule confirms in 2 s);
  a visit lasts 12-90 s;
- ``ebike``: the e-bike's ground point enters the ``lobby`` (crosses the threshold); it
  stays 40-400 s;
- ``fire_lane``: the vehicle or stall comes to rest in the lane (the rule's 300 s dwell
  runs from then); it stays 420-1200 s, so every episode outlasts the dwell;
- ``vending``: the stall comes to rest in ``no_vending`` outside the allowed hours
  (default 06:00-08:00), or the allowed hours end while it stands there; 200-1200 s
  (the rule's dwell is 120 s).

``end`` is when the condition stops holding (the person leaves the zone, the vehicle
drives off). Streams are generated lazily in time order, so a world can run forever and
any instant can be rendered on its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridsight.simulator.layout import SceneLayout
from gridsight.simulator.plans import PathBuilder, Plan
from gridsight.simulator.sprites import Look, random_look, random_person

# The vending rule's default allowed hours, in seconds after midnight.
DEFAULT_ALLOWED_HOURS: tuple[tuple[float, float], ...] = ((6 * 3600.0, 8 * 3600.0),)
HAZARD_OF_SCENE = {
    "reservoir": "near_water",
    "stairwell": "ebike",
    "fire_lane": "fire_lane",
    "street": "vending",
}
_STREAMS = 3  # hazards, near misses, traffic: track ids are interleaved by stream


@dataclass(slots=True)
class Group:
    """What one stream adds at once: plans, and their episode or near-miss labels."""

    start: float
    plans: list[Plan] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    near_misses: list[dict[str, Any]] = field(default_factory=list)


class _Ids:
    """Track ids for one stream: ``1 + stream + 3 * k``, unique across streams."""

    def __init__(self, stream: int) -> None:
        self.stream = stream
        self.k = 0

    def take(self, n: int = 1) -> tuple[int, ...]:
        out = tuple(1 + self.stream + _STREAMS * (self.k + i) for i in range(n))
        self.k += n
        return out


@dataclass(slots=True)
class Ctx:
    """What a stream script needs: the layout, its generator, ids and the world clock."""

    layout: SceneLayout
    rng: np.random.Generator
    ids: _Ids
    clock_s: float
    density: float = 1.0

    def build(self, path: PathBuilder, look: Look) -> Plan:
        n = 2 if look.rider is not None else 1
        return path.build(look, self.ids.take(n), self.layout.camera)

    def at(self, a: float, s: float) -> tuple[float, float]:
        p = self.layout.strip.at(a, s)[0]
        return float(p[0]), float(p[1])

    def ends(self, s: float) -> tuple[float, float]:
        """Start and end ``a`` of a walk across the view along line ``s`` (random way)."""
        lo, hi = self.layout.a_range(s)
        return (lo, hi) if self.rng.random() < 0.5 else (hi, lo)

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))


Script = Callable[[Ctx], Iterator[Group]]


def _through(ctx: Ctx, t: float, look: Look, s: float, speed: float) -> Plan:
    a0, a1 = ctx.ends(s)
    path = PathBuilder(t, ctx.at(a0, s)).move_to(ctx.at(a1, s), speed)
    return ctx.build(path, look)


def _loiter(
    ctx: Ctx, path: PathBuilder, centre: tuple[float, float], seconds: float, radius: float
) -> None:
    """Stand around ``centre`` for ``seconds``, shifting a little now and then."""
    end = path.now + seconds
    while path.now < end:
        path.wait(min(ctx.u(3.0, 15.0), end - path.now))
        if path.now >= end:
            break
        step = (centre[0] + ctx.u(-radius, radius), centre[1] + ctx.u(-radius, radius) * 0.5)
        path.move_to(step, 0.5)


def _episode(hazard: str, start: float, end: float, plan: Plan) -> dict[str, Any]:
    """The truth label of a ``hazard`` episode by ``plan``'s objects."""
    return {
        "hazard": hazard,
        "start": round(start, 2),
        "end": round(end, 2),
        "track_ids": list(plan.track_ids),
    }


def _near_miss(
    name: str, plan: Plan, start: float | None = None, end: float | None = None
) -> dict[str, Any]:
    """The truth label of a near miss ``name`` by ``plan``'s objects (default: all its span)."""
    return {
        "kind": name,
        "start": round(plan.t0 if start is None else start, 2),
        "end": round(plan.t1 if end is None else end, 2),
        "track_ids": list(plan.track_ids),
    }


def _vehicle_kind(ctx: Ctx, weights: dict[str, float]) -> str:
    kinds = list(weights)
    p = np.asarray([weights[k] for k in kinds], np.float64)
    return kinds[int(ctx.rng.choice(len(kinds), p=p / p.sum()))]


def _speed(kind: str, ctx: Ctx) -> float:
    return {
        "person": ctx.u(1.0, 1.6),
        "bicycle": ctx.u(3.0, 5.0),
        "ebike": ctx.u(4.0, 7.0),
        "motorbike": ctx.u(5.0, 9.0),
        "car": ctx.u(4.0, 9.0),
        "van": ctx.u(4.0, 8.0),
    }.get(kind, ctx.u(0.8, 1.2))


def _traffic(
    ctx: Ctx,
    lines: list[tuple[float, dict[str, float]]],
    mean_gap: float,
) -> Iterator[Group]:
    """Background passers-by: a renewal process of actors crossing the view."""
    t = ctx.u(0.0, 4.0)
    while True:
        t += float(ctx.rng.exponential(mean_gap / max(ctx.density, 1e-3)))
        s_line, weights = lines[int(ctx.rng.integers(len(lines)))]
        kind = _vehicle_kind(ctx, weights)
        ridden = kind in ("bicycle", "ebike", "motorbike")
        look = random_look(kind, ctx.rng, ridden=ridden)
        s = s_line + ctx.u(-0.3, 0.3)
        yield Group(t, [_through(ctx, t, look, s, _speed(kind, ctx))])


# --------------------------------------------------------------------------- reservoir


def reservoir_hazards(ctx: Ctx) -> Iterator[Group]:
    lanes, zone = ctx.layout.lanes, ctx.layout.ground_zones["water_edge"]
    t = ctx.u(5.0, 40.0)
    while True:
        path_s = ctx.u(lanes["path_s0"] + 0.5, lanes["path_s1"] - 0.5)
        a0, a1 = ctx.ends(path_s)
        lo, hi = sorted((a0, a1))
        stop_a = ctx.u(lo + 0.3 * (hi - lo), hi - 0.3 * (hi - lo))
        stand = ctx.at(
            stop_a + ctx.u(-1.5, 1.5), ctx.u(lanes["water_s"] - 1.0, lanes["water_s"] - 0.2)
        )
        path = PathBuilder(t, ctx.at(a0, path_s)).move_to(ctx.at(stop_a, path_s), ctx.u(1.0, 1.5))
        path.move_to(stand, ctx.u(0.6, 1.1))
        _loiter(ctx, path, stand, ctx.u(12.0, 90.0), 0.35)
        path.move_to(ctx.at(stop_a, path_s), ctx.u(0.8, 1.3)).move_to(ctx.at(a1, path_s), 1.3)
        plan = ctx.build(path, random_person(ctx.rng))
        group = Group(t, [plan])
        spans = plan.intervals_in(zone)
        if spans:
            group.episodes.append(_episode("near_water", spans[0][0], spans[-1][1], plan))
        yield group
        t = plan.t1 + ctx.u(60.0, 200.0)


def reservoir_near_misses(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    t = ctx.u(2.0, 20.0)
    while True:
        path_s = ctx.u(lanes["path_s0"] + 0.4, lanes["path_s1"] - 0.4)
        a0, a1 = ctx.ends(path_s)
        path = PathBuilder(t, ctx.at(a0, path_s))
        if ctx.rng.random() < 0.35:  # stops on the path to look at the water
            mid = ctx.u(min(a0, a1) * 0.5, max(a0, a1) * 0.5)
            path.move_to(ctx.at(mid, path_s), ctx.u(1.0, 1.4)).wait(ctx.u(10.0, 45.0))
            name = "stand_on_path"
        else:
            name = "walk_path"
        path.move_to(ctx.at(a1, path_s), ctx.u(1.0, 1.6))
        plan = ctx.build(path, random_person(ctx.rng))
        yield Group(
            t,
            [plan],
            near_misses=[_near_miss(name, plan)],
        )
        t = plan.t1 + ctx.u(10.0, 60.0)


def reservoir_traffic(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    path_mid = (lanes["path_s0"] + lanes["path_s1"]) / 2
    yield from _traffic(
        ctx,
        [
            (path_mid, {"person": 3.0, "bicycle": 1.5, "ebike": 1.5}),
            (lanes["grass_s"], {"person": 1.0}),
        ],
        mean_gap=35.0,
    )


# --------------------------------------------------------------------------- stairwell


def _lobby_visit(ctx: Ctx, t: float, kind: str, side: int) -> tuple[list[Plan], Plan, float]:
    """A two-wheeler pushed in through the door, parked, later fetched and pushed out.

    ``side`` (-1 left, +1 right) is the wall it is parked along: e-bikes and bicycles use
    opposite walls, so two parked at once stand apart instead of inside each other.
    """
    lanes = ctx.layout.lanes
    back, door_mid = lanes["back_z"], (lanes["door_x0"] + lanes["door_x1"]) / 2
    outside = (door_mid + ctx.u(-6.0, 6.0), lanes["outside_z"])
    door_out = (door_mid, back + 0.6)
    door_in = (door_mid, back - 0.8)
    wall_x = lanes["left_x"] if side < 0 else lanes["right_x"]
    park = (
        wall_x - side * ctx.u(0.9, 1.4),
        ctx.u(max(lanes["near_z"] + 1.5, back - 4.5), back - 1.6),
    )
    park = (float(np.clip(park[0], lanes["left_x"] + 0.9, lanes["right_x"] - 0.9)), park[1])
    stay = ctx.u(40.0, 400.0)
    look = random_look(kind, ctx.rng)
    bike = PathBuilder(t, outside).move_to(door_out, 1.2).move_to(door_in, 1.0)
    bike.move_to(park, 0.9)
    parked_at = bike.now
    bike.wait(stay)
    fetched = bike.now
    bike.move_to(door_in, 0.9).move_to(door_out, 1.0).move_to(outside, 1.2)
    bike_plan = ctx.build(bike, look)
    # The owner walks beside the bike on the way in, then leaves down the stairs
    # (under the camera); someone comes back for it later.
    beside = 0.45
    owner = PathBuilder(t, (outside[0], outside[1] - beside))
    owner.move_to((door_out[0], door_out[1] - beside), 1.2)
    owner.move_to((door_in[0], door_in[1] - beside), 1.0)
    owner.move_to((park[0], park[1] - beside), 0.9).wait(ctx.u(1.0, 4.0))
    exit_pt = (park[0] * 0.5, max(0.3, lanes["near_z"] - 1.5))
    owner.move_to(exit_pt, 1.2)
    fetcher = PathBuilder(fetched - 12.0, exit_pt).move_to(
        (park[0], park[1] - beside), (np.hypot(park[0] - exit_pt[0], park[1] - exit_pt[1]) / 11.0)
    )
    fetcher.wait(1.0)
    fetcher.move_to((door_in[0], door_in[1] - beside), 0.9)
    fetcher.move_to((door_out[0], door_out[1] - beside), 1.0)
    fetcher.move_to((outside[0], outside[1] - beside), 1.2)
    people = [ctx.build(owner, random_person(ctx.rng)), ctx.build(fetcher, random_person(ctx.rng))]
    del parked_at
    return [bike_plan, *people], bike_plan, fetched


def stairwell_hazards(ctx: Ctx) -> Iterator[Group]:
    lobby = ctx.layout.ground_zones["lobby"]
    t = ctx.u(5.0, 40.0)
    while True:
        plans, bike, _ = _lobby_visit(ctx, t, "ebike", int(ctx.layout.lanes["ebike_side"]))
        group = Group(t, plans)
        spans = bike.intervals_in(lobby)
        if spans:
            group.episodes.append(_episode("ebike", spans[0][0], spans[-1][1], bike))
        yield group
        t = max(p.t1 for p in plans) + ctx.u(90.0, 240.0)


def stairwell_near_misses(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    t = ctx.u(2.0, 25.0)
    while True:
        roll = ctx.rng.random()
        if roll < 0.3:  # a bicycle parked in the lobby is not an e-bike
            side = -int(ctx.layout.lanes["ebike_side"])
            plans, bike, _ = _lobby_visit(ctx, t, "bicycle", side)
            label = _near_miss("bicycle_in_lobby", bike)
        elif roll < 0.55:  # an e-bike ridden past outside, seen through the door
            look = random_look("ebike", ctx.rng, ridden=True)
            x0, x1 = (-15.0, 15.0) if ctx.rng.random() < 0.5 else (15.0, -15.0)
            z = lanes["outside_z"] + ctx.u(0.0, 2.0)
            path = PathBuilder(t, (x0, z)).move_to((x1, z), ctx.u(3.0, 6.0))
            plan = ctx.build(path, look)
            plans = [plan]
            label = _near_miss("ebike_passes_outside", plan)
        else:  # a resident walks in (or out) through the lobby
            door = ((lanes["door_x0"] + lanes["door_x1"]) / 2, lanes["back_z"] + 0.5)
            outside = (door[0] + ctx.u(-5.0, 5.0), lanes["outside_z"])
            inner = (
                ctx.u(lanes["left_x"] + 0.8, lanes["right_x"] - 0.8),
                max(0.3, lanes["near_z"] - 1.5),
            )
            route = [outside, door, inner]
            if ctx.rng.random() < 0.4:
                route.reverse()
            path = PathBuilder(t, route[0])
            for p in route[1:]:
                path.move_to(p, ctx.u(1.0, 1.5))
            plan = ctx.build(path, random_person(ctx.rng))
            plans = [plan]
            label = _near_miss("pedestrian_in_lobby", plan)
        yield Group(t, plans, near_misses=[label])
        t = max(p.t1 for p in plans) + ctx.u(15.0, 70.0)


def stairwell_traffic(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    yield from _traffic(
        ctx,
        [(lanes["outside_z"] + 1.0, {"person": 3.0, "bicycle": 1.0, "ebike": 1.0, "car": 0.5})],
        mean_gap=30.0,
    )


# --------------------------------------------------------------------------- fire lane


def _park(
    ctx: Ctx,
    t: float,
    look: Look,
    s: float,
    stay: float,
    speed: float,
) -> tuple[Plan, float, float, list[Plan]]:
    """Come in along line ``s``, stop in view for ``stay`` seconds, leave the other way."""
    a0, a1 = ctx.ends(s)
    lo, hi = sorted((a0, a1))
    stop_a = ctx.u(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
    path = PathBuilder(t, ctx.at(a0, s)).move_to(ctx.at(stop_a, s), speed)
    stopped = path.now
    path.wait(stay)
    left = path.now
    path.move_to(ctx.at(a1, s), speed)
    extra: list[Plan] = []
    plan = ctx.build(path, look)
    if look.kind.startswith("stall"):
        # A vendor pushes the stall and tends it, standing beside it.
        dir_a = 1.0 if a1 > a0 else -1.0
        offset = -dir_a * (look.size / 2 + 0.45)
        vendor = PathBuilder(t, ctx.at(a0 + offset, s - 0.3))
        vendor.move_to(ctx.at(stop_a + offset, s - 0.3), speed)
        _loiter(ctx, vendor, ctx.at(stop_a + offset, s - 0.3), stay, 0.25)
        vendor.move_to(ctx.at(a1 + offset, s - 0.3), speed)
        extra.append(ctx.build(vendor, random_person(ctx.rng)))
    return plan, stopped, left, extra


def fire_lane_hazards(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    t = ctx.u(5.0, 30.0)
    while True:
        kind = _vehicle_kind(
            ctx,
            {
                "car": 0.55,
                "van": 0.2,
                "motorbike": 0.1,
                "stall_tricycle": 0.08,
                "stall_umbrella": 0.07,
            },
        )
        look = random_look(kind, ctx.rng)
        s = ctx.u(lanes["lane_s0"] + 0.35 * lanes["lane_s1"], 0.65 * lanes["lane_s1"])
        speed = 1.0 if kind.startswith("stall") else _speed(kind, ctx) * 0.6
        plan, stopped, left, extra = _park(ctx, t, look, s, ctx.u(420.0, 1200.0), speed)
        group = Group(
            t,
            [plan, *extra],
            episodes=[_episode("fire_lane", stopped, left, plan)],
        )
        yield group
        t = plan.t1 + ctx.u(360.0, 900.0)


def fire_lane_near_misses(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    lane_mid = (lanes["lane_s0"] + lanes["lane_s1"]) / 2
    t = ctx.u(3.0, 30.0)
    while True:
        roll = ctx.rng.random()
        if roll < 0.55:  # a vehicle drives through the lane without stopping
            kind = _vehicle_kind(ctx, {"car": 0.5, "van": 0.2, "motorbike": 0.15, "ebike": 0.15})
            look = random_look(kind, ctx.rng, ridden=kind in ("motorbike", "ebike"))
            plan = _through(ctx, t, look, lane_mid + ctx.u(-0.5, 0.5), _speed(kind, ctx))
            plans, name = [plan], "drive_through_lane"
        elif roll < 0.8:  # a car parks in a bay beside the lane, not in it
            look = random_look("car", ctx.rng)
            plan, _, _, _ = _park(
                ctx, t, look, lanes["park_s"], ctx.u(120.0, 700.0), _speed("car", ctx) * 0.5
            )
            plans, name = [plan], "parked_beside_lane"
        else:  # people walk down the lane
            plan = _through(ctx, t, random_person(ctx.rng), lane_mid, _speed("person", ctx))
            plans, name = [plan], "walk_in_lane"
        yield Group(
            t,
            plans,
            near_misses=[_near_miss(name, plan)],
        )
        t = plans[0].t1 + ctx.u(20.0, 90.0)


def fire_lane_traffic(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    yield from _traffic(
        ctx,
        [
            (lanes["walk_s"], {"person": 3.0}),
            (
                (lanes["lane_s0"] + lanes["lane_s1"]) / 2,
                {"bicycle": 1.0, "ebike": 1.0, "motorbike": 0.7, "person": 1.0},
            ),
        ],
        mean_gap=25.0,
    )


# --------------------------------------------------------------------------- street


def _allowed_overlap(
    ctx: Ctx, t0: float, t1: float, allowed: tuple[tuple[float, float], ...]
) -> list[tuple[float, float]]:
    """Parts of stream interval ``[t0, t1]`` that fall outside the allowed clock hours."""
    out: list[tuple[float, float]] = []
    # Walk the interval minute by minute: simple and exact enough for truth labels.
    ts = np.arange(t0, t1, 1.0)
    if len(ts) == 0:
        return out
    clock = (ctx.clock_s + ts) % 86400.0
    ok = np.zeros(len(ts), bool)
    for lo, hi in allowed:
        ok |= (clock >= lo) & (clock < hi)
    start: float | None = None
    for t, flag in zip(ts, ok, strict=True):
        if not flag and start is None:
            start = float(t)
        elif flag and start is not None:
            out.append((start, float(t)))
            start = None
    if start is not None:
        out.append((start, t1))
    return out


def street_hazards(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    t = ctx.u(5.0, 40.0)
    while True:
        kind = _vehicle_kind(
            ctx, {"stall_umbrella": 0.4, "stall_table": 0.3, "stall_tricycle": 0.3}
        )
        look = random_look(kind, ctx.rng)
        s = ctx.u(0.9, max(1.0, lanes["pave_s1"] - 1.3))
        plan, stopped, left, extra = _park(ctx, t, look, s, ctx.u(200.0, 1200.0), 0.9)
        group = Group(t, [plan, *extra])
        outside = _allowed_overlap(ctx, stopped, left, DEFAULT_ALLOWED_HOURS)
        if outside:
            group.episodes.append(_episode("vending", outside[0][0], outside[-1][1], plan))
        else:
            group.near_misses.append(_near_miss("vending_in_allowed_hours", plan, stopped, left))
        yield group
        t = plan.t1 + ctx.u(200.0, 600.0)


def street_near_misses(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    t = ctx.u(10.0, 60.0)
    while True:
        kind = _vehicle_kind(ctx, {"stall_umbrella": 0.5, "stall_tricycle": 0.5})
        look = random_look(kind, ctx.rng)
        s = ctx.u(0.9, max(1.0, lanes["pave_s1"] - 1.3))
        plan = _through(ctx, t, look, s, ctx.u(0.8, 1.2))
        yield Group(
            t,
            [plan],
            near_misses=[_near_miss("stall_passes", plan)],
        )
        t = plan.t1 + ctx.u(60.0, 240.0)


def street_traffic(ctx: Ctx) -> Iterator[Group]:
    lanes = ctx.layout.lanes
    # Motorbikes are rarer elsewhere; the road carries enough of them to learn the class.
    road = {"car": 3.0, "van": 1.0, "motorbike": 2.0, "ebike": 1.5, "bicycle": 1.0}
    yield from _traffic(
        ctx,
        [
            (lanes["near_lane_s"], road),
            (lanes["far_lane_s"], road),
            (lanes["pave_s1"] * 0.5, {"person": 3.0}),
            (lanes["pave_s1"] * 0.8, {"person": 1.0}),
        ],
        mean_gap=7.0,
    )


SCRIPTS: dict[str, tuple[Script, Script, Script]] = {
    "reservoir": (reservoir_hazards, reservoir_near_misses, reservoir_traffic),
    "stairwell": (stairwell_hazards, stairwell_near_misses, stairwell_traffic),
    "fire_lane": (fire_lane_hazards, fire_lane_near_misses, fire_lane_traffic),
    "street": (street_hazards, street_near_misses, street_traffic),
}

_MAX_LIFE = 3600.0  # no plan lives longer than this: bounds the look-back of a query


class _Stream:
    def __init__(self, script: Script, ctx: Ctx) -> None:
        self._it = script(ctx)
        self.groups: list[Group] = []
        self.plans: list[Plan] = []
        self.plan_t0: list[float] = []
        self.horizon = -1.0

    def extend(self, until: float) -> None:
        while self.horizon <= until:
            group = next(self._it)
            self.groups.append(group)
            for plan in group.plans:
                i = bisect.bisect_right(self.plan_t0, plan.t0)
                self.plan_t0.insert(i, plan.t0)
                self.plans.insert(i, plan)
            self.horizon = group.start

    def active(self, t: float) -> list[Plan]:
        hi = bisect.bisect_right(self.plan_t0, t)
        lo = bisect.bisect_left(self.plan_t0, t - _MAX_LIFE)
        return [p for p in self.plans[lo:hi] if p.t1 > t]


class Schedule:
    """The lazily extended schedule of one world.

    Args:
        layout: the scene.
        seed_seq: the world's seed sequence for the schedule (spawned per stream).
        clock_s: seconds after midnight at stream time 0.
        density: traffic multiplier.
    """

    def __init__(
        self,
        layout: SceneLayout,
        seed_seq: np.random.SeedSequence,
        clock_s: float,
        density: float = 1.0,
    ) -> None:
        scripts = SCRIPTS[layout.scene]
        seqs = seed_seq.spawn(len(scripts))
        self._streams = []
        for i, (script, seq) in enumerate(zip(scripts, seqs, strict=True)):
            ctx = Ctx(layout, np.random.default_rng(seq), _Ids(i), clock_s, density)
            if i == 2 and density <= 0:
                continue  # no traffic at all
            self._streams.append(_Stream(script, ctx))

    def active(self, t: float) -> list[Plan]:
        """Plans alive at time ``t``."""
        out: list[Plan] = []
        for stream in self._streams:
            stream.extend(t + 1.0)
            out.extend(stream.active(t))
        return out

    def labels(self, duration: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Episodes and near misses that begin before ``duration`` (ends clipped to it)."""
        episodes: list[dict[str, Any]] = []
        near: list[dict[str, Any]] = []
        for stream in self._streams:
            stream.extend(duration + 1.0)
            for group in stream.groups:
                for src, dst in ((group.episodes, episodes), (group.near_misses, near)):
                    for label in src:
                        if label["start"] < duration:
                            dst.append({**label, "end": min(label["end"], round(duration, 2))})
        episodes.sort(key=lambda e: e["start"])
        near.sort(key=lambda e: e["start"])
        return episodes, near
