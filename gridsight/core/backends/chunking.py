"""Running a batch through a model whose batch dimension is fixed.

Many exports fix the batch to 1 (Ultralytics' default); some fix it to N. Backends run
such a model in chunks of its batch size, padding the last chunk, and concatenate the
outputs, so callers can always pass any number of frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def run_in_chunks(
    batch: np.ndarray,
    fixed_batch: int | None,
    run: Callable[[np.ndarray], list[np.ndarray]],
) -> list[np.ndarray]:
    """Run ``run`` on ``batch`` directly, or in chunks of ``fixed_batch`` frames.

    Args:
        batch: the NCHW input.
        fixed_batch: the model's fixed batch size, or None when dynamic.
        run: runs one model-sized chunk and returns the outputs (batch-first arrays).

    Returns:
        The outputs for all ``len(batch)`` frames, in order.
    """
    n = int(batch.shape[0])
    if fixed_batch is None or fixed_batch == n:
        return run(batch)
    parts: list[list[np.ndarray]] = []
    for start in range(0, n, fixed_batch):
        chunk = batch[start : start + fixed_batch]
        real = chunk.shape[0]
        if real < fixed_batch:
            # Pad with zeros to the size the model accepts; the padding's outputs are cut.
            pad = np.zeros((fixed_batch - real, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = np.concatenate([chunk, pad])
        outs = run(np.ascontiguousarray(chunk))
        parts.append([o[:real] for o in outs])
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
