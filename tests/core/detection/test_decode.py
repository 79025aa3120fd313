"""Decoders for both output layouts, metadata parsing, and class -> role mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridsight.core.detection.decode import (
    ClassRoleMapper,
    Decoder,
    OutputLayout,
    class_names_from_metadata,
    detect_layout,
    imgsz_from_metadata,
    parse_class_names,
)
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.preprocess import letterbox_geometry
from gridsight.core.detection.roles import Role
from gridsight.core.errors import ConfigError, ModelError

NAMES = {0: "person", 1: "car", 2: "dog"}


def yolov8_output(
    rows: list[tuple[float, float, float, float, int, float]], n: int = 20
) -> np.ndarray:
    """(1, 4 + 3, n) with the given (cx, cy, w, h, class, score) anchors, others near 0."""
    out = np.zeros((1, 7, n), np.float32)
    out[0, 4:] = 0.01
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
    return out


# ---------------------------------------------------------------------- layouts


def test_layout_detection() -> None:
    assert detect_layout((1, 84, 8400)) is OutputLayout.YOLOV8
    assert detect_layout((4, 10, 525), num_classes=6) is OutputLayout.YOLOV8
    assert detect_layout((1, 300, 6)) is OutputLayout.END2END
    assert detect_layout((1, 300, 6), num_classes=80) is OutputLayout.END2END
    assert detect_layout((1, 6, 2100), num_classes=2) is OutputLayout.YOLOV8
    for bad in [(1, 8400, 84), (1, 1000), (1, 3, 100), (2, 5, 5, 5)]:
        with pytest.raises(ModelError, match="cannot decode a model output of shape"):
            detect_layout(bad, num_classes=80)


def test_yolov8_decode_filters_converts_and_suppresses() -> None:
    out = yolov8_output(
        [
            (50, 50, 20, 40, 0, 0.9),  # person
            (51, 50, 20, 40, 0, 0.8),  # overlaps the first: suppressed
            (51, 50, 20, 40, 1, 0.7),  # same place but a car: kept (class-aware)
            (150, 100, 10, 10, 2, 0.25),  # exactly at the threshold: dropped (strict >)
            (150, 20, 10, 10, 2, 0.26),
        ]
    )
    (det,) = Decoder(NAMES).decode([out], None, conf=0.25, iou=0.45)
    assert det.class_id.tolist() == [0, 1, 2]
    np.testing.assert_allclose(det.confidence, [0.9, 0.7, 0.26], rtol=1e-6)
    np.testing.assert_allclose(det.xyxy[0], [40, 30, 60, 70])
    (agn,) = Decoder(NAMES, agnostic=True).decode([out], None, conf=0.25, iou=0.45)
    assert agn.class_id.tolist() == [0, 2]
    (top1,) = Decoder(NAMES).decode([out], None, conf=0.25, iou=0.45, max_det=1)
    assert len(top1) == 1 and top1.confidence[0] == pytest.approx(0.9)


def test_boxes_map_back_to_each_frame() -> None:
    out = np.concatenate([yolov8_output([(320, 320, 64, 32, 1, 0.9)])] * 2)
    infos = [
        letterbox_geometry((360, 640), (640, 640)),
        letterbox_geometry((1280, 640), (640, 640)),
    ]
    a, b = Decoder(NAMES).decode([out], infos)
    np.testing.assert_allclose(a.xyxy[0], [288, 164, 352, 196], atol=1e-4)  # pad top 140
    np.testing.assert_allclose(b.xyxy[0], [256, 608, 384, 672], atol=1e-4)  # x2, pad left 160
    with pytest.raises(ModelError, match="2 results for a batch of 1"):
        Decoder(NAMES).decode([out], infos[:1])


def test_end2end_decode_sorts_filters_and_caps() -> None:
    out = np.zeros((1, 10, 6), np.float32)
    out[0, :4] = [
        [10, 10, 20, 20, 0.3, 0],
        [30, 30, 40, 50, 0.9, 2],
        [0, 0, 5, 5, 0.1, 1],
        [1, 1, 9, 9, 0.6, 1],
    ]
    (det,) = Decoder(NAMES).decode([out], None, conf=0.25)
    assert det.class_id.tolist() == [2, 1, 0]
    np.testing.assert_allclose(det.confidence, [0.9, 0.6, 0.3], rtol=1e-6)
    np.testing.assert_allclose(det.xyxy[0], [30, 30, 40, 50])
    (capped,) = Decoder(NAMES).decode([out], None, conf=0.25, max_det=2)
    assert capped.class_id.tolist() == [2, 1]


def test_empty_outputs() -> None:
    (det,) = Decoder(NAMES).decode([yolov8_output([])], None)
    assert len(det) == 0
    (det,) = Decoder(NAMES).decode([np.zeros((1, 5, 6), np.float32)], None)
    assert len(det) == 0
    with pytest.raises(ModelError, match="no outputs"):
        Decoder(NAMES).decode([], None)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), conf=st.floats(0.05, 0.9))
def test_yolov8_decode_invariants(seed: int, n: int, conf: float) -> None:
    rng = np.random.default_rng(seed)
    out = np.zeros((1, 7, n), np.float32)
    out[0, :2] = rng.uniform(0, 640, (2, n))
    out[0, 2:4] = rng.uniform(1, 200, (2, n))
    out[0, 4:] = rng.random((3, n))
    (det,) = Decoder(NAMES).decode([out], None, conf=conf, iou=0.5)
    assert np.all(det.confidence > conf)
    assert np.all(np.diff(det.confidence) <= 0)  # sorted by score
    assert np.all(det.xyxy[:, 2] >= det.xyxy[:, 0]) and np.all(det.xyxy[:, 3] >= det.xyxy[:, 1])
    best = out[0, 4:].max(axis=0)
    assert len(det) <= int((best > conf).sum())
    if (best > conf).any():  # the single best candidate is always kept
        assert det.confidence[0] == pytest.approx(best.max())


# ---------------------------------------------------------------------- metadata


def test_names_in_every_form_exporters_write() -> None:
    expected = {0: "person", 1: "bicycle"}
    assert parse_class_names("{0: 'person', 1: 'bicycle'}") == expected  # Ultralytics
    assert parse_class_names('{"0": "person", "1": "bicycle"}') == expected  # JSON
    assert parse_class_names("['person', 'bicycle']") == expected
    assert parse_class_names(["person", "bicycle"]) == expected
    assert class_names_from_metadata({"names": "{0: 'person', 1: 'bicycle'}"}) == expected
    assert class_names_from_metadata({"author": "x"}) is None
    assert imgsz_from_metadata({"imgsz": "[384, 640]"}) == (384, 640)
    assert imgsz_from_metadata({"imgsz": "320"}) == (320, 320)
    assert imgsz_from_metadata({}) is None


MALICIOUS = [
    "__import__('os').system('touch MARKER')",
    "{0: __import__('os').system('touch MARKER')}",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "open('MARKER', 'w').write('x')",
    "(lambda: __import__('os').system('touch MARKER'))()",
    "{0: 'person', **{1: exec('import os')}}",
]


@pytest.mark.parametrize("template", MALICIOUS)
def test_metadata_code_is_rejected_never_run(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(ModelError, match="names"):
        parse_class_names(template.replace("MARKER", str(marker)))
    assert not marker.exists()


def test_malformed_names_are_model_errors() -> None:
    for bad in ["{0: 1}", "{'a': 'person'}", "{-1: 'x'}", "42", "{0: 'person'", "{True: 'x'}"]:
        with pytest.raises(ModelError):
            parse_class_names(bad)
    with pytest.raises(ModelError, match="limit"):
        parse_class_names("[" * 300_000)
    with pytest.raises(ModelError):
        imgsz_from_metadata({"imgsz": "[640, -1]"})


def test_decoder_names_from_config_or_metadata() -> None:
    assert Decoder.from_metadata({"names": "{0: 'a'}"}).class_names == {0: "a"}
    assert Decoder.from_metadata({"names": "{0: 'a'}"}, ["x", "y"]).class_names == {0: "x", 1: "y"}
    with pytest.raises(ModelError, match="no 'names' metadata"):
        Decoder.from_metadata({})


# ---------------------------------------------------------------------- roles


COCO_SOME = {
    0: "person",
    1: "bicycle",
    2: "car",
    3: "motorcycle",
    7: "truck",
    16: "dog",
    25: "umbrella",
}


def test_coco_classes_map_to_roles_and_dog_is_dropped() -> None:
    m = ClassRoleMapper(COCO_SOME)
    assert m.role_of(0) is Role.PERSON
    assert m.role_of(3) is Role.MOTORBIKE
    assert m.role_of(7) is Role.CAR
    assert m.role_of(25) is Role.STALL
    assert m.role_of(16) is None
    det = Detections(
        xyxy=np.tile([[0, 0, 10, 10]], (5, 1)),
        confidence=np.array([0.9, 0.8, 0.7, 0.6, 0.5]),
        class_id=np.array([16, 0, 7, 3, 99]),  # 99: not a class of the model
    )
    mapped = m.map(det)
    assert mapped.class_id.tolist() == [Role.PERSON, Role.CAR, Role.MOTORBIKE]
    assert mapped.data["model_class_id"].tolist() == [0, 7, 3]
    np.testing.assert_allclose(mapped.confidence, [0.8, 0.7, 0.6])


def test_overrides_by_name_and_id() -> None:
    m = ClassRoleMapper(COCO_SOME, {"motorcycle": "ebike", 25: "none", "DOG": "person"})
    assert m.role_of(3) is Role.EBIKE
    assert m.role_of(25) is None
    assert m.role_of(16) is Role.PERSON
    assert m.lookup[[0, 3, 16, 25]].tolist() == [0, 2, 0, -1]


def test_override_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="no class 'motorbyke'"):
        ClassRoleMapper(COCO_SOME, {"motorbyke": "ebike"})
    with pytest.raises(ConfigError, match="'boat' is not a role"):
        ClassRoleMapper(COCO_SOME, {"car": "boat"})
    with pytest.raises(ConfigError, match="class id 42"):
        ClassRoleMapper(COCO_SOME, {42: "car"})


def test_bundled_vocabulary_maps_one_to_one() -> None:
    names = {i: r.label for i, r in enumerate(Role)}
    m = ClassRoleMapper(names)
    assert [m.role_of(i) for i in names] == list(Role)
