"""docs/plugins.md: every example runs as printed, registered on a fresh plugin manager."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from gridsight.core.config.camera import CameraConfig
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.detector import Detector
from gridsight.core.detection.spec import resolve_model
from gridsight.core.engine.camera import CameraPipeline
from gridsight.core.hazards.runner import CameraHazards
from gridsight.core.hazards.zones import PolygonZone
from gridsight.core.plugins import (
    backends,
    build_plugin_manager,
    hazard_rules,
    notifiers,
    roles,
    trackers,
)

from .core._tiny_onnx import make_tiny_detector

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "yolo11n-160.onnx"


def example(name: str, folder: Path) -> ModuleType:
    """The guide's ``# example: <name>`` block, imported as a module from ``folder``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    found = [b for b in blocks if b.splitlines()[0].strip() == f"# example: {name}"]
    assert len(found) == 1, f"docs/plugins.md has {len(found)} '{name}' examples"
    path = folder / f"guide_{name}.py"
    path.write_text(found[0])
    spec = importlib.util.spec_from_file_location(f"guide_{name}_{folder.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_rule_example(tmp_path: Path) -> None:
    mod = example("rule", tmp_path)
    pm = build_plugin_manager(load_entrypoints=False, plugins=[mod])
    rule_cls = hazard_rules(pm)["guide_smoking"]
    zone = PolygonZone("platform", [[0, 100], [200, 100], [200, 200], [0, 200]])
    cam = CameraHazards.from_config(
        "c",
        "v",
        "g",
        {"platform": zone},
        {"guide_smoking": {"zone": "platform"}},
        {"guide_smoking": rule_cls},
        anchor="center",
    )
    rule = cam.rules[0]
    dets = Detections(
        xyxy=[[10, 60, 30, 140], [50, 120, 70, 180], [90, 120, 110, 180]],
        confidence=[0.9, 0.2, 0.8],
        class_id=[0, 0, 4],  # person (centre in zone), person too unsure, car
        tracker_id=[1, 2, 3],
    )
    from gridsight.core.hazards.zones import ANCHOR_DATA_KEY

    dets.data[ANCHOR_DATA_KEY] = dets.anchors("center")
    seen = rule.observe(0.0, dets)
    assert seen.active and seen.confidence == pytest.approx(0.9)
    assert not rule.observe(0.0, dets[[1, 2]]).active


def test_the_detector_example(tmp_path: Path) -> None:
    mod = example("detector", tmp_path)
    make_tiny_detector(tmp_path / "dogs.onnx", names="{0: 'person', 1: 'dog'}")
    pm = build_plugin_manager(load_entrypoints=False, plugins=[mod])
    assert "guide_dog" in roles(pm)
    path, spec = resolve_model("guide-dogs", pm)
    assert spec is not None and path == tmp_path / "dogs.onnx"
    with Detector.from_spec(spec, pm=build_plugin_manager()) as det:
        assert det.conf == 0.2 and det.class_names == {0: "person", 1: "dog"}
        from gridsight import role_id

        assert det.mapper.role_of(1) == role_id("guide_dog")


def test_the_backend_example(tmp_path: Path) -> None:
    mod = example("backend", tmp_path)
    pm = build_plugin_manager(plugins=[mod])
    assert "guide-ort-1thread" in backends(pm)
    with np.load(FIXTURE.with_suffix(".npz")) as ref:
        frame = ref["image0"]
    with (
        Detector(FIXTURE, backend="guide-ort-1thread", pm=pm) as mine,
        Detector(FIXTURE, backend="onnxruntime", pm=pm) as builtin,
    ):
        assert mine.backend_name == "guide-ort-1thread"
        a, b = mine.detect_model_classes([frame])[0], builtin.detect_model_classes([frame])[0]
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)


def test_the_tracker_example(tmp_path: Path) -> None:
    mod = example("tracker", tmp_path)
    pm = build_plugin_manager(load_entrypoints=False, plugins=[mod])
    assert "guide-naive" in trackers(pm)
    cam = CameraConfig.model_validate(
        {
            "id": "c",
            "name": "c",
            "village": "v",
            "grid": "v-g01",
            "source": "x.mp4",
            "resolution": [640, 360],
            "tracker": "guide-naive",
            "tracker_settings": {"start_id": 100},
        }
    )
    pipe = CameraPipeline(cam, {})
    out = pipe.track(0.0, Detections(xyxy=[[0, 0, 5, 5]], confidence=[0.9], class_id=[0]))
    assert out.tracker_id is not None and out.tracker_id.tolist() == [100]


def test_the_notifier_example(tmp_path: Path) -> None:
    mod = example("notifier", tmp_path)
    pm = build_plugin_manager(plugins=[mod])
    assert "guide-memo" in notifiers(pm)
    from gridsight.orders.notify.base import notifier_for_url

    notifier = notifier_for_url("memo://ops", pm)
    notifier.send({"type": "test"}, key="k1")
    assert mod.SENT == [("k1", {"type": "test"})]


def test_every_example_in_the_guide_is_tested() -> None:
    names = re.findall(r"^# example: (\w+)$", GUIDE.read_text(), flags=re.M)
    assert sorted(names) == ["backend", "detector", "notifier", "rule", "tracker"]
