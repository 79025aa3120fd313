"""Chunking for models that take a limited number of frames per call.

Not batching across cameras (that is :mod:`gridsight.core.engine.batcher`): this runs
*one* batch through a model that cannot take it whole. Many exports fix the batch to 1
(Ultralytics' default), some fix it to N, and some runtimes have a largest batch (a
TensorRT profile, OpenCV 4's dnn with a YOLO head). :func:`run_in_chunks` runs such a
batch in model-sized chunks, padding the last one when the batch is fixed, and
concatenates the outputs, so callers can always pass any number of frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def run_in_chunks(
    batch: np.ndarray,
    chunk: int | None,
    run: Callable[[np.ndarray], list[np.ndarray]],
    *,
    pad: bool = True,
) -> list[np.ndarray]:
    """Run ``run`` on ``batch`` directly, or in chunks of ``chunk`` frames.

    Args:
        batch: the NCHW input, at least one frame.
        chunk: frames per call (the model's fixed batch, or the runtime's largest
            batch), or None to run the whole batch at once.
        run: runs one chunk and returns the outputs (batch-first arrays).
        pad: pad a short last chunk with zeros to ``chunk`` frames (a model whose batch
            is fixed accepts no other size); the padding's outputs are cut off.

    Returns:
        The outputs for all ``len(batch)`` frames, in order.

    Example:
        >>> x = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1)
        >>> sizes = []
        >>> def run(c):
        ...     sizes.append(len(c))
        ...     return [c * 2]
        >>> run_in_chunks(x, 2, run)[0].ravel().tolist(), sizes
        ([0.0, 2.0, 4.0, 6.0, 8.0], [2, 2, 2])
    """
    n = int(batch.shape[0])
    if chunk is None or chunk == n or (n < chunk and not pad):
        return run(batch)
    parts: list[list[np.ndarray]] = []
    for start in range(0, n, chunk):
        part = batch[start : start + chunk]
        real = part.shape[0]
        if pad and real < chunk:
            filler = np.zeros((chunk - real, *part.shape[1:]), dtype=part.dtype)
            part = np.concatenate([part, filler])
        outs = run(np.ascontiguousarray(part))
        parts.append([o[:real] for o in outs])
    if len(parts) == 1:
        return parts[0]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
