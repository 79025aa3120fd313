"""fp32 against int8: the bundled detector and its static int8 quantization, same batches.

Run: ``.venv/bin/pytest benchmarks/bench_int8.py --benchmark-columns=min,median,mean,rounds``

Groups ``int8-batch1`` and ``int8-batch12`` hold one onnxruntime inference call on the same
letterboxed synthetic frames (held-out worlds, rendered once) for ``gridsight-synth.onnx``
and ``gridsight-synth-int8.onnx``, with 1 and 2 intra-op threads, so each group's table
shows the two precisions side by side; compare medians within a group. The tests are
parametrised threads-major and precision-minor, so fp32 and int8 of one setting run back
to back and share whatever load the machine has at that moment. Each benchmark's
``extra_info`` carries ``precision``, ``batch`` and ``threads``; divide batch-12 medians
by 12 for per-image cost.

``gridsight world quantize --data ...`` measures the same thing (interleaved rounds) for
the int8 section of ``MODEL_CARD.md``; this file is the reproducible, statistically
reported version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from gridsight.core.detection.decode import imgsz_from_metadata
from gridsight.core.detection.preprocess import Letterboxer
from gridsight.core.errors import ModelError
from gridsight.models import BUNDLED_INT8_MODEL_FILE, bundled_model_path

try:
    FP32: Path | None = bundled_model_path()
except ModelError:  # a checkout where the model has not been trained yet
    FP32 = None
INT8 = FP32.with_name(BUNDLED_INT8_MODEL_FILE) if FP32 is not None else None

pytestmark = pytest.mark.skipif(
    INT8 is None or not INT8.is_file(), reason="bundled fp32/int8 models not installed"
)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """12 frames of four held-out synthetic cameras (one of each scene, three times each)."""
    from gridsight.simulator import open_world

    out = []
    for k, scene in enumerate(("reservoir", "stairwell", "fire_lane", "street")):
        world = open_world(f"synthetic://{scene}?seed={555_001 + k}")
        out += [world.render(index)[0] for index in (600, 2400, 4800)]
    return out


def _session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"threads{t}")
@pytest.mark.parametrize("batch", [1, 12], ids=lambda b: f"batch{b}")
def test_fp32_vs_int8_latency(
    benchmark, frames: list[np.ndarray], batch: int, threads: int, precision: str
) -> None:  # type: ignore[no-untyped-def]
    path = FP32 if precision == "fp32" else INT8
    assert path is not None
    session = _session(path, threads)
    h, w = imgsz_from_metadata(session.get_modelmeta().custom_metadata_map) or (224, 384)
    x, _ = Letterboxer((h, w))(frames[:batch], copy=True)
    name = session.get_inputs()[0].name
    session.run(None, {name: x})  # warm-up: the first call allocates
    benchmark.group = f"int8-batch{batch}"
    benchmark.extra_info.update({"precision": precision, "batch": batch, "threads": threads})
    (out,) = benchmark(session.run, None, {name: x})
    assert out.shape[0] == batch and out.shape[1] == 10
