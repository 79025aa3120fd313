"""The motion detector, the gate in front of the detector, and the camera's ``motion:`` block."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from gridsight.core.config.camera import CameraConfig, MotionConfig
from gridsight.core.engine.gate import GatedQueue, MotionGate, guard_interval
from gridsight.core.engine.motion import MotionDetector
from gridsight.core.sources.base import Frame

W, H = 640, 360


def scene(rng: np.random.Generator, box_x: int | None = None, noise: int = 3) -> np.ndarray:
    """A grey street with sensor noise and, optionally, a bright 'person' at ``box_x``."""
    img = np.full((H, W, 3), 90, np.int16)
    img[200:, :] = 60  # the road
    img += rng.integers(-noise, noise + 1, img.shape, dtype=np.int16)
    if box_x is not None:
        img[150:270, box_x : box_x + 40] = 230
    return np.clip(img, 0, 255).astype(np.uint8)


def test_still_scene_with_noise_is_not_motion() -> None:
    rng = np.random.default_rng(0)
    md = MotionDetector(MotionConfig(), (W, H))
    assert md.update(scene(rng)).moving  # the first frame: nothing known yet
    results = [md.update(scene(rng)) for _ in range(50)]
    assert not any(r.moving for r in results)
    assert max(r.changed for r in results) < MotionConfig().min_area


def test_walking_person_is_motion_and_a_parked_one_fades_into_the_background() -> None:
    rng = np.random.default_rng(1)
    md = MotionDetector(MotionConfig(alpha=0.1), (W, H))
    md.update(scene(rng))
    walking = [md.update(scene(rng, box_x=100 + 12 * k)) for k in range(20)]
    assert all(r.moving for r in walking)
    # The person stops: the background takes it in within a few dozen frames.
    stopped = [md.update(scene(rng, box_x=100 + 12 * 19)) for _ in range(60)]
    assert stopped[0].moving
    assert not any(r.moving for r in stopped[-20:])


def test_mask_hides_a_waving_tree() -> None:
    rng = np.random.default_rng(2)
    tree = ((0.0, 0.0), (200.0, 0.0), (200.0, 150.0), (0.0, 150.0))

    def windy(k: int) -> np.ndarray:
        img = scene(rng)
        img[20:130, 20 + 10 * (k % 3) : 120 + 10 * (k % 3)] = 30 + 170 * (k % 2)
        return img

    plain = MotionDetector(MotionConfig(), (W, H))
    masked = MotionDetector(MotionConfig(mask=(tree,)), (W, H))
    # fillPoly counts the polygon's edge pixels in: a little more than the area.
    assert masked.masked_fraction == pytest.approx(200 * 150 / (W * H), rel=0.1)
    plain.update(windy(0))
    masked.update(windy(0))
    assert sum(plain.update(windy(k)).moving for k in range(1, 10)) >= 7
    assert not any(masked.update(windy(k)).moving for k in range(1, 10))
    # Outside the mask a person still counts.
    assert masked.update(scene(rng, box_x=400)).moving


def test_lighting_change_restarts_the_background() -> None:
    rng = np.random.default_rng(3)
    md = MotionDetector(MotionConfig(), (W, H))
    md.update(scene(rng))
    dusk = (scene(rng) // 3).astype(np.uint8)
    first = md.update(dusk)
    assert first.moving and first.relit
    assert not md.update((scene(rng) // 3).astype(np.uint8)).moving


def _frame(img: np.ndarray, k: int, fps: float = 5.0) -> Frame:
    return Frame(image=img, ts=k / fps, index=k)


def test_gate_keepalive_on_a_still_scene() -> None:
    rng = np.random.default_rng(4)
    gate = MotionGate(MotionConfig(keepalive_s=2.0, hold_s=0.0), (W, H), 5.0, [20.0])
    admitted = [k for k in range(50) if gate.admit(_frame(scene(rng), k))]
    # The first frame (no background yet), then one every 2 s of stream time.
    assert admitted == [0, 10, 20, 30, 40]
    assert gate.counts() == (5, 45)


def test_gate_runs_full_rate_on_motion_and_holds_after_it() -> None:
    rng = np.random.default_rng(5)
    cfg = MotionConfig(keepalive_s=2.0, hold_s=1.0, alpha=0.3)
    gate = MotionGate(cfg, (W, H), 5.0, [20.0])
    gate.admit(_frame(scene(rng), 0))
    for k in range(1, 20):  # still
        gate.admit(_frame(scene(rng), k))
    moving = [gate.admit(_frame(scene(rng, box_x=50 + 15 * k), 20 + k)) for k in range(10)]
    assert all(moving)
    # Stopped at frame 29: every frame while the background takes the person in and for
    # hold_s after that, then only the keep-alive, every 10 frames.
    parked = scene(rng, box_x=50 + 15 * 9)
    after = [k for k in range(30, 70) if gate.admit(_frame(parked, k))]
    assert after[:5] == [30, 31, 32, 33, 34]
    gaps = np.diff(after)
    full_rate = int(np.argmax(gaps > 1))
    assert 5 <= full_rate + 1 <= 15  # settled within 3 s
    assert set(gaps[full_rate:].tolist()) == {10}


def test_keepalive_while_tracked_stays_within_the_rules_max_gap() -> None:
    assert guard_interval(2.0, [1.0, 20.0], 5.0) == pytest.approx(0.8)
    assert guard_interval(2.0, [20.0], 5.0) == pytest.approx(2.0)
    assert guard_interval(2.0, [0.1], 5.0) == pytest.approx(0.2)  # never below a frame
    assert guard_interval(2.0, [], 5.0) == pytest.approx(2.0)
    rng = np.random.default_rng(6)
    gate = MotionGate(MotionConfig(keepalive_s=2.0, hold_s=0.0), (W, H), 5.0, [1.0])

    def run(frames: range, tracking: bool) -> list[float]:
        out = []
        for k in frames:
            if gate.admit(_frame(scene(rng), k)):
                out.append(k / 5)
                gate.finished(tracking)  # the engine tracked it
        return out

    gaps = np.diff(run(range(40), tracking=True))
    assert gaps.max() <= 1.0 + 1e-9  # never longer than the rule's max_gap_s
    assert np.diff(run(range(40, 80), tracking=False)).min() == pytest.approx(2.0)


def test_keepalive_is_the_short_one_until_an_admitted_frame_comes_back() -> None:
    # --fast: the engine takes several frames of a camera before tracking the first.
    rng = np.random.default_rng(8)
    gate = MotionGate(MotionConfig(keepalive_s=2.0, hold_s=0.0), (W, H), 5.0, [1.0])
    admitted = [k for k in range(20) if gate.admit(_frame(scene(rng), k))]
    assert admitted == [0, 4, 8, 12, 16]  # 0.8 s: nothing known about frame 0 yet
    for _ in admitted:
        gate.finished(False)
    later = []
    for k in range(20, 50):
        if gate.admit(_frame(scene(rng), k)):
            later.append(k)
            gate.finished(False)
    assert later == [26, 36, 46]  # the plain 2 s keep-alive once the state is known


def test_gated_queue_keeps_only_admitted_frames() -> None:
    rng = np.random.default_rng(7)
    gate = MotionGate(MotionConfig(keepalive_s=1.0, hold_s=0.0), (W, H), 5.0, [])
    q = GatedQueue(gate, maxsize=100)
    for k in range(20):
        q.put(_frame(scene(rng), k))
    got = []
    while (f := q.get_nowait()) is not None:
        got.append(f.index)
    assert got == [0, 5, 10, 15]
    assert q.drops == 0 and gate.gated == 16


def _camera(**motion: object) -> dict[str, object]:
    return {
        "id": "cam-1",
        "name": "test",
        "village": "v",
        "grid": "v-g1",
        "source": "synthetic://street?seed=1",
        "resolution": [W, H],
        "motion": motion,
    }


def test_motion_block_defaults_and_validation() -> None:
    cam = CameraConfig.model_validate(_camera())
    assert cam.motion == MotionConfig()
    assert CameraConfig.model_validate({**_camera(), "motion": None}).motion is None
    with pytest.raises(ValidationError, match="outside the 640x360 image"):
        CameraConfig.model_validate(_camera(mask=[[[0, 0], [700, 0], [700, 100]]]))
    with pytest.raises(ValidationError, match="mask polygon 0"):
        CameraConfig.model_validate(_camera(mask=[[[0, 0], [10, 0]]]))
    with pytest.raises(ValidationError, match="max_area"):
        CameraConfig.model_validate(_camera(min_area=0.5, max_area=0.4))
    with pytest.raises(ValidationError, match="keepalive_s"):
        CameraConfig.model_validate(_camera(keepalive_s=0))
    with pytest.raises(ValidationError, match="treshold"):
        CameraConfig.model_validate(_camera(treshold=20))
