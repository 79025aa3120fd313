"""The TensorRT backend without TensorRT: cache keys, errors, and its control flow.

The backend's build / cache / buffer / stream logic runs here against small fakes of
the TensorRT 10 and cuda-python APIs (the fakes keep "device" memory in host buffers
and count allocations), so a mistake in that logic fails on every machine. The fakes
are at least as strict as the real APIs where a mistake would pass silently otherwise:

* ``cudaStreamCreate`` returns a stream *object* (as cuda-python's ``cudaStream_t``),
  not an int, and ``execute_async_v3`` rejects anything but the integer handle of a
  live stream (the real binding is typed ``stream_handle: int``; whether it also
  takes a stream object depends on the versions, so the fake, like the backend,
  relies on nothing but the int);
* copies and kernels are queued on the stream and run only at
  ``cudaStreamSynchronize``: reading a host buffer before it sees stale bytes;
* whether the GPU has fast FP16 is a setting (:func:`gpu_fast_fp16`).

The real thing runs in the ``gpu`` test at the end, which skips where there is no
GPU. Until it has passed on one, the backend is labelled unvalidated.
"""

from __future__ import annotations

import ctypes
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from gridsight.core.backends import tensorrt_backend as trt_mod
from gridsight.core.backends.tensorrt_backend import (
    EngineKey,
    ShapeProfile,
    TensorRTBackend,
    cuda_check,
    engine_cache_path,
)
from gridsight.core.errors import BackendUnavailableError, ModelError

from ._tiny_onnx import make_tiny_detector

pytest.importorskip("onnx")

# ---------------------------------------------------------------------- cache key

KEY = EngineKey(
    model_sha256="ab" * 32,
    precision="fp16",
    profile=ShapeProfile(1, 8, 16, 3, 640, 640),
    trt_version="10.3.0",
    gpu_name="NVIDIA H200",
    compute_capability="9.0",
)


def test_cache_key_is_stable_and_covers_every_field() -> None:
    assert KEY.digest() == replace(KEY).digest()
    assert len(KEY.digest()) == 32
    variants = [
        replace(KEY, model_sha256="cd" * 32),
        replace(KEY, precision="fp32"),
        replace(KEY, profile=ShapeProfile(1, 8, 32, 3, 640, 640)),
        replace(KEY, profile=ShapeProfile(1, 4, 16, 3, 640, 640)),
        replace(KEY, profile=ShapeProfile(1, 8, 16, 3, 320, 640)),
        replace(KEY, trt_version="10.4.0"),
        replace(KEY, gpu_name="NVIDIA L4"),
        replace(KEY, compute_capability="8.9"),
    ]
    digests = {v.digest() for v in variants}
    assert len(digests) == len(variants) and KEY.digest() not in digests


def test_cache_path_names_model_and_key(tmp_path: Path) -> None:
    path = engine_cache_path(tmp_path, Path("/models/yolo11n.onnx"), KEY)
    assert path.parent == tmp_path
    assert path.name == f"yolo11n-{KEY.digest()}.engine"


def test_default_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDSIGHT_CACHE_DIR", str(tmp_path))
    assert trt_mod.default_cache_dir() == tmp_path / "tensorrt"


# ---------------------------------------------------------------------- fakes


class FakeError(enum.Enum):
    cudaSuccess = 0
    cudaErrorMemoryAllocation = 2
    cudaErrorNoDevice = 100


@dataclass
class FakeProps:
    name: bytes = b"Fake GPU 9000\x00\x00\x00"
    major: int = 9
    minor: int = 0


class FakeStream:
    """A CUDA stream as cuda-python returns it: an object that ``int()`` turns into the
    raw handle, and that is not itself an int."""

    def __init__(self, handle: int) -> None:
        self._handle = handle

    def __int__(self) -> int:
        return self._handle

    def __repr__(self) -> str:
        return f"<FakeStream {self._handle:#x}>"


class FakeCudart:
    """cuda-python's runtime API as the backend uses it; memory is real host memory.

    Work on a stream (copies, kernels) is queued and runs, in order, only when the
    stream is synchronised, as on a GPU where ``cudaMemcpyAsync`` returns before the
    bytes have moved.
    """

    cudaError_t = FakeError

    class cudaMemcpyKind(enum.Enum):
        cudaMemcpyHostToDevice = 1
        cudaMemcpyDeviceToHost = 2

    def __init__(self, devices: int = 1, fail: str = "") -> None:
        self.devices = devices
        self.fail = fail
        self.device: dict[int, Any] = {}
        self.host: dict[int, Any] = {}
        self.streams: dict[int, list[Callable[[], None]]] = {}  # handle -> queued work
        self.copies: list[tuple[str, int]] = []
        self.gpu_name = b"Fake GPU 9000\x00\x00\x00"
        self._next_stream = 0x7F3A00

    def _r(self, call: str, *values: Any) -> tuple[Any, ...]:
        if call == self.fail:
            return (FakeError.cudaErrorMemoryAllocation, *(None for _ in values))
        return (FakeError.cudaSuccess, *values)

    def cudaGetErrorString(self, err: FakeError) -> tuple[Any, bytes]:
        return FakeError.cudaSuccess, b"out of memory"

    def cudaGetDeviceCount(self) -> tuple[Any, ...]:
        return self._r("cudaGetDeviceCount", self.devices)

    def cudaSetDevice(self, device: int) -> tuple[Any, ...]:
        if device >= self.devices:
            return (FakeError.cudaErrorNoDevice,)
        return self._r("cudaSetDevice")

    def cudaGetDeviceProperties(self, device: int) -> tuple[Any, ...]:
        return self._r("cudaGetDeviceProperties", FakeProps(name=self.gpu_name))

    def _alloc(self, table: dict[int, Any], call: str, nbytes: int) -> tuple[Any, ...]:
        if call == self.fail:
            return (FakeError.cudaErrorMemoryAllocation, 0)
        buf = ctypes.create_string_buffer(nbytes)
        table[ctypes.addressof(buf)] = buf
        return FakeError.cudaSuccess, ctypes.addressof(buf)

    def cudaMalloc(self, nbytes: int) -> tuple[Any, ...]:
        return self._alloc(self.device, "cudaMalloc", nbytes)

    def cudaMallocHost(self, nbytes: int) -> tuple[Any, ...]:
        return self._alloc(self.host, "cudaMallocHost", nbytes)

    def cudaFree(self, ptr: int) -> tuple[Any, ...]:
        self.device.pop(ptr)
        return self._r("cudaFree")

    def cudaFreeHost(self, ptr: int) -> tuple[Any, ...]:
        self.host.pop(ptr)
        return self._r("cudaFreeHost")

    def queue(self, stream: Any) -> list[Callable[[], None]]:
        """The work queued on a live stream (cuda-python takes the object or its int)."""
        if isinstance(stream, bool) or not isinstance(stream, int | FakeStream):
            raise TypeError(f"expected a cudaStream_t or int, got {type(stream).__name__}")
        handle = int(stream)
        if handle not in self.streams:
            raise AssertionError(f"stream {handle:#x} is not a live stream")
        return self.streams[handle]

    def cudaStreamCreate(self) -> tuple[Any, ...]:
        self._next_stream += 0x100
        stream = FakeStream(self._next_stream)
        self.streams[int(stream)] = []
        return self._r("cudaStreamCreate", stream)

    def cudaStreamDestroy(self, stream: Any) -> tuple[Any, ...]:
        if self.queue(stream):
            raise AssertionError("stream destroyed with work still queued on it")
        del self.streams[int(stream)]
        return self._r("cudaStreamDestroy")

    def cudaStreamSynchronize(self, stream: Any) -> tuple[Any, ...]:
        work = self.queue(stream)
        while work:
            work.pop(0)()
        return self._r("cudaStreamSynchronize")

    def cudaMemcpyAsync(
        self, dst: int, src: int, n: int, kind: Any, stream: Any
    ) -> tuple[Any, ...]:
        to_device = kind is self.cudaMemcpyKind.cudaMemcpyHostToDevice
        dst_table, src_table = (self.device, self.host) if to_device else (self.host, self.device)
        for ptr, table, what in ((dst, dst_table, "destination"), (src, src_table, "source")):
            buf = table.get(ptr)
            if buf is None or n > ctypes.sizeof(buf):
                raise AssertionError(f"{kind.name}: {what} {ptr:#x} is not a {n}-byte buffer")
        self.queue(stream).append(lambda: ctypes.memmove(dst, src, n))
        self.copies.append((kind.name, n))
        return self._r("cudaMemcpyAsync")


def tiny_math(x: np.ndarray) -> np.ndarray:
    """What the fake engine computes: (n, 3, 32, 32) -> (n, 6, 16)."""
    pooled = x.reshape(x.shape[0], 3, 4, 8, 4, 8).mean(axis=(3, 5))
    return np.concatenate([pooled, pooled * 2.0], axis=1).reshape(x.shape[0], 6, 16)


class FakeTRT:
    """The slice of the TensorRT 10 Python API the backend uses."""

    __version__ = "10.3.0"
    builds: ClassVar[list[dict[str, Any]]] = []

    class Logger:
        WARNING = 2

        def __init__(self, severity: int) -> None:
            self.severity = severity

    class TensorIOMode(enum.Enum):
        INPUT = 1
        OUTPUT = 2

    class MemoryPoolType(enum.Enum):
        WORKSPACE = 0

    class BuilderFlag(enum.Enum):
        FP16 = 0

    class DataType(enum.Enum):
        FLOAT = 0

    @staticmethod
    def nptype(dtype: Any) -> type:
        return np.float32

    class _Tensor:
        def __init__(self, name: str) -> None:
            self.name = name

    class _Network:
        def __init__(self) -> None:
            self.inputs: list[Any] = []

        def get_input(self, i: int) -> Any:
            return self.inputs[i]

    class OnnxParser:
        def __init__(self, network: Any, logger: Any) -> None:
            self.network = network
            self.errors: list[str] = []

        def parse(self, data: bytes) -> bool:
            if b"images" not in data:
                self.errors = ["In node 0: unsupported operator Foo"]
                return False
            self.network.inputs = [FakeTRT._Tensor("images")]
            return True

        @property
        def num_errors(self) -> int:
            return len(self.errors)

        def get_error(self, i: int) -> str:
            return self.errors[i]

    class _Profile:
        def __init__(self) -> None:
            self.shapes: dict[str, Any] = {}

        def set_shape(self, name: str, lo: Any, opt: Any, hi: Any) -> None:
            self.shapes[name] = [list(lo), list(opt), list(hi)]

    class _Config:
        def __init__(self) -> None:
            self.flags: set[str] = set()
            self.pool: dict[str, int] = {}
            self.profiles: list[Any] = []

        def set_memory_pool_limit(self, pool: Any, size: int) -> None:
            self.pool[pool.name] = size

        def set_flag(self, flag: Any) -> None:
            self.flags.add(flag.name)

        def add_optimization_profile(self, profile: Any) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

    #: The fake cuda-python runtime, whose streams the execution context queues work on.
    cudart: ClassVar[FakeCudart]

    class Builder:
        #: Set per test with :func:`gpu_fast_fp16`: whether the GPU has fast FP16.
        platform_has_fast_fp16: ClassVar[bool] = True

        def __init__(self, logger: Any) -> None:
            pass

        def create_network(self, flags: int) -> Any:
            return FakeTRT._Network()

        def create_builder_config(self) -> Any:
            return FakeTRT._Config()

        def create_optimization_profile(self) -> Any:
            return FakeTRT._Profile()

        def build_serialized_network(self, network: Any, config: Any) -> bytes:
            plan = {
                "magic": "fake-engine",
                "fp16": "FP16" in config.flags,
                "workspace": config.pool["WORKSPACE"],
                "profile": config.profiles[0].shapes["images"],
            }
            FakeTRT.builds.append(plan)
            return json.dumps(plan).encode()

    class Runtime:
        def __init__(self, logger: Any) -> None:
            pass

        def deserialize_cuda_engine(self, data: bytes) -> Any:
            try:
                plan = json.loads(data)
            except ValueError:
                return None
            return FakeTRT._Engine(plan) if plan.get("magic") == "fake-engine" else None

    class _Engine:
        num_io_tensors = 2

        def __init__(self, plan: dict[str, Any]) -> None:
            self.plan = plan

        def get_tensor_name(self, i: int) -> str:
            return ["images", "output0"][i]

        def get_tensor_mode(self, name: str) -> Any:
            return FakeTRT.TensorIOMode.INPUT if name == "images" else FakeTRT.TensorIOMode.OUTPUT

        def get_tensor_dtype(self, name: str) -> Any:
            return FakeTRT.DataType.FLOAT

        def create_execution_context(self) -> Any:
            return FakeTRT._Context(self.plan["profile"])

    class _Context:
        def __init__(self, profile: list[list[int]]) -> None:
            self.lo, _, self.hi = profile
            self.shape: tuple[int, ...] = ()
            self.addr: dict[str, int] = {}

        def set_input_shape(self, name: str, shape: Any) -> bool:
            shape = tuple(shape)
            if not all(lo <= s <= hi for lo, s, hi in zip(self.lo, shape, self.hi, strict=True)):
                return False
            self.shape = shape
            return True

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return self.shape if name == "images" else (self.shape[0], 6, 16)

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            self.addr[name] = ptr
            return True

        def execute_async_v3(self, stream_handle: Any) -> bool:
            # The real binding is typed ``stream_handle: int``: accept only that.
            if isinstance(stream_handle, bool) or not isinstance(stream_handle, int):
                raise TypeError(
                    "execute_async_v3(): incompatible function arguments; expected "
                    f"stream_handle: int, got {type(stream_handle).__name__}"
                )
            shape, src, dst = self.shape, self.addr["images"], self.addr["output0"]

            def kernel() -> None:  # reads the input when the stream gets to it
                n = int(np.prod(shape))
                x = np.frombuffer((ctypes.c_float * n).from_address(src), np.float32)
                y = tiny_math(x.reshape(shape)).astype(np.float32)
                ctypes.memmove(dst, y.ctypes.data, y.nbytes)

            FakeTRT.cudart.queue(stream_handle).append(kernel)
            return True


def gpu_fast_fp16(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    """Make the fake GPU one with (or without) fast FP16 for the rest of the test."""
    monkeypatch.setattr(FakeTRT.Builder, "platform_has_fast_fp16", fast)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> tuple[type[FakeTRT], FakeCudart]:
    cudart = FakeCudart()
    FakeTRT.builds = []
    monkeypatch.setattr(FakeTRT, "__version__", "10.3.0")
    monkeypatch.setattr(FakeTRT, "cudart", cudart, raising=False)
    gpu_fast_fp16(monkeypatch, True)
    monkeypatch.setattr(trt_mod, "_import_tensorrt", lambda: FakeTRT)
    monkeypatch.setattr(trt_mod, "_import_cudart", lambda: cudart)
    return FakeTRT, cudart


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("trt") / "tiny.onnx")


@pytest.fixture(scope="module")
def tiny_b2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_detector(tmp_path_factory.mktemp("trt") / "tiny_b2.onnx", batch=2)


# ---------------------------------------------------------------------- with fakes


def test_build_cache_infer_close(fakes: Any, tiny: Path, tmp_path: Path) -> None:
    trt, cudart = fakes
    backend = TensorRTBackend()
    backend.load(tiny, max_batch=4, cache_dir=tmp_path)
    assert backend.built and backend.engine_path is not None and backend.engine_path.is_file()
    assert json.loads(backend.engine_path.with_suffix(".json").read_text())["gpu_name"] == (
        "Fake GPU 9000"
    )
    plan = trt.builds[-1]
    assert plan["fp16"] is True  # "auto" and the platform has fast FP16
    assert plan["profile"] == [[1, 3, 32, 32], [4, 3, 32, 32], [4, 3, 32, 32]]
    assert plan["workspace"] == 1024 << 20

    batch = np.random.default_rng(0).random((6, 3, 32, 32), dtype=np.float32)
    (out,) = backend.infer(batch)  # 6 frames through a max-batch-4 profile: 4 + 2
    np.testing.assert_allclose(out, tiny_math(batch), rtol=1e-6)
    h2d = [n for kind, n in cudart.copies if kind == "cudaMemcpyHostToDevice"]
    assert h2d == [4 * 3 * 32 * 32 * 4, 2 * 3 * 32 * 32 * 4]
    assert len(cudart.device) == 2 and len(cudart.host) == 2
    backend.close()
    assert cudart.device == {} and cudart.host == {} and cudart.streams == {}

    again = TensorRTBackend()
    again.load(tiny, max_batch=4, cache_dir=tmp_path)
    assert not again.built and len(trt.builds) == 1  # read from the cache
    np.testing.assert_allclose(again.infer(batch[:1])[0], tiny_math(batch[:1]), rtol=1e-6)
    again.close()


def test_any_key_change_rebuilds(
    fakes: Any, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trt, cudart = fakes

    def load(**kw: Any) -> TensorRTBackend:
        b = TensorRTBackend()
        b.load(kw.pop("model", tiny), cache_dir=tmp_path, **kw)
        b.close()
        return b

    first = load(max_batch=4)
    assert first.built
    assert not load(max_batch=4).built
    assert load(max_batch=4, precision="fp32").built
    assert trt.builds[-1]["fp16"] is False
    assert load(max_batch=8).built
    monkeypatch.setattr(FakeTRT, "__version__", "10.4.1")
    assert load(max_batch=4).built
    cudart.gpu_name = b"Other GPU\x00"
    assert load(max_batch=4).built
    changed = tmp_path / "tiny_changed.onnx"
    make_tiny_detector(changed, seed=5)  # same interface, other weights
    assert load(model=changed, max_batch=4).built
    assert len(trt.builds) == 6


def test_corrupt_cached_engine_is_rebuilt(fakes: Any, tiny: Path, tmp_path: Path) -> None:
    b = TensorRTBackend()
    b.load(tiny, max_batch=2, cache_dir=tmp_path)
    b.close()
    assert b.engine_path is not None
    b.engine_path.write_bytes(b"truncated")
    again = TensorRTBackend()
    again.load(tiny, max_batch=2, cache_dir=tmp_path)
    assert again.built
    again.close()


def test_fixed_batch_engine_pads(fakes: Any, tiny_b2: Path, tmp_path: Path) -> None:
    trt, _ = fakes
    b = TensorRTBackend()
    b.load(tiny_b2, max_batch=16, cache_dir=tmp_path)
    assert trt.builds[-1]["profile"] == [[2, 3, 32, 32]] * 3
    batch = np.random.default_rng(1).random((3, 3, 32, 32), dtype=np.float32)
    np.testing.assert_allclose(b.infer(batch)[0], tiny_math(batch), rtol=1e-6)
    with pytest.raises(
        ModelError,
        match=r"input 'images': expected \(N, 3, 32, 32\) float32, got \(1, 3, 64, 64\) float32",
    ):
        b.infer(np.zeros((1, 3, 64, 64), np.float32))
    b.close()


def test_engine_input_is_the_profile_not_the_onnx_file(
    fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model with dynamic height/width: the engine is built for one size only, so
    # infer checks against the profile's size, not the file's (N, 3, ?, ?).
    path = make_tiny_detector(tmp_path / "tiny.onnx")
    real_read = trt_mod.read_model_info

    def dynamic_hw(p: Path) -> Any:
        info = real_read(p)
        tensor = replace(info.input, shape=(None, 3, None, None))
        return replace(info, inputs=(tensor,))

    monkeypatch.setattr(trt_mod, "read_model_info", dynamic_hw)
    b = TensorRTBackend()
    b.load(path, max_batch=2, cache_dir=tmp_path)  # the size from the 'imgsz' metadata
    assert b.input_metadata().shape == (None, 3, 32, 32) and b.max_batch == 2
    with pytest.raises(ModelError, match=r"expected \(N, 3, 32, 32\) float32.*dim 2 is 64"):
        b.infer(np.zeros((1, 3, 64, 64), np.float32))
    batch = np.random.default_rng(4).random((5, 3, 32, 32), dtype=np.float32)
    np.testing.assert_allclose(b.infer(batch)[0], tiny_math(batch), rtol=1e-6)  # 2 + 2 + 1
    assert b.infer_calls == 1 and b.last_latency_s > 0
    b.close()


def test_outputs_are_read_after_the_stream_is_synchronised(
    fakes: Any, tiny: Path, tmp_path: Path
) -> None:
    # The fake's copies land only at cudaStreamSynchronize: outputs read before it
    # would be the pinned buffer's old bytes (zeros, then the previous batch's).
    _, cudart = fakes
    b = TensorRTBackend()
    b.load(tiny, max_batch=4, cache_dir=tmp_path)
    rng = np.random.default_rng(9)
    for n in (3, 3, 1):
        batch = rng.random((n, 3, 32, 32), dtype=np.float32)
        np.testing.assert_allclose(b.infer(batch)[0], tiny_math(batch), rtol=1e-6)
    assert all(not work for work in cudart.streams.values())  # nothing left in flight
    b.close()


def test_stream_is_an_object_and_tensorrt_gets_its_int_handle(
    fakes: Any, tiny: Path, tmp_path: Path
) -> None:
    _, cudart = fakes
    b = TensorRTBackend()
    b.load(tiny, max_batch=2, cache_dir=tmp_path)
    stream = b._stream
    assert not isinstance(stream, int) and int(stream) in cudart.streams
    context = b._context
    with pytest.raises(TypeError, match="stream_handle: int"):
        context.execute_async_v3(stream)  # what the backend must never pass
    batch = np.random.default_rng(5).random((2, 3, 32, 32), dtype=np.float32)
    np.testing.assert_allclose(b.infer(batch)[0], tiny_math(batch), rtol=1e-6)
    b.close()


@pytest.mark.parametrize(
    ("fast_fp16", "precision", "expect_fp16"),
    [
        (True, "auto", True),
        (False, "auto", False),  # no fast FP16: auto must not force it
        (True, "fp32", False),
        (False, "fp16", True),  # asked for explicitly: honoured
    ],
)
def test_auto_precision_follows_the_gpus_fp16(
    fakes: Any,
    tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fast_fp16: bool,
    precision: str,
    expect_fp16: bool,
) -> None:
    trt, _ = fakes
    gpu_fast_fp16(monkeypatch, fast_fp16)
    b = TensorRTBackend()
    b.load(tiny, precision=precision, max_batch=2, cache_dir=tmp_path)
    assert trt.builds[-1]["fp16"] is expect_fp16
    assert b.fp16 is expect_fp16
    assert b.engine_key is not None
    assert b.engine_key.precision == ("fp16" if expect_fp16 else "fp32")
    b.close()


def test_cuda_failure_names_the_call(fakes: Any, tiny: Path, tmp_path: Path) -> None:
    _, cudart = fakes
    cudart.fail = "cudaMallocHost"
    with pytest.raises(BackendUnavailableError, match=r"cudaMallocHost\(images\).*out of memory"):
        TensorRTBackend().load(tiny, cache_dir=tmp_path)
    assert cudart.device == {}  # the device buffer allocated just before was freed


def test_parse_errors_are_reported(
    fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_tiny_detector(tmp_path / "tiny.onnx")

    def failing_parse(self: Any, data: bytes) -> bool:
        self.errors.append("unsupported operator Foo")
        return False

    monkeypatch.setattr(FakeTRT.OnnxParser, "parse", failing_parse)
    with pytest.raises(ModelError, match=r"cannot parse .*unsupported operator Foo"):
        TensorRTBackend().load(path, cache_dir=tmp_path)


def test_bad_options(fakes: Any, tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="precision"):
        TensorRTBackend().load(tiny, precision="int4")
    with pytest.raises(BackendUnavailableError, match="unknown options"):
        TensorRTBackend().load(tiny, threads=4)
    with pytest.raises(BackendUnavailableError, match=r"cudaSetDevice\(3\)"):
        TensorRTBackend().load(tiny, device=3, cache_dir=tmp_path)


def test_cuda_check_unpacks_results() -> None:
    cudart = FakeCudart()
    assert cuda_check(cudart, (FakeError.cudaSuccess,), "x") is None
    assert cuda_check(cudart, (FakeError.cudaSuccess, 5), "x") == 5
    assert cuda_check(cudart, (FakeError.cudaSuccess, 1, 2), "x") == (1, 2)
    with pytest.raises(BackendUnavailableError, match="cudaFoo failed: cudaErrorNoDevice"):
        cuda_check(cudart, (FakeError.cudaErrorNoDevice, None), "cudaFoo")


def test_availability_with_fakes(fakes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, cudart = fakes
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "tensorrt" else real_find_spec(name, *a),
    )
    assert TensorRTBackend.is_available()
    cudart.devices = 0
    assert not TensorRTBackend.is_available()


# ---------------------------------------------------------------------- real TensorRT


def _has_tensorrt() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorrt") is not None


@pytest.mark.skipif(_has_tensorrt(), reason="TensorRT is installed here")
def test_missing_tensorrt_is_a_clear_error(tiny: Path) -> None:
    assert not TensorRTBackend.is_available()
    with pytest.raises(
        BackendUnavailableError, match=r"tensorrt is not installed.*gridsight\[gpu\]"
    ):
        TensorRTBackend().load(tiny)


@pytest.mark.gpu
@pytest.mark.skipif(not TensorRTBackend.is_available(), reason="needs TensorRT 10+ and a CUDA GPU")
def test_tensorrt_matches_onnxruntime_on_gpu(tiny: Path, tmp_path: Path) -> None:
    from gridsight.core.backends.onnxruntime_backend import OnnxRuntimeBackend

    batch = np.random.default_rng(2).random((5, 3, 32, 32), dtype=np.float32)
    with OnnxRuntimeBackend() as ort_backend:
        ort_backend.load(tiny, providers=["CPUExecutionProvider"])
        expected = ort_backend.infer(batch)[0]
    with TensorRTBackend() as backend:
        backend.load(tiny, precision="fp32", max_batch=4, cache_dir=tmp_path)
        np.testing.assert_allclose(backend.infer(batch)[0], expected, rtol=1e-3, atol=1e-3)
    with TensorRTBackend() as cached:
        cached.load(tiny, precision="fp32", max_batch=4, cache_dir=tmp_path)
        assert not cached.built
