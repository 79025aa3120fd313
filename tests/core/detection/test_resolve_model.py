"""The one way to find a model: registered detectors first (through the plugins), else a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridsight.core.detection.spec import DetectorSpec, resolve_model
from gridsight.core.errors import ModelError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager


class _Detectors:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def gridsight_register_detectors(self) -> list[DetectorSpec]:
        return [DetectorSpec(name="mine", path=self.path, class_names=("person",))]


def test_a_registered_name_gives_its_spec(tmp_path: Path) -> None:
    onnx = tmp_path / "mine.onnx"
    onnx.write_bytes(b"\0")
    pm = build_plugin_manager(plugins=[_Detectors(onnx)])
    path, spec = resolve_model("mine", pm)
    assert path == onnx and spec is not None and spec.class_names == ("person",)


def test_none_is_the_bundled_detector_of_the_builtin_plugin() -> None:
    pm = build_plugin_manager()
    try:
        path, spec = resolve_model(None, pm)
    except ModelError as exc:  # a checkout without the trained model
        assert "detector 'bundled' is registered but its file" in str(exc)
        return
    assert spec is not None and spec.name == "bundled" and path.is_file()


def test_a_path_is_a_path_and_anything_else_is_named(tmp_path: Path) -> None:
    pm = build_plugin_manager(plugins=[_Detectors(tmp_path / "mine.onnx")])
    assert resolve_model(tmp_path / "other.onnx", pm) == (tmp_path / "other.onnx", None)
    with pytest.raises(ModelError, match=r"'yolo' is neither a registered detector \(.*mine"):
        resolve_model("yolo", pm)
    with pytest.raises(ModelError, match=r"'mine' is registered but its file .* is missing"):
        resolve_model("mine", pm)
