"""Truth boxes are what is drawn: every painted actor pixel lies in a box, boxes are tight."""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.core.detection.roles import Role
from gridsight.simulator import SCENES, open_world
from gridsight.simulator.sprites import ROLE_OF_KIND, draw_actor, random_look


def _busy_times(world, n: int, step: float = 7.0) -> list[float]:
    """The first ``n`` times (multiples of ``step``) at which some actor is in view."""
    out, t = [], 0.0
    while len(out) < n and t < 3000:
        if len(world.truth_at(t).boxes):
            out.append(t)
        t += step
    return out


@pytest.mark.parametrize("scene", SCENES)
def test_changed_pixels_lie_inside_the_boxes(scene: str) -> None:
    world = open_world(f"synthetic://{scene}?seed=11&density=3&effects=0")
    h, w = world.spec.height, world.spec.width
    for t in _busy_times(world, 4):
        frame, parts = world.compose(t)
        changed = np.any(frame != world.background, axis=2)
        covered = np.zeros_like(changed)
        for _, _, box, visible in parts:
            x1, y1, x2, y2 = (int(v) for v in box)
            covered[max(y1, 0) : max(min(y2, h), 0), max(x1, 0) : max(min(x2, w), 0)] = True
            if visible > 0:
                sub = changed[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]
                assert sub.any(), f"{scene} t={t}: a visible part's box holds no drawn pixel"
        assert not (changed & ~covered).any(), f"{scene} t={t}: drawn pixels outside all boxes"


@pytest.mark.parametrize("scene", SCENES)
def test_a_lone_actor_box_is_tight(scene: str) -> None:
    """With one actor in view, its box is exactly the extent of the changed pixels."""
    world = open_world(f"synthetic://{scene}?seed=4&density=0&effects=0")
    checked = 0
    t = 0.0
    while checked < 3 and t < 3000:
        truth = world.truth_at(t)
        if len(truth.boxes) != 1 or truth.visible[0] != 1.0:
            t += 1.0
            continue
        frame, parts = world.compose(t)
        if len(parts) == 1:
            changed = np.any(frame != world.background, axis=2)
            ys, xs = np.nonzero(changed)
            extent = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
            # Where the actor's colour happens to equal the background a pixel may not
            # "change"; allow a pixel of slack on each side.
            np.testing.assert_allclose(truth.boxes[0], extent, atol=1.0)
            checked += 1
            t += 15.0
        t += 1.0
    assert checked >= 1, f"{scene}: found no frame with a single, fully visible actor"


def test_shake_moves_boxes_with_the_picture() -> None:
    world = open_world("synthetic://street?seed=2&density=3")
    shaky = next(t for t in np.arange(30.0, 300.0, 3.0) if len(world.truth_at(float(t)).boxes))
    dx, dy = world.effects.shake(float(shaky))
    _, parts = world.compose(float(shaky), pixels=False)
    truth = world.truth_at(float(shaky))
    first = next(p for p in parts if p[1] == truth.track_ids[0])
    expected = np.clip(first[2] + [dx, dy, dx, dy], 0, [640, 360, 640, 360])
    np.testing.assert_allclose(truth.boxes[0], expected, atol=1e-4)
    assert abs(dx) <= world.effects.shake_px + 1e-9 and abs(dy) <= world.effects.shake_px + 1e-9


def test_hidden_actors_are_dropped_and_partly_hidden_kept() -> None:
    """Across a crowded street, occlusion shows up as visible < 1; nothing below the cut."""
    world = open_world("synthetic://street?seed=8&density=6&effects=0")
    seen = []
    for t in np.arange(20.0, 400.0, 4.0):
        truth = world.truth_at(float(t))
        seen.extend(truth.visible.tolist())
        _, parts = world.compose(float(t), pixels=False)
        hidden = {p[1] for p in parts if p[3] < 0.2}
        assert not hidden & set(truth.track_ids.tolist())
    seen_arr = np.asarray(seen)
    assert seen_arr.min() >= 0.2
    assert (seen_arr < 0.9).any(), "no partly occluded object in a crowded street"


def test_roles_follow_the_actor_kind() -> None:
    rng = np.random.default_rng(0)
    for kind, role in ROLE_OF_KIND.items():
        look = random_look(kind, rng, ridden=kind in ("bicycle", "ebike", "motorbike"))
        patches = draw_actor(look, 100.0, 200.0, 40.0, 1, 0.0, True)
        assert patches[0].role == role
        if look.rider is not None:
            assert [p.role for p in patches] == [role, Role.PERSON]


def test_ebike_and_bicycle_look_different() -> None:
    """Same scale and pose: the silhouettes differ substantially (frame, wheels, battery)."""
    rng = np.random.default_rng(1)
    bike = draw_actor(random_look("bicycle", rng), 60.0, 80.0, 40.0, 1, 0.0, False)[0]
    ebike = draw_actor(random_look("ebike", rng), 60.0, 80.0, 40.0, 1, 0.0, False)[0]
    a = np.zeros((120, 120), bool)
    b = np.zeros((120, 120), bool)
    for canvas, p in ((a, bike), (b, ebike)):
        h, w = p.mask.shape
        canvas[p.y0 : p.y0 + h, p.x0 : p.x0 + w] |= p.mask > 0
    iou = (a & b).sum() / (a | b).sum()
    assert iou < 0.5
    # The e-bike's small, thick wheels put more of it low down, near the ground.
    assert b[70:80].sum() > a[70:80].sum()
