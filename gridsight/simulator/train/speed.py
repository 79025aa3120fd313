"""Latency of an ONNX detector in onnxruntime on the CPU, for the model card.

This is a quick measurement for reports (``gridsight world train`` writes it into the
card); the reproducible comparison lives in ``benchmarks/bench_model.py``
(pytest-benchmark, batch 1 and batch 12 side by side).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gridsight.core.errors import ModelError


@dataclass(frozen=True, slots=True)
class Latency:
    """Median time of one inference call and per image."""

    batch: int
    threads: int
    ms_per_call: float

    @property
    def ms_per_image(self) -> float:
        return self.ms_per_call / self.batch

    @property
    def images_per_second(self) -> float:
        return 1000.0 / self.ms_per_image


def make_session(model_path: Path, threads: int = 2) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(
            str(model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{model_path}: onnxruntime cannot load it: {exc}") from exc


def measure_latency(
    model_path: Path, batch: int, imgsz: tuple[int, int], threads: int = 2, repeats: int = 20
) -> Latency:
    """Median latency of ``repeats`` calls at ``batch`` after two warm-up calls."""
    session = make_session(model_path, threads)
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).random((batch, 3, *imgsz), dtype=np.float32)
    for _ in range(2):
        session.run(None, {name: x})
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - t0)
    return Latency(batch=batch, threads=threads, ms_per_call=1000.0 * float(np.median(times)))
