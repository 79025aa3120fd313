"""The onnxruntime and opencv backends, model introspection and backend selection."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from gridsight.core.backends import available_backends, select_backend
from gridsight.core.backends.base import Backend
from gridsight.core.backends.batching import run_in_chunks
from gridsight.core.backends.model_info import read_model_info
from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from gridsight.core.backends.opencv_backend import OpenCVBackend
from gridsight.core.backends.tensorrt_backend import TensorRTBackend
from gridsight.core.errors import BackendUnavailableError, ModelError
from gridsight.core.hookspecs import hookimpl
from gridsight.core.plugins import build_plugin_manager

from ._tiny_onnx import make_tiny_detector

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def tiny_dynamic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("m") / "tiny_dyn.onnx")


@pytest.fixture(scope="module")
def tiny_fixed1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("m") / "tiny_b1.onnx", batch=1)


@pytest.fixture(scope="module")
def tiny_fixed2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("m") / "tiny_b2.onnx", batch=2)


def _batch(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, 32, 32), dtype=np.float32)


def _reference(batch: np.ndarray, path: Path) -> np.ndarray:
    """The tiny model's output computed with numpy from its own weights."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    pooled = batch.reshape(batch.shape[0], 3, 4, 8, 4, 8).mean(axis=(3, 5))
    conv = (
        np.einsum("oc,nchw->nohw", init["W"][:, :, 0, 0], pooled) + init["B"][None, :, None, None]
    )
    return conv.reshape(batch.shape[0], 6, 16)


# ---------------------------------------------------------------------- model info


def test_model_info_reads_shapes_and_metadata(tiny_dynamic: Path, tiny_fixed1: Path) -> None:
    info = read_model_info(tiny_dynamic)
    assert info.input.name == "images"
    assert info.input.shape == (None, 3, 32, 32)
    assert info.fixed_batch is None
    assert info.input_hw == (32, 32)
    assert [t.name for t in info.outputs] == ["output0"]
    assert info.metadata["names"] == "{0: 'person', 1: 'dog'}"
    assert read_model_info(tiny_fixed1).fixed_batch == 1


def test_missing_and_corrupt_models_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_model_info(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match=r"bad\.onnx"):
        read_model_info(bad)
    with pytest.raises(ModelError):
        OnnxRuntimeBackend().load(bad)
    with pytest.raises(ModelError):
        OpenCVBackend().load(bad)


# ---------------------------------------------------------------------- backends


@pytest.mark.parametrize("backend_cls", [OnnxRuntimeBackend, OpenCVBackend])
def test_backend_matches_numpy_reference(backend_cls: type[Backend], tiny_dynamic: Path) -> None:
    batch = _batch(3)
    with backend_cls() as backend:
        backend.load(tiny_dynamic)
        (out,) = backend.infer(batch)
    np.testing.assert_allclose(out, _reference(batch, tiny_dynamic), rtol=1e-5, atol=1e-5)


def test_onnxruntime_and_opencv_agree(tiny_dynamic: Path, tiny_fixed1: Path) -> None:
    batch = _batch(4, seed=7)
    outs = []
    for cls, path in ((OnnxRuntimeBackend, tiny_dynamic), (OpenCVBackend, tiny_fixed1)):
        with cls() as backend:
            backend.load(path)
            outs.append(backend.infer(batch)[0])
    assert outs[0].shape == outs[1].shape == (4, 6, 16)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend_cls", [OnnxRuntimeBackend, OpenCVBackend])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_fixed_batch_models_run_any_batch(
    backend_cls: type[Backend], n: int, tiny_fixed1: Path, tiny_fixed2: Path
) -> None:
    batch = _batch(n, seed=n)
    expected = _reference(batch, tiny_fixed1)
    for path in (tiny_fixed1, tiny_fixed2):
        with backend_cls() as backend:
            backend.load(path)
            (out,) = backend.infer(batch)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_run_in_chunks_pads_and_trims() -> None:
    calls: list[int] = []

    def run(chunk: np.ndarray) -> list[np.ndarray]:
        calls.append(chunk.shape[0])
        return [chunk.sum(axis=(1, 2, 3)) * 2]

    batch = _batch(5)
    (out,) = run_in_chunks(batch, 2, run)
    assert calls == [2, 2, 2]  # the last chunk is padded to the model's batch
    np.testing.assert_allclose(out, batch.sum(axis=(1, 2, 3)) * 2, rtol=1e-6)
    (out,) = run_in_chunks(batch, None, run)
    assert calls[-1] == 5


def test_onnxruntime_options(tiny_dynamic: Path) -> None:
    backend = OnnxRuntimeBackend()
    backend.load(
        tiny_dynamic,
        intra_op_threads=1,
        inter_op_threads=1,
        graph_optimization="basic",
        allow_spinning=False,
    )
    assert backend.providers == ["CPUExecutionProvider"]
    with pytest.raises(BackendUnavailableError, match="graph_optimization"):
        OnnxRuntimeBackend().load(tiny_dynamic, graph_optimization="max")
    with pytest.raises(BackendUnavailableError, match="unknown options"):
        OnnxRuntimeBackend().load(tiny_dynamic, threads=2)
    with pytest.raises(BackendUnavailableError, match="none of the providers"):
        OnnxRuntimeBackend().load(tiny_dynamic, providers=["NoSuchExecutionProvider"])


def test_infer_before_load_is_an_error() -> None:
    with pytest.raises(ModelError, match="before load"):
        OnnxRuntimeBackend().infer(_batch(1))
    with pytest.raises(ModelError, match="before load"):
        OpenCVBackend().infer(_batch(1))


def test_opencv_rejects_unknown_target(tiny_dynamic: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="target"):
        OpenCVBackend().load(tiny_dynamic, target="tpu")


# ---------------------------------------------------------------------- selection


def _pm(*extra: object):  # type: ignore[no-untyped-def]
    import gridsight.plugins.backends as builtin

    return build_plugin_manager(load_entrypoints=False, plugins=[builtin, *extra])


def test_auto_picks_best_available() -> None:
    pm = _pm()
    names = available_backends(pm)
    assert names[:2] == (
        ["tensorrt", "onnxruntime"] if TensorRTBackend.is_available() else ["onnxruntime", "opencv"]
    )
    assert select_backend("auto", pm).name == names[0]
    assert select_backend("opencv", pm) is OpenCVBackend


def test_unknown_backend_lists_available() -> None:
    with pytest.raises(BackendUnavailableError) as err:
        select_backend("openvino", _pm())
    assert "openvino" in str(err.value)
    assert "onnxruntime" in str(err.value) and "opencv" in str(err.value)


@pytest.mark.skipif(TensorRTBackend.is_available(), reason="TensorRT is usable here")
def test_tensorrt_unavailable_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailableError, match="'tensorrt' is not available") as err:
        select_backend("tensorrt", _pm())
    assert "onnxruntime" in str(err.value)


class _FastFake(Backend):
    name: ClassVar[str] = "fastfake"
    priority: ClassVar[int] = 100

    @classmethod
    def is_available(cls) -> bool:
        return True

    def load(self, model_path: Path, **options: object) -> None:
        pass

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        return [batch]


class _Broken(_FastFake):
    name: ClassVar[str] = "broken"
    priority: ClassVar[int] = 200

    @classmethod
    def is_available(cls) -> bool:
        raise RuntimeError("driver exploded")


class _FakePlugin:
    @hookimpl
    def gridsight_register_backends(self) -> list[type[Backend]]:
        return [_FastFake, _Broken]


def test_plugin_backend_is_selectable_and_broken_ones_are_skipped() -> None:
    pm = _pm(_FakePlugin())
    assert select_backend("auto", pm) is _FastFake  # priority 100 beats onnxruntime; broken skipped
    assert "broken" not in available_backends(pm)
    with pytest.raises(BackendUnavailableError, match="'broken' is not available"):
        select_backend("broken", pm)


def test_nothing_available() -> None:
    pm = build_plugin_manager(load_entrypoints=False)
    with pytest.raises(BackendUnavailableError, match="no inference backend"):
        select_backend("auto", pm)


def test_opencv_runs_the_bundled_model_on_a_batch() -> None:
    # The bundled model adds anchor grids to a dynamic batch: OpenCV 4's dnn cannot
    # broadcast them over batch > 1, so the backend must still return every frame.
    from gridsight.models import bundled_model_path

    batch = np.random.default_rng(3).random((3, 3, 224, 384), dtype=np.float32)
    outs = []
    for cls in (OnnxRuntimeBackend, OpenCVBackend):
        with cls() as backend:
            backend.load(bundled_model_path())
            outs.append(backend.infer(batch)[0])
    assert outs[0].shape == outs[1].shape == (3, 10, outs[0].shape[2])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-3, atol=1e-3)
