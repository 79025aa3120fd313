"""The view check: a camera moved, covered or blinded, against a learnt reference view.

Real footage (OpenCV's vtest.avi: a street with pedestrians, from opencv-doc) for the
reference and the tampering (shifted, rotated, panned, covered, dazzled), and the
synthetic world's scenes for false alarms over time.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from gridsight.core.errors import ConfigError
from gridsight.core.sources.view_check import (
    CAMERA_FAULT,
    ViewChecker,
    ViewCheckSettings,
    ViewState,
)

from ...faults.rtsp import sample_video

EVERY = ViewCheckSettings(interval_s=0.0, confirm=2, learn=3)


@pytest.fixture(scope="module")
def street() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(sample_video()))
    frames = []
    for i in range(795):
        ok, frame = cap.read()
        if not ok:
            break
        if i % 25 == 0:
            frames.append(frame)
    cap.release()
    assert len(frames) >= 30
    return frames


def _learnt(frames: list[np.ndarray], settings: ViewCheckSettings = EVERY) -> ViewChecker:
    checker = ViewChecker("cam", "ruijia", "ruijia-g01", settings)
    for k, frame in enumerate(frames[: settings.learn]):
        assert checker.observe(float(k), frame) == []
    assert not checker.learning and checker.reference is not None
    return checker


def _feed(checker: ViewChecker, images, t0: float = 100.0):
    events = []
    for k, img in enumerate(images):
        events += checker.observe(t0 + k, img)
    return events


def _shift(img: np.ndarray, dx: int) -> np.ndarray:
    h, w = img.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, 0]])
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def _rotate(img: np.ndarray, deg: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_the_same_street_with_people_walking_stays_ok(street) -> None:
    checker = _learnt(street)
    events = _feed(checker, street[3:])
    assert events == [] and checker.state is ViewState.OK
    assert checker.last is not None and checker.last.shift is not None
    assert checker.last.shift < 0.01


@pytest.mark.parametrize(
    ("name", "tamper"),
    [
        ("shifted 80 px", lambda f: _shift(f, 80)),
        ("rotated 8 degrees", lambda f: _rotate(f, 8.0)),
        ("panned away", lambda f: cv2.resize(f[:, 250:], (f.shape[1], f.shape[0]))),
    ],
)
def test_a_moved_camera_is_reported_and_its_return_ends_the_event(street, name, tamper) -> None:
    checker = _learnt(street)
    start = _feed(checker, [tamper(f) for f in street[5:8]])
    assert checker.state is ViewState.MOVED, (name, checker.last)
    assert [e.phase for e in start] == ["start"]
    ev = start[0]
    assert ev.hazard == CAMERA_FAULT and ev.camera == "cam" and ev.village == "ruijia"
    assert ev.extra["view"] == "moved" and ev.extra["previous"] == "ok"
    end = _feed(checker, street[10:13], t0=200.0)
    assert [e.phase for e in end] == ["end"] and end[0].id == ev.id
    assert checker.state is ViewState.OK


def test_a_small_wobble_is_not_a_move(street) -> None:
    checker = _learnt(street)
    assert _feed(checker, [_shift(f, 12) for f in street[5:10]]) == []
    assert checker.state is ViewState.OK


def test_covered_then_blinded_then_ok(street) -> None:
    checker = _learnt(street)
    covered = [(cv2.GaussianBlur(f, (51, 51), 0) * 0.15).astype(np.uint8) for f in street[5:8]]
    glare = [cv2.addWeighted(f, 0.2, np.full_like(f, 255), 0.8, 0) for f in street[8:11]]
    events = _feed(checker, covered)
    assert checker.state is ViewState.COVERED
    events += _feed(checker, glare, t0=150.0)
    assert checker.state is ViewState.BLINDED
    events += _feed(checker, street[12:15], t0=200.0)
    assert [(e.phase, e.extra["view"]) for e in events] == [
        ("start", "covered"),
        ("update", "blinded"),
        ("end", "ok"),
    ]
    assert len({e.id for e in events}) == 1


def test_a_lens_cap_on_a_featureless_grey_cloth_is_covered(street) -> None:
    checker = _learnt(street)
    _feed(checker, [np.full_like(street[0], 90)] * 2)
    assert checker.state is ViewState.COVERED
    assert "no detail" in (checker.last.reason if checker.last else "")


def test_an_occlusion_shorter_than_confirm_raises_nothing(street) -> None:
    settings = ViewCheckSettings(interval_s=0.0, confirm=3, learn=3)
    checker = _learnt(street, settings)
    bus = np.full_like(street[0], 60)
    images = [street[5], bus, bus, street[6], bus, street[7]]
    assert _feed(checker, images) == []
    assert checker.state is ViewState.OK


def test_checks_happen_every_interval_of_stream_time(street) -> None:
    checker = ViewChecker("cam", settings=ViewCheckSettings(interval_s=10.0, confirm=1, learn=1))
    checker.observe(0.0, street[0])  # the reference
    moved = _shift(street[5], 100)
    assert checker.observe(5.0, moved) == []  # too soon: not checked
    assert checker.state is ViewState.OK
    assert [e.phase for e in checker.observe(10.0, moved)] == ["start"]


def test_too_little_texture_skips_the_moved_check_but_not_covered() -> None:
    rng = np.random.default_rng(0)
    wall = np.full((360, 640, 3), 120, np.uint8)
    wall[100:110, :] = 200  # one line: edges, almost no features
    wall = np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8)
    checker = _learnt([wall] * 3)
    _feed(checker, [np.roll(wall, 50, axis=0)] * 3)
    assert checker.state is ViewState.OK
    assert "too little texture" in (checker.last.reason if checker.last else "")
    _feed(checker, [np.zeros_like(wall)] * 2, t0=300.0)
    assert checker.state is ViewState.COVERED


@pytest.mark.parametrize("scene", ["street", "reservoir", "fire_lane", "stairwell"])
def test_no_false_alarm_on_the_synthetic_worlds(scene) -> None:
    from gridsight.simulator.uri import parse_world_uri
    from gridsight.simulator.world import World

    world = World(parse_world_uri(f"synthetic://{scene}?seed=5&fps=5&w=640&h=360"))
    checker = ViewChecker("cam", settings=ViewCheckSettings(interval_s=10.0, confirm=3))
    events = []
    for index in range(0, 5 * 300, 50):  # 5 minutes of stream, one check per 10 s
        image, _ = world.render(index)
        events += checker.observe(index / 5.0, image)
    assert events == [] and checker.state is ViewState.OK


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="moved_shift"):
        ViewCheckSettings(moved_shift=1.5)
    with pytest.raises(ConfigError, match="confirm"):
        ViewCheckSettings(confirm=0)
