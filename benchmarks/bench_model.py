"""Latency of the bundled detector in onnxruntime on the CPU: batch 1 against batch 12.

Run: ``.venv/bin/pytest benchmarks/bench_model.py --benchmark-columns=min,median,mean,rounds``

One group, ``bundled-model``: one inference call on a batch of 1 and of 12 letterboxed
frames, with 1 and 2 intra-op threads. Timings are per call; divide the batch-12 figures
by 12 for per-image cost (each benchmark's ``extra_info`` carries ``batch``). The
deployment target is 12 cameras x 2 frames/s = 24 images/s on two cores, i.e. at most
~42 ms per image with both cores, so compare ``median / batch`` against that.

``gridsight world train`` measures the same thing (median of 20 calls) for the model
card; this file is the reproducible, statistically reported version.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from gridsight.core.detection.decode import imgsz_from_metadata
from gridsight.core.errors import ModelError
from gridsight.models import bundled_model_path

try:
    MODEL = bundled_model_path()
except ModelError:  # a checkout where the model has not been trained yet
    MODEL = None

pytestmark = pytest.mark.skipif(MODEL is None, reason="bundled model not installed")


def _session(threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(MODEL), sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"threads{t}")
@pytest.mark.parametrize("batch", [1, 12], ids=lambda b: f"batch{b}")
def test_bundled_model_latency(benchmark, batch: int, threads: int) -> None:
    session = _session(threads)
    meta = session.get_modelmeta().custom_metadata_map
    h, w = imgsz_from_metadata(meta) or (224, 384)
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).random((batch, 3, h, w), dtype=np.float32)
    session.run(None, {name: x})  # warm-up: first call allocates
    benchmark.group = "bundled-model"
    benchmark.extra_info.update({"batch": batch, "threads": threads, "imgsz": [h, w]})
    out = benchmark(session.run, None, {name: x})
    assert out[0].shape[0] == batch
