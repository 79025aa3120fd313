"""Box geometry: the one intersection-over-union every stage uses.

NMS (suppression), the tracker (matching cost ``1 - IoU``) and the rules (is a box
standing where one stood before?) all compare boxes with :func:`box_iou` (every box
against every box) or :func:`pair_iou` (row against row). Boxes are ``xyxy`` pixels.

Degenerate boxes. A box of zero area (a point, a line, or an inverted box with
``x2 < x1`` or ``y2 < y1``, whose width or height counts as 0) has IoU **0 with every
box, itself included**. IoU is 0/0 there, and each use needs "no overlap":

* NMS must not let a degenerate box suppress another (two decoder artefacts at one
  point would otherwise knock each other out, or knock out a real box if 0/0 were
  resolved to 1 via a floor on the union);
* the tracker must not match a track to a box with no extent (cost 1, never gated in);
* a rule's stationarity check must not call a point "the same object as before".

Clipping widths at 0 also keeps IoU inside ``[0, 1]`` for inverted boxes, whose signed
areas would otherwise give negative or >1 values. For boxes of positive area the result
is exactly ``inter / union`` in float64, whatever the input dtype.

Example:
    >>> import numpy as np
    >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [5, 5, 5, 5]])).round(4)
    array([[0.1429, 0.    ]])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridsight.core.errors import DataError

Float64Array = npt.NDArray[np.float64]

__all__ = ["as_boxes", "box_area", "box_iou", "pair_iou"]


def as_boxes(boxes: npt.ArrayLike, name: str = "boxes") -> Float64Array:
    """``boxes`` as a float64 ``(n, 4)`` array; one box ``(4,)`` becomes ``(1, 4)``.

    Raises:
        DataError: the shape is not ``(n, 4)`` or ``(4,)`` ("expected X, got Y").
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 4:
        return arr.reshape(1, 4)
    if arr.ndim == 1 and arr.shape[0] == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise DataError(f"{name}: expected xyxy boxes of shape (n, 4), got {arr.shape}")
    return arr


def box_area(boxes: npt.ArrayLike) -> Float64Array:
    """``(n,)`` areas; inverted boxes count as width or height 0."""
    b = as_boxes(boxes)
    return np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)


def box_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> Float64Array:
    """IoU of every box in ``a (n, 4)`` with every box in ``b (m, 4)``, as ``(n, m)``.

    Zero-area boxes give 0 (see the module docstring). Works on ``(n, m)`` planes with
    in-place operations: several times faster than broadcasting ``(n, m, 2)`` corner
    arrays, which allocates and clips far more memory.

    Raises:
        DataError: an input is not ``(n, 4)`` (or one ``(4,)`` box).
    """
    aa = as_boxes(a, "a")
    bb = as_boxes(b, "b")
    inter = np.minimum(aa[:, 2:3], bb[:, 2])
    inter -= np.maximum(aa[:, 0:1], bb[:, 0])
    np.maximum(inter, 0.0, out=inter)
    ih = np.minimum(aa[:, 3:4], bb[:, 3])
    ih -= np.maximum(aa[:, 1:2], bb[:, 1])
    np.maximum(ih, 0.0, out=ih)
    inter *= ih
    union = box_area(aa)[:, None] + box_area(bb)[None, :]
    union -= inter
    return _ratio(inter, union)


def pair_iou(a: npt.ArrayLike, b: npt.ArrayLike) -> Float64Array:
    """``(m,)`` IoU of corresponding rows of ``a (m, 4)`` and ``b (m, 4)``.

    Raises:
        DataError: the inputs are not ``(m, 4)`` of the same ``m``.
    """
    aa = as_boxes(a, "a")
    bb = as_boxes(b, "b")
    if aa.shape != bb.shape:
        raise DataError(f"pair_iou: expected two (m, 4) arrays, got {aa.shape} and {bb.shape}")
    iw = np.maximum(np.minimum(aa[:, 2], bb[:, 2]) - np.maximum(aa[:, 0], bb[:, 0]), 0.0)
    ih = np.maximum(np.minimum(aa[:, 3], bb[:, 3]) - np.maximum(aa[:, 1], bb[:, 1]), 0.0)
    inter = iw * ih
    union = box_area(aa) + box_area(bb) - inter
    return _ratio(inter, union)


def _ratio(inter: Float64Array, union: Float64Array) -> Float64Array:
    # union > 0 whenever either box has area; where it is 0 both are degenerate and the
    # intersection is 0 too: IoU 0 by definition (module docstring).
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out
