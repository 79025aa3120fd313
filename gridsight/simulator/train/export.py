"""ONNX export of the bundled detector, its metadata, and a FLOP count of the graph.

The exported graph takes ``images (B, 3, H, W)`` float32 RGB in [0, 1] (letterboxed
with grey 114 padding) and returns ``output0 (B, 4 + nc, N)`` in the YOLOv8 layout:
rows cx, cy, w, h in input pixels, then one sigmoid score per class. The batch axis is
dynamic. Metadata follows what Ultralytics writes, so any tool that reads a YOLOv8
export reads this one: ``names`` as a Python dict literal ``{0: 'person', ...}``,
``imgsz`` as ``[h, w]``, ``stride``, ``task``, ``description``, ``version``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gridsight import __version__
from gridsight.core.errors import ModelError

INPUT_NAME = "images"
OUTPUT_NAME = "output0"
OPSET = 17


def build_metadata(
    class_names: Sequence[str],
    imgsz: tuple[int, int],
    stride: int,
    description: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``metadata_props`` of the exported model (every value a string)."""
    names = "{" + ", ".join(f"{i}: {name!r}" for i, name in enumerate(class_names)) + "}"
    meta = {
        "description": description,
        "author": "gridsight",
        "date": dt.date.today().isoformat(),
        "version": __version__,
        "license": "Apache-2.0",
        "task": "detect",
        "stride": str(stride),
        "batch": "1",
        "imgsz": f"[{imgsz[0]}, {imgsz[1]}]",
        "names": names,
        "input": "RGB float32 [0,1], NCHW, letterboxed (centred, pad 114)",
        "output": "(B, 4+nc, N): cx, cy, w, h in input pixels, then sigmoid class scores",
    }
    if extra:
        meta.update({k: str(v) for k, v in extra.items()})
    return meta


def export_onnx(
    net: Any,
    path: Path,
    imgsz: tuple[int, int],
    metadata: Mapping[str, str],
    verify: bool = True,
) -> float:
    """Export a :class:`~gridsight.simulator.train.model.GridDetector` to ONNX.

    Args:
        net: the trained network (put in eval mode here).
        path: the ``.onnx`` file to write.
        imgsz: input ``(h, w)``.
        metadata: written to ``metadata_props``.
        verify: run the file in onnxruntime and compare with PyTorch.

    Returns:
        The largest absolute difference between the ONNX and PyTorch outputs on a
        random batch of two (0.0 when not verified).

    Raises:
        ModelError: export failed, or the ONNX output differs from PyTorch's.
    """
    import onnx
    import torch

    from gridsight.simulator.train.model import ExportWrapper

    net = net.eval()
    wrapper = ExportWrapper(net, imgsz).eval()
    h, w = imgsz
    dummy = torch.zeros(1, 3, h, w)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    except Exception as exc:  # torch raises many error types from the exporter
        raise ModelError(f"ONNX export to {path} failed: {exc}") from exc
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    if not verify:
        return 0.0
    return verify_onnx(net, path, imgsz)


def verify_onnx(net: Any, path: Path, imgsz: tuple[int, int], atol: float = 1e-3) -> float:
    """Compare the ONNX file's output with the network's on a random batch of two.

    Box rows are in pixels, so the tolerance is scaled by the input size for them.

    Raises:
        ModelError: the outputs differ by more than the tolerance.
    """
    import onnxruntime as ort
    import torch

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, imgsz[0], imgsz[1], generator=generator)
    with torch.no_grad():
        expected = net.eval().export_forward(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: x.numpy()})[0]
    if got.shape != expected.shape:
        raise ModelError(f"{path}: ONNX output shape {got.shape}, PyTorch {expected.shape}")
    box_diff = float(np.abs(got[:, :4] - expected[:, :4]).max()) / max(imgsz)
    score_diff = float(np.abs(got[:, 4:] - expected[:, 4:]).max())
    worst = max(box_diff, score_diff)
    if worst > atol:
        raise ModelError(
            f"{path}: ONNX output differs from PyTorch by {worst:.2e} (> {atol}); "
            "the export is wrong"
        )
    return worst


@dataclass(frozen=True, slots=True)
class FlopCount:
    """Operation counts of one forward pass at batch 1.

    Attributes:
        macs: multiply-accumulates of Conv, ConvTranspose, MatMul and Gemm nodes.
        other: one operation per output element of every other node (activations,
            adds, pooling windows counted per element of the window).
    """

    macs: int
    other: int

    @property
    def gflops(self) -> float:
        """``2 x MACs`` in billions: the convention of thop and the Ultralytics tables."""
        return 2.0 * self.macs / 1e9


def _dims(value_info: Any) -> list[int]:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        # The dynamic batch axis (and any other symbolic one) counts as 1.
        dims.append(d.dim_value if d.HasField("dim_value") else 1)
    return dims


def count_flops(path: Path) -> FlopCount:
    """Count the operations of an ONNX model at batch 1 from its inferred shapes."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    graph = model.graph
    shapes: dict[str, list[int]] = {}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        shapes[vi.name] = _dims(vi)
    for init in graph.initializer:
        shapes[init.name] = list(numpy_helper.to_array(init).shape)
    macs = 0
    other = 0
    for node in graph.node:
        out_shape = shapes.get(node.output[0])
        if out_shape is None:
            continue
        out_numel = int(np.prod(out_shape)) if out_shape else 1
        if node.op_type in ("Conv", "ConvTranspose"):
            # Each output element costs C_in / groups * prod(kernel) multiply-accumulates.
            # The weights may be folded Constant nodes rather than initializers, so read
            # the kernel from the attributes and C_in from the input's shape.
            attrs = {a.name: a for a in node.attribute}
            groups = attrs["group"].i if "group" in attrs else 1
            in_shape = shapes.get(node.input[0], [])
            kernel = list(attrs["kernel_shape"].ints) if "kernel_shape" in attrs else []
            if not kernel:
                kernel = shapes.get(node.input[1], [0, 0])[2:]
            if len(in_shape) >= 2 and kernel:
                macs += out_numel * in_shape[1] // groups * int(np.prod(kernel))
        elif node.op_type in ("MatMul", "Gemm"):
            a = shapes.get(node.input[0], [])
            if a:
                macs += out_numel * a[-1]
        elif node.op_type == "MaxPool":
            kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), [1])
            other += out_numel * int(np.prod(kernel))
        elif node.op_type not in (
            "Reshape",
            "Transpose",
            "Concat",
            "Split",
            "Slice",
            "Shape",
            "Gather",
            "Unsqueeze",
            "Squeeze",
            "Constant",
            "Flatten",
            "Identity",
        ):
            other += out_numel
    return FlopCount(macs=macs, other=other)
