"""Evidence snapshots: written, drawn, privacy blur on by default and switchable."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gridsight.core.detection.detections import Detections
from gridsight.core.detection.roles import Role
from gridsight.core.errors import DataError
from gridsight.core.events import HazardEvent
from gridsight.core.sinks.evidence import EvidenceWriter, load_face_cascade

ZONES = [
    {
        "name": "water_edge",
        "kind": "polygon",
        "points": [[0, 200], [640, 200], [640, 360], [0, 360]],
    },
    {"name": "door", "kind": "line", "points": [[100, 50], [200, 50]], "inward": "left"},
]


def _image(seed: int = 0) -> np.ndarray:
    # Textured noise: any blur changes it measurably.
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(360, 640, 3), dtype=np.uint8)


def _detail(region: np.ndarray) -> float:
    return float(np.abs(np.diff(region.astype(np.int16), axis=1)).mean())


def _event() -> HazardEvent:
    return HazardEvent(
        id="cam-1/near_water/000001",
        camera="cam-1",
        hazard="near_water",
        phase="start",
        ts=12.0,
        wall_time="2026-01-01T00:00:00Z",
        village="v",
        grid="g",
        confidence=0.9,
        boxes=((300.0, 100.0, 340.0, 220.0),),
        track_ids=(4,),
    )


def _detections() -> Detections:
    return Detections(
        xyxy=np.array([[300, 100, 340, 220], [500, 250, 600, 330]], np.float32),
        confidence=np.array([0.9, 0.8], np.float32),
        class_id=np.array([int(Role.PERSON), int(Role.CAR)]),
        tracker_id=np.array([4, 5]),
    )


def test_save_writes_a_jpeg_and_keeps_the_input(tmp_path: Path) -> None:
    img = _image()
    before = img.copy()
    writer = EvidenceWriter(tmp_path)
    path = writer.save(_event(), img, ZONES, _detections())
    assert np.array_equal(img, before)
    assert Path(path).parent.name == "cam-1"
    assert "/" not in Path(path).name
    decoded = cv2.imread(path)
    assert decoded is not None and decoded.shape == img.shape
    assert writer.written == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_person_heads_are_blurred_by_default(tmp_path: Path) -> None:
    img = _image()
    writer = EvidenceWriter(tmp_path)
    regions = writer.face_regions(img, _detections())
    # Noise has no faces; the person's head (top 22 % of its box) is the fallback region.
    assert regions.tolist() == [[300, 100, 340, 127]]
    out = writer.blur(img, _detections())
    head = (slice(100, 127), slice(300, 340))
    below = (slice(130, 220), slice(300, 340))
    assert out[head].std() < 0.5 * img[head].std()  # detail is gone
    assert np.array_equal(out[below], img[below])  # the rest of the person is untouched
    car = (slice(250, 330), slice(500, 600))
    assert np.array_equal(out[car], img[car])  # cars have no heads


def test_blur_can_be_switched_off(tmp_path: Path) -> None:
    img = _image()
    on = cv2.imread(EvidenceWriter(tmp_path / "on").save(_event(), img, (), _detections()))
    off = cv2.imread(
        EvidenceWriter(tmp_path / "off", blur_faces=False).save(_event(), img, (), _detections())
    )
    head = (slice(103, 125), slice(303, 337))  # inside the head region, off the drawn lines
    # Pixel-to-pixel detail (what identifies a face) is gone only where blurring is on.
    assert _detail(off[head]) > 4 * _detail(on[head])


def test_zones_and_event_boxes_are_drawn(tmp_path: Path) -> None:
    img = np.zeros((360, 640, 3), np.uint8)
    drawn = EvidenceWriter.draw(img.copy(), _event(), ZONES, _detections())
    # The event box edge is red, the polygon edge is amber, the line is drawn.
    assert tuple(drawn[160, 300]) == (0, 0, 255)
    assert drawn[200, 320].any()
    assert drawn[50, 150].any()
    assert drawn[5, 5].tolist() == [0, 0, 0] and drawn[0:18, :].any()  # header band


def test_face_cascade_rejects_noise_where_opencv_has_it(tmp_path: Path) -> None:
    cascade, why = load_face_cascade()
    if cascade is False:
        # OpenCV 5 wheels dropped the cascade: the writer must say so and still blur heads.
        writer = EvidenceWriter(tmp_path)
        assert len(writer.face_regions(_image(3), _detections())) == 1
        assert writer.face_detector == why and "OpenCV" in why
        pytest.skip(why)
    writer = EvidenceWriter(tmp_path)
    assert len(writer.face_regions(_image(3), None)) == 0
    assert writer.face_detector == "haar"


def test_bad_image_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="BGR uint8"):
        EvidenceWriter(tmp_path).save(_event(), np.zeros((10, 10), np.float32))
