"""A tiny detector-shaped ONNX model built with ``onnx.helper`` for backend tests.

Input ``images`` (N, 3, 32, 32) -> 8x8 average pool -> 1x1 conv to 6 channels ->
reshape to (N, 6, 16): the YOLOv8 layout for 2 classes and 16 anchors. Its outputs
depend on the input, so two backends agreeing on them means something.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_tiny_detector(
    path: Path,
    batch: int | None = None,
    names: str | None = "{0: 'person', 1: 'dog'}",
    seed: int = 0,
) -> Path:
    """Write the tiny model to ``path``; ``batch`` None makes the batch dim dynamic."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1, (6, 3, 1, 1)).astype(np.float32)
    bias = rng.normal(0, 0.1, 6).astype(np.float32)
    n: int | str = batch if batch is not None else "batch"
    graph = helper.make_graph(
        nodes=[
            helper.make_node(
                "AveragePool", ["images"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
            ),
            helper.make_node("Conv", ["pooled", "W", "B"], ["conv"]),
            helper.make_node("Reshape", ["conv", "shape"], ["output0"]),
        ],
        name="tiny",
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, [n, 3, 32, 32])],
        outputs=[helper.make_tensor_value_info("output0", TensorProto.FLOAT, [n, 6, 16])],
        initializer=[
            numpy_helper.from_array(weight, "W"),
            numpy_helper.from_array(bias, "B"),
            numpy_helper.from_array(np.array([0, 6, 16], np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = {"imgsz": "[32, 32]"}
    if names is not None:
        meta["names"] = names
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
