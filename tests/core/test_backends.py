"""The backend base (input checks, chunking, timing), the onnxruntime and opencv
backends, model introspection and backend selection."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from gridsight.core.backends import (
    UnvalidatedBackendWarning,
    available_backends,
    select_backend,
)
from gridsight.core.backends.base import Backend
from gridsight.core.backends.chunking import run_in_chunks
from gridsight.core.backends.model_info import ModelInfo, TensorInfo, read_model_info
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
    calls.clear()
    (out,) = run_in_chunks(batch, 2, run, pad=False)  # a runtime's largest batch
    assert calls == [2, 2, 1]
    np.testing.assert_allclose(out, batch.sum(axis=(1, 2, 3)) * 2, rtol=1e-6)


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
    assert select_backend("auto", pm) is OnnxRuntimeBackend  # never the unvalidated tensorrt
    assert select_backend("opencv", pm) is OpenCVBackend


def test_auto_never_chooses_unvalidated_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a GPU host: TensorRT importable and a device present.
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: True))
    pm = _pm()
    assert available_backends(pm)[0] == "tensorrt"  # usable, and the highest priority
    assert TensorRTBackend.unvalidated and "never run on a real GPU" in TensorRTBackend.unvalidated
    assert select_backend("auto", pm) is OnnxRuntimeBackend
    with pytest.warns(UnvalidatedBackendWarning, match="'tensorrt' is unvalidated.*real GPU"):
        assert select_backend("tensorrt", pm) is TensorRTBackend


def test_validated_backends_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    select_backend("onnxruntime", _pm())
    select_backend("auto", _pm())
    assert not [w for w in recwarn if issubclass(w.category, UnvalidatedBackendWarning)]


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

    def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
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


class _UnvalidatedOnly:
    @hookimpl
    def gridsight_register_backends(self) -> list[type[Backend]]:
        return [_Unvalidated]


class _Unvalidated(_FastFake):
    name: ClassVar[str] = "shiny"
    unvalidated: ClassVar[str] = "never run on the hardware it is for"


def test_only_unvalidated_available_is_no_auto_backend() -> None:
    pm = build_plugin_manager(load_entrypoints=False, plugins=[_UnvalidatedOnly()])
    with pytest.raises(BackendUnavailableError, match=r"shiny only by name \(unvalidated\)"):
        select_backend("auto", pm)
    with pytest.warns(UnvalidatedBackendWarning, match="never run on the hardware"):
        assert select_backend("shiny", pm) is _Unvalidated


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


# ---------------------------------------------------------------------- the base


class _Recorder(Backend):
    """A backend whose "runtime" is numpy: the tiny model's math, recording each call."""

    name: ClassVar[str] = "recorder"

    def __init__(self, shape: tuple[int | None, ...], dtype: str = "float32") -> None:
        self.shape = shape
        self.dtype = dtype
        self.calls: list[tuple[int, ...]] = []

    @classmethod
    def is_available(cls) -> bool:
        return True

    def load(self, model_path: Path, **options: object) -> None:
        self.model_info = ModelInfo(
            path=model_path,
            inputs=(TensorInfo("images", self.shape, self.dtype),),
            outputs=(TensorInfo("output0", (self.shape[0], 6, 16)),),
        )

    def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
        self.calls.append(tuple(batch.shape))
        pooled = batch.reshape(batch.shape[0], 3, 4, 8, 4, 8).mean(axis=(3, 5))
        return [np.concatenate([pooled, pooled * 2], axis=1).reshape(-1, 6, 16)]


def _recorder(shape: tuple[int | None, ...], dtype: str = "float32") -> _Recorder:
    backend = _Recorder(shape, dtype)
    backend.load(Path("fake.onnx"))
    return backend


@pytest.mark.parametrize(
    ("batch", "problem"),
    [
        (np.zeros((2, 3, 64, 32), np.float32), "dim 2 is 64, the model's is 32"),
        (np.zeros((2, 1, 32, 32), np.float32), "dim 1 is 1, the model's is 3"),
        (np.zeros((3, 32, 32), np.float32), "3 dims instead of 4"),
        (np.zeros((0, 3, 32, 32), np.float32), "no frames"),
        (np.zeros((2, 3, 32, 32), np.float64), "dtype float64, the model's is float32"),
        (np.zeros((2, 3, 32, 32), np.uint8), "dtype uint8, the model's is float32"),
    ],
)
def test_mismatched_input_names_expected_and_got(batch: np.ndarray, problem: str) -> None:
    backend = _recorder((None, 3, 32, 32))
    with pytest.raises(ModelError) as err:
        backend.infer(batch)
    msg = str(err.value)
    assert "recorder backend model 'fake.onnx' input 'images'" in msg
    assert "expected (N, 3, 32, 32) float32" in msg
    assert f"got {tuple(batch.shape)} {batch.dtype}" in msg
    assert msg.endswith(problem)
    assert backend.calls == [] and backend.infer_calls == 0  # the runtime never saw it


def test_dynamic_dims_take_any_size() -> None:
    backend = _recorder((None, 3, None, None))
    (out,) = backend.infer(np.zeros((1, 3, 32, 32), np.float32))
    assert out.shape == (1, 6, 16)
    with pytest.raises(ModelError, match=r"expected \(N, 3, \?, \?\) float32"):
        backend.infer(np.zeros((1, 4, 32, 32), np.float32))


def test_the_real_backends_check_their_input(tiny_fixed2: Path) -> None:
    for cls in (OnnxRuntimeBackend, OpenCVBackend):
        with cls() as backend:
            backend.load(tiny_fixed2)
            with pytest.raises(ModelError, match=r"input 'images': expected \(N, 3, 32, 32\)"):
                backend.infer(np.zeros((2, 3, 32, 32), np.float64))


@pytest.mark.parametrize(
    ("shape", "max_batch", "calls"),
    [
        ((1, 3, 32, 32), None, [(1, 3, 32, 32)] * 5),
        ((2, 3, 32, 32), None, [(2, 3, 32, 32)] * 3),  # the last one padded
        ((4, 3, 32, 32), None, [(4, 3, 32, 32)] * 2),
        ((None, 3, 32, 32), 2, [(2, 3, 32, 32), (2, 3, 32, 32), (1, 3, 32, 32)]),
        ((None, 3, 32, 32), None, [(5, 3, 32, 32)]),
    ],
)
def test_chunking_gives_the_outputs_of_one_call(
    shape: tuple[int | None, ...], max_batch: int | None, calls: list[tuple[int, ...]]
) -> None:
    batch = _batch(5, seed=11)
    whole = _recorder((None, 3, 32, 32))
    (expected,) = whole.infer(batch)
    assert whole.calls == [(5, 3, 32, 32)]
    chunked = _recorder(shape)
    chunked.max_batch = max_batch
    (out,) = chunked.infer(batch)
    assert chunked.calls == calls
    assert out.shape == (5, 6, 16)
    np.testing.assert_array_equal(out, expected)


def test_infer_records_its_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridsight.core.backends import base

    clock = [100.0]  # a fake perf_counter: each runtime call takes exactly 0.25 s
    monkeypatch.setattr(base, "perf_counter", lambda: clock[0])

    class Slow(_Recorder):
        def _infer(self, batch: np.ndarray) -> list[np.ndarray]:
            clock[0] += 0.25
            return super()._infer(batch)

    backend = Slow((1, 3, 32, 32))
    backend.load(Path("fake.onnx"))
    assert (backend.infer_calls, backend.last_latency_s, backend.total_latency_s) == (0, 0.0, 0.0)
    backend.infer(_batch(2))  # two chunks of one frame: both inside the timed call
    assert (backend.infer_calls, backend.last_latency_s, backend.total_latency_s) == (1, 0.5, 0.5)
    backend.infer(_batch(1))
    assert (backend.infer_calls, backend.last_latency_s, backend.total_latency_s) == (2, 0.25, 0.75)
    with pytest.raises(ModelError):
        backend.infer(np.zeros((1, 3, 8, 8), np.float32))
    assert (backend.infer_calls, backend.total_latency_s) == (2, 0.75)  # rejected: not timed


def test_the_real_backends_record_latency(tiny_dynamic: Path) -> None:
    with OnnxRuntimeBackend() as backend:
        backend.load(tiny_dynamic)
        backend.infer(_batch(2))
        backend.infer(_batch(3))
        assert backend.infer_calls == 2
        assert 0 < backend.last_latency_s < backend.total_latency_s


def test_closed_backend_refuses_to_infer(tiny_dynamic: Path) -> None:
    for cls in (OnnxRuntimeBackend, OpenCVBackend):
        backend = cls()
        backend.load(tiny_dynamic)
        backend.close()
        with pytest.raises(ModelError, match=r"before load\(\) \(or after close\(\)\)"):
            backend.infer(_batch(1))
