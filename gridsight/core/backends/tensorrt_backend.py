"""The TensorRT backend (TensorRT 10+, cuda-python), for NVIDIA GPUs. UNVALIDATED.

It has never run on a real GPU: its logic is tested only against fakes of the
TensorRT and cuda-python APIs (tests/core/test_backends_tensorrt.py). So ``auto``
never chooses it; it runs only when asked for by name, with a warning
(:attr:`TensorRTBackend.unvalidated`), until a test has passed on a real GPU.

The engine is built from the ONNX file once and cached: the cache key covers every
input that changes the engine (model bytes, precision, shape profile, TensorRT
version, GPU name and compute capability), so a new model, a driver/TensorRT upgrade
or a different card rebuilds it instead of failing at deserialisation.

At run time the backend owns one CUDA stream, device buffers sized for the largest
batch of the profile and pinned host buffers; every CUDA call's status is checked and
a failure names the call. ``close()`` frees them all.

Options (passed to :meth:`TensorRTBackend.load`):
    precision: ``auto`` (FP16 where the GPU has fast FP16), ``fp16`` or ``fp32``.
    max_batch: largest batch of the optimisation profile (dynamic-batch models).
    opt_batch: the batch size TensorRT tunes for (default: ``max_batch``).
    input_size: ``(h, w)`` for models whose spatial dims are dynamic (default: the
        model's ``imgsz`` metadata, else 640).
    workspace_mb: builder workspace memory pool limit.
    cache_dir: where engines are kept (default ``$GRIDSIGHT_CACHE_DIR/tensorrt`` or
        ``~/.cache/gridsight/tensorrt``).
    device: CUDA device index.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gridsight.core.backends.base import Backend
from gridsight.core.backends.model_info import (
    ModelInfo,
    TensorInfo,
    check_model_file,
    read_model_info,
)
from gridsight.core.errors import BackendUnavailableError, ModelError

log = logging.getLogger(__name__)

TRT_MIN_MAJOR = 10
INSTALL_HINT = "install the GPU extra on a CUDA host: pip install 'gridsight[gpu]'"


# ---------------------------------------------------------------------- imports


def _import_tensorrt() -> Any:
    """Import TensorRT 10+ or raise BackendUnavailableError saying what to install."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(f"tensorrt is not installed; {INSTALL_HINT}") from exc
    version = str(getattr(trt, "__version__", "0"))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = 0
    if major < TRT_MIN_MAJOR:
        raise BackendUnavailableError(
            f"tensorrt {version} is too old: the backend needs TensorRT {TRT_MIN_MAJOR}+; "
            f"{INSTALL_HINT}"
        )
    return trt


def _import_cudart() -> Any:
    """Import cuda-python's runtime bindings (new layout first, then the legacy one)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python < 12.6 layout
        except ImportError as exc:
            raise BackendUnavailableError(f"cuda-python is not installed; {INSTALL_HINT}") from exc
    return cudart


def cuda_check(cudart: Any, result: Any, call: str) -> Any:
    """Unpack a cuda-python result ``(err, *values)``; raise naming ``call`` on failure.

    Returns:
        None, the single value, or a tuple of values.
    """
    if isinstance(result, tuple):
        err, values = result[0], result[1:]
    else:
        err, values = result, ()
    if err != cudart.cudaError_t.cudaSuccess:
        try:
            _, msg = cudart.cudaGetErrorString(err)
            text = msg.decode() if isinstance(msg, bytes) else str(msg)
        except Exception:
            text = "no description"
        name = getattr(err, "name", str(err))
        raise BackendUnavailableError(f"CUDA call {call} failed: {name} ({text})")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


# ---------------------------------------------------------------------- engine cache


@dataclass(frozen=True, slots=True)
class ShapeProfile:
    """The optimisation profile of the input: batch range and fixed spatial size."""

    min_batch: int
    opt_batch: int
    max_batch: int
    channels: int
    height: int
    width: int

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """``(min, opt, max)`` NCHW shapes for ``IOptimizationProfile.set_shape``."""
        chw = (self.channels, self.height, self.width)
        return (self.min_batch, *chw), (self.opt_batch, *chw), (self.max_batch, *chw)


@dataclass(frozen=True, slots=True)
class EngineKey:
    """Everything that decides what TensorRT builds; its digest names the cache file."""

    model_sha256: str
    precision: str
    profile: ShapeProfile
    trt_version: str
    gpu_name: str
    compute_capability: str

    def digest(self) -> str:
        """A stable hex digest of all fields (the cache file name)."""
        payload = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$GRIDSIGHT_CACHE_DIR/tensorrt``, else ``$XDG_CACHE_HOME/gridsight/tensorrt``."""
    root = os.environ.get("GRIDSIGHT_CACHE_DIR")
    if root:
        return Path(root) / "tensorrt"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "gridsight" / "tensorrt"


def engine_cache_path(cache_dir: Path, model_path: Path, key: EngineKey) -> Path:
    """The engine file for ``key``: ``<cache_dir>/<model stem>-<digest>.engine``."""
    return Path(cache_dir) / f"{model_path.stem}-{key.digest()}.engine"


def _write_atomic(path: Path, data: bytes) -> None:
    # A crash mid-write must not leave a truncated engine that later fails to load.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------- backend


@dataclass(slots=True)
class _Binding:
    name: str
    is_input: bool
    dtype: np.dtype[Any]
    device_ptr: int
    host_ptr: int
    host: np.ndarray  # flat view over the pinned host buffer
    capacity: int  # bytes


class TensorRTBackend(Backend):
    """Builds (or loads from cache) a TensorRT engine and runs it on one CUDA stream."""

    name: ClassVar[str] = "tensorrt"
    priority: ClassVar[int] = 30
    unvalidated: ClassVar[str] = (
        "the tensorrt backend has never run on a real GPU (only against API fakes); "
        "check its outputs against --backend onnxruntime before relying on them"
    )

    def __init__(self) -> None:
        self.engine_path: Path | None = None
        self.engine_key: EngineKey | None = None
        self.built: bool = False  # True when load() built the engine rather than reading it
        self._trt: Any = None
        self._cudart: Any = None
        self._runtime: Any = None
        self._engine: Any = None
        self._context: Any = None
        self._stream: Any = None
        self._bindings: list[_Binding] = []
        self._profile: ShapeProfile | None = None
        self._input_name = ""
        #: Whether load() asked TensorRT for FP16 kernels (``auto``: the GPU has fast FP16).
        self.fp16: bool = False

    # -------------------------------------------------------------- availability
    @classmethod
    def is_available(cls) -> bool:
        """TensorRT 10+ and cuda-python importable, and at least one CUDA device."""
        try:
            if importlib.util.find_spec("tensorrt") is None:
                return False
            _import_tensorrt()
            cudart = _import_cudart()
            count = cuda_check(cudart, cudart.cudaGetDeviceCount(), "cudaGetDeviceCount")
            return int(count) > 0
        except Exception:
            return False

    # -------------------------------------------------------------- load
    def load(
        self,
        model_path: Path,
        *,
        precision: str = "auto",
        max_batch: int = 16,
        opt_batch: int | None = None,
        input_size: tuple[int, int] | None = None,
        workspace_mb: int = 1024,
        cache_dir: str | Path | None = None,
        device: int = 0,
        **options: Any,
    ) -> None:
        """Build or load the engine and allocate buffers for ``max_batch`` frames.

        Raises:
            BackendUnavailableError: TensorRT / cuda-python / a GPU is missing, or a CUDA
                call fails (the message names it).
            ModelError: the ONNX file cannot be parsed or built, or the engine cannot run
                the requested shapes.
        """
        if options:
            raise BackendUnavailableError(
                f"tensorrt backend: unknown options {sorted(options)}; known: precision, "
                "max_batch, opt_batch, input_size, workspace_mb, cache_dir, device"
            )
        if precision not in ("auto", "fp16", "fp32"):
            raise BackendUnavailableError(
                f"tensorrt backend: precision {precision!r} is not one of auto, fp16, fp32"
            )
        path = check_model_file(model_path)
        trt = self._trt = _import_tensorrt()
        cudart = self._cudart = _import_cudart()
        info = read_model_info(path)
        cuda_check(cudart, cudart.cudaSetDevice(int(device)), f"cudaSetDevice({device})")
        props = cuda_check(
            cudart, cudart.cudaGetDeviceProperties(int(device)), "cudaGetDeviceProperties"
        )
        raw_name = props.name
        gpu_name = (
            raw_name.split(b"\0", 1)[0].decode(errors="replace")
            if isinstance(raw_name, bytes)
            else str(raw_name)
        )
        capability = f"{props.major}.{props.minor}"

        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        fp16 = self.fp16 = precision == "fp16" or (
            precision == "auto" and bool(getattr(builder, "platform_has_fast_fp16", False))
        )
        profile = self._profile = self._shape_profile(info, max_batch, opt_batch, input_size)
        key = self.engine_key = EngineKey(
            model_sha256=sha256_file(path),
            precision="fp16" if fp16 else "fp32",
            profile=profile,
            trt_version=str(trt.__version__),
            gpu_name=gpu_name,
            compute_capability=capability,
        )
        engine_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        engine_path = self.engine_path = engine_cache_path(engine_dir, path, key)

        self._runtime = trt.Runtime(logger)
        engine = None
        if engine_path.is_file():
            engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
            if engine is None:
                log.warning("cached TensorRT engine %s does not load; rebuilding", engine_path)
        if engine is None:
            data = self._build(builder, logger, path, profile, fp16, workspace_mb)
            _write_atomic(engine_path, data)
            _write_atomic(
                engine_path.with_suffix(".json"),
                json.dumps(asdict(key), indent=2, sort_keys=True).encode(),
            )
            self.built = True
            engine = self._runtime.deserialize_cuda_engine(data)
            if engine is None:
                raise ModelError(
                    f"TensorRT could not deserialise the engine it just built for {path}"
                )
        self._engine = engine
        self._context = engine.create_execution_context()
        if self._context is None:
            raise BackendUnavailableError(
                "TensorRT create_execution_context failed (out of GPU memory?)"
            )
        self._stream = cuda_check(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")
        self._allocate(profile)
        self.max_batch = profile.max_batch
        self.model_info = info

    @staticmethod
    def _shape_profile(
        info: ModelInfo,
        max_batch: int,
        opt_batch: int | None,
        input_size: tuple[int, int] | None,
    ) -> ShapeProfile:
        shape = info.input.shape
        if len(shape) != 4:
            raise ModelError(
                f"model {info.path} input {info.input.name!r}: expected NCHW, got {shape}"
            )
        channels = shape[1] if shape[1] is not None else 3
        hw = info.input_hw or input_size or info.metadata_hw or (640, 640)
        if info.fixed_batch is not None:
            b = int(info.fixed_batch)
            return ShapeProfile(b, b, b, int(channels), int(hw[0]), int(hw[1]))
        if max_batch < 1:
            raise BackendUnavailableError(
                f"tensorrt backend: max_batch must be >= 1, got {max_batch}"
            )
        opt = max(1, min(max_batch, opt_batch if opt_batch is not None else max_batch))
        return ShapeProfile(1, opt, int(max_batch), int(channels), int(hw[0]), int(hw[1]))

    def _build(
        self,
        builder: Any,
        logger: Any,
        path: Path,
        profile: ShapeProfile,
        fp16: bool,
        workspace_mb: int,
    ) -> bytes:
        trt = self._trt
        log.info("building TensorRT engine for %s (%s), this takes a while", path, profile)
        # TensorRT 10 networks are always explicit-batch; the creation flag is gone.
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(path.read_bytes()):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise ModelError(
                f"TensorRT cannot parse {path}: " + ("; ".join(errors) or "unknown parser error")
            )
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
        if fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        opt_profile = builder.create_optimization_profile()
        name = network.get_input(0).name
        lo, opt, hi = profile.shapes()
        opt_profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(opt_profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise ModelError(
                f"TensorRT failed to build an engine for {path} with profile {profile}; "
                "see the TensorRT log above"
            )
        return bytes(serialized)

    # -------------------------------------------------------------- buffers
    def _allocate(self, profile: ShapeProfile) -> None:
        trt, cudart, engine, context = self._trt, self._cudart, self._engine, self._context
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise ModelError(
                f"TensorRT engine has inputs {inputs}; a detector takes one image batch"
            )
        self._input_name = inputs[0]
        max_shape = profile.shapes()[2]
        if not context.set_input_shape(self._input_name, max_shape):
            raise ModelError(
                f"TensorRT set_input_shape({self._input_name!r}, {max_shape}) was rejected"
            )
        for name in names:
            is_input = name == self._input_name
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            shape = tuple(context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise ModelError(f"TensorRT tensor {name!r} has unresolved shape {shape}")
            nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
            device_ptr = int(cuda_check(cudart, cudart.cudaMalloc(nbytes), f"cudaMalloc({name})"))
            try:
                host_ptr = int(
                    cuda_check(cudart, cudart.cudaMallocHost(nbytes), f"cudaMallocHost({name})")
                )
            except BackendUnavailableError:
                cudart.cudaFree(device_ptr)
                raise
            raw = (ctypes.c_byte * nbytes).from_address(host_ptr)
            host = np.frombuffer(raw, dtype=dtype, count=nbytes // dtype.itemsize)
            self._bindings.append(
                _Binding(name, is_input, dtype, device_ptr, host_ptr, host, nbytes)
            )
            if not context.set_tensor_address(name, device_ptr):
                raise ModelError(f"TensorRT set_tensor_address({name!r}) was rejected")

    # -------------------------------------------------------------- inference
    def input_metadata(self) -> TensorInfo:
        """The engine's input: the profile's one spatial size, batch fixed or dynamic.

        Narrower than the ONNX file's input when that has dynamic height/width.
        """
        profile = self._profile
        if self.model_info is None or profile is None:
            return super().input_metadata()  # raises: nothing is loaded
        fixed = profile.min_batch if profile.min_batch == profile.max_batch else None
        binding = next(b for b in self._bindings if b.is_input)
        shape = (fixed, profile.channels, profile.height, profile.width)
        return TensorInfo(self._input_name, shape, str(binding.dtype))

    def _infer(self, chunk: np.ndarray) -> list[np.ndarray]:
        cudart, context, stream = self._cudart, self._context, self._stream
        h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        if not context.set_input_shape(self._input_name, tuple(chunk.shape)):
            raise ModelError(
                f"TensorRT set_input_shape({self._input_name!r}, {chunk.shape}) was rejected"
            )
        for b in self._bindings:
            if b.is_input:
                flat = np.ascontiguousarray(chunk, dtype=b.dtype).reshape(-1)
                b.host[: flat.size] = flat
                cuda_check(
                    cudart,
                    cudart.cudaMemcpyAsync(b.device_ptr, b.host_ptr, flat.nbytes, h2d, stream),
                    f"cudaMemcpyAsync(host->device, {b.name})",
                )
        # TensorRT takes the raw cudaStream_t handle as an integer.
        if not context.execute_async_v3(int(stream)):
            raise ModelError("TensorRT execute_async_v3 failed; see the TensorRT log")
        results: list[tuple[_Binding, tuple[int, ...]]] = []
        for b in self._bindings:
            if b.is_input:
                continue
            shape = tuple(int(d) for d in context.get_tensor_shape(b.name))
            nbytes = int(np.prod(shape, dtype=np.int64)) * b.dtype.itemsize
            cuda_check(
                cudart,
                cudart.cudaMemcpyAsync(b.host_ptr, b.device_ptr, nbytes, d2h, stream),
                f"cudaMemcpyAsync(device->host, {b.name})",
            )
            results.append((b, shape))
        cuda_check(cudart, cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize")
        outs = []
        for b, shape in results:
            count = int(np.prod(shape, dtype=np.int64))
            # Copy out of the pinned buffer: the next batch overwrites it.
            outs.append(b.host[:count].reshape(shape).astype(np.float32, copy=True))
        return outs

    # -------------------------------------------------------------- cleanup
    def close(self) -> None:
        cudart = self._cudart
        errors: list[str] = []
        if cudart is not None:
            if self._stream is not None:
                # Nothing may still be in flight on buffers about to be freed.
                cudart.cudaStreamSynchronize(self._stream)
            for b in self._bindings:
                b.host = np.empty(0, b.dtype)
                for call, fn, ptr in (
                    ("cudaFree", cudart.cudaFree, b.device_ptr),
                    ("cudaFreeHost", cudart.cudaFreeHost, b.host_ptr),
                ):
                    try:
                        cuda_check(cudart, fn(ptr), f"{call}({b.name})")
                    except BackendUnavailableError as exc:
                        errors.append(str(exc))
            if self._stream is not None:
                try:
                    cuda_check(cudart, cudart.cudaStreamDestroy(self._stream), "cudaStreamDestroy")
                except BackendUnavailableError as exc:
                    errors.append(str(exc))
        self._bindings = []
        self._stream = None
        self.model_info = None
        self._context = None
        self._engine = None
        self._runtime = None
        if errors:
            raise BackendUnavailableError("; ".join(errors))
