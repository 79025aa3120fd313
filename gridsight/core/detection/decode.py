"""Decoding detector outputs into :class:`Detections` in original-frame pixels.

Two output layouts are understood, chosen from the output's shape:

* ``yolov8`` — YOLOv8 / YOLO11 ``(B, 4 + nc, N)``: per anchor ``cx, cy, w, h`` in
  model-input pixels, then ``nc`` class scores (already sigmoid). Needs NMS.
* ``end2end`` — ``(B, N, 6)``: ``x1, y1, x2, y2, score, class`` per detection, already
  suppressed by the model (YOLOv10, YOLO26 and NMS-in-graph exports).

Class names come from the model's metadata (``names``, as Ultralytics writes it: a
Python-literal or JSON dict) parsed without ever evaluating code, or from config.

Example:
    >>> import numpy as np
    >>> out = np.zeros((1, 6, 3), np.float32)          # 2 classes, 3 anchors
    >>> out[0, :4, 0] = [50, 50, 20, 20]; out[0, 5, 0] = 0.9
    >>> dec = Decoder({0: "person", 1: "car"})
    >>> [d.class_id.tolist() for d in dec.decode([out], None)]
    [[1]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

# The metadata strings are parsed in one place, next to the model info every backend
# reads (re-exported here, where the decoder's callers have always found them).
from gridsight.core.backends.model_info import MAX_METADATA_CHARS as MAX_METADATA_CHARS
from gridsight.core.backends.model_info import imgsz_from_metadata as imgsz_from_metadata
from gridsight.core.backends.model_info import parse_metadata_literal
from gridsight.core.detection.detections import Detections
from gridsight.core.detection.nms import nms
from gridsight.core.detection.preprocess import LetterboxInfo
from gridsight.core.detection.roles import Role, parse_role, role_for_class
from gridsight.core.errors import ConfigError, ModelError

#: Ultralytics keeps at most this many candidates (by score) before NMS.
MAX_NMS_CANDIDATES = 30_000


class OutputLayout(StrEnum):
    """The output layouts :class:`Decoder` understands."""

    YOLOV8 = "yolov8"
    END2END = "end2end"


# ---------------------------------------------------------------------- metadata


def parse_class_names(value: str | Mapping[object, object] | Sequence[str]) -> dict[int, str]:
    """Class names ``{id: name}`` from a metadata string, a dict or a list.

    Accepts ``{0: 'person', 1: 'bicycle'}``, ``{"0": "person"}`` (JSON keys are
    strings) and ``['person', 'bicycle']``.

    Raises:
        ModelError: not a literal, or keys/values of the wrong kind.
    """
    obj = parse_metadata_literal(value, "names") if isinstance(value, str) else value
    if isinstance(obj, list | tuple):
        items: list[tuple[object, object]] = list(enumerate(obj))
    elif isinstance(obj, Mapping):
        items = list(obj.items())
    else:
        raise ModelError(
            f"model metadata 'names': expected a dict or list, got {type(obj).__name__}"
        )
    names: dict[int, str] = {}
    for key, name in items:
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise ModelError(f"model metadata 'names': class id {key!r} is not an integer")
        try:
            idx = int(key)
        except ValueError as exc:
            raise ModelError(f"model metadata 'names': class id {key!r} is not an integer") from exc
        if idx < 0 or not isinstance(name, str):
            raise ModelError(f"model metadata 'names': entry {key!r}: {name!r} is not a class name")
        names[idx] = name
    return names


def class_names_from_metadata(metadata: Mapping[str, str]) -> dict[int, str] | None:
    """The class names in a model's metadata (``names``), or None if it has none."""
    raw = metadata.get("names")
    if raw is None:
        return None
    return parse_class_names(raw)


# ---------------------------------------------------------------------- layouts


def detect_layout(shape: Sequence[int], num_classes: int | None = None) -> OutputLayout:
    """Which layout an output of ``shape`` is in.

    Args:
        shape: the output's shape, batch first.
        num_classes: the model's class count when known (disambiguates small outputs).

    Raises:
        ModelError: the shape fits neither layout.
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 3:
        _, rows, cols = shape
        if num_classes is not None:
            if rows == 4 + num_classes and cols != 6:
                return OutputLayout.YOLOV8
            if cols == 6 and rows != 4 + num_classes:
                return OutputLayout.END2END
            if rows == 4 + num_classes:
                return OutputLayout.YOLOV8
        if cols == 6 and rows > 6:
            return OutputLayout.END2END
        if rows > 4 and cols > rows:
            return OutputLayout.YOLOV8
    nc = f" for {num_classes} classes" if num_classes is not None else ""
    raise ModelError(
        f"cannot decode a model output of shape {shape}{nc}: expected the YOLOv8/YOLO11 "
        "layout (batch, 4 + classes, anchors) or the end-to-end layout (batch, N, 6) "
        "[x1, y1, x2, y2, score, class]"
    )


def check_output(
    shape: Sequence[int], class_names: Mapping[int, str], model: str, names_from: str
) -> OutputLayout:
    """Check a model's output against its class names, before any frame is judged.

    Called on a dry run at load time (:meth:`Detector.check`), so that a model that does
    not fit its names is refused before ``running`` is printed, not at the first batch
    (or, worse, never: an 80-class export given 3 names would label class 2 ``truck``
    and silently drop class 7 from the rules).

    Args:
        shape: the shape of the model's first output on the dry run.
        class_names: the class names the detector will use.
        model: the model's file name, for the message.
        names_from: where the names came from (``--names``, ``the model's metadata``...).

    Returns:
        The layout of the output.

    Raises:
        ModelError: the layout is neither known one, or a YOLOv8/YOLO11 output's class
            count differs from the number of names (the message names both counts).
    """
    nc = max(class_names) + 1 if class_names else 0
    try:
        layout = detect_layout(shape, nc or None)
    except ModelError as exc:
        raise ModelError(f"model {model}: {exc}") from exc
    if layout is OutputLayout.YOLOV8:
        model_nc = int(shape[1]) - 4
        if model_nc != nc:
            raise ModelError(
                f"model {model} outputs {model_nc} classes (output shape {tuple(shape)} = "
                f"4 box rows + {model_nc} class scores) but {nc} class names were given "
                f"({names_from}); give exactly {model_nc} names, in the model's class order"
            )
    return layout


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    half = b[:, 2:4] * 0.5
    return np.concatenate([b[:, 0:2] - half, b[:, 0:2] + half], axis=1)


@dataclass
class Decoder:
    """Turns raw model outputs into per-frame :class:`Detections` (model class ids).

    Attributes:
        class_names: ``{class id: name}`` of the model.
        layout: the output layout, or None to detect it from the first output's shape.
        agnostic: suppress across classes too (default: only within a class).
    """

    class_names: dict[int, str]
    layout: OutputLayout | None = None
    agnostic: bool = False

    @classmethod
    def from_metadata(
        cls,
        metadata: Mapping[str, str],
        class_names: Mapping[int, str] | Sequence[str] | None = None,
        layout: OutputLayout | None = None,
    ) -> Decoder:
        """A decoder for a model: names from ``class_names`` (config) else the metadata.

        Raises:
            ModelError: neither gives class names, or the metadata's are malformed.
        """
        if class_names:
            names = parse_class_names(
                {int(k): v for k, v in class_names.items()}
                if isinstance(class_names, Mapping)
                else list(class_names)
            )
        else:
            found = class_names_from_metadata(metadata)
            if not found:
                raise ModelError(
                    "the model has no 'names' metadata: give its class names in the config "
                    "(detector: {names: [...]}) or with --names"
                )
            names = found
        return cls(class_names=names, layout=layout)

    @property
    def num_classes(self) -> int:
        return max(self.class_names) + 1 if self.class_names else 0

    def decode(
        self,
        outputs: Sequence[np.ndarray],
        infos: Sequence[LetterboxInfo] | None,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
    ) -> list[Detections]:
        """Decode a batch's outputs.

        Args:
            outputs: the model's outputs; the first holds the detections.
            infos: the letterbox of each frame (boxes are mapped back to it and clipped),
                or None to keep model-input pixels.
            conf: keep candidates scoring above this.
            iou: NMS IoU threshold (``yolov8`` layout only; end-to-end models did NMS).
            max_det: at most this many detections per frame.

        Returns:
            One :class:`Detections` per frame; ``class_id`` holds model class ids.
        """
        if not outputs:
            raise ModelError("the model returned no outputs")
        out = np.asarray(outputs[0])
        layout = self.layout or detect_layout(out.shape, self.num_classes or None)
        if out.ndim != 3:
            raise ModelError(f"expected a 3-d model output, got shape {out.shape}")
        if infos is not None and len(infos) != out.shape[0]:
            raise ModelError(
                f"the model returned {out.shape[0]} results for a batch of {len(infos)} frames"
            )
        results = []
        for b in range(out.shape[0]):
            if layout is OutputLayout.YOLOV8:
                det = self._decode_yolov8(out[b], conf, iou, max_det)
            else:
                det = self._decode_end2end(out[b], conf, max_det)
            if infos is not None and len(det):
                det = Detections(
                    xyxy=infos[b].to_original(det.xyxy),
                    confidence=det.confidence,
                    class_id=det.class_id,
                )
            results.append(det)
        return results

    def _decode_yolov8(self, pred: np.ndarray, conf: float, iou: float, max_det: int) -> Detections:
        # pred: (4 + nc, N). Work on the candidates above threshold only.
        nc = pred.shape[0] - 4
        if nc < 1:
            raise ModelError(f"yolov8 layout needs at least one class row, got shape {pred.shape}")
        scores = pred[4:]
        # One pass for the best score of every anchor; the argmax only for candidates.
        best_score = scores.max(axis=0)
        cand = np.flatnonzero(best_score > conf)
        if cand.size == 0:
            return Detections.empty()
        if cand.size > MAX_NMS_CANDIDATES:
            top = np.argsort(-best_score[cand], kind="stable")[:MAX_NMS_CANDIDATES]
            cand = cand[top]
        boxes = _cxcywh_to_xyxy(pred[:4, cand].T.astype(np.float32))
        sc = best_score[cand].astype(np.float32)
        cls = scores[:, cand].argmax(axis=0).astype(np.int64)
        keep = nms(boxes, sc, iou, None if self.agnostic else cls, max_det)
        return Detections(xyxy=boxes[keep], confidence=sc[keep], class_id=cls[keep])

    def _decode_end2end(self, pred: np.ndarray, conf: float, max_det: int) -> Detections:
        # pred: (N, 6) x1, y1, x2, y2, score, class.
        sel = np.flatnonzero(pred[:, 4] > conf)
        if sel.size == 0:
            return Detections.empty()
        order = sel[np.argsort(-pred[sel, 4], kind="stable")][:max_det]
        rows = pred[order]
        return Detections(
            xyxy=rows[:, :4].astype(np.float32),
            confidence=rows[:, 4].astype(np.float32),
            class_id=np.rint(rows[:, 5]).astype(np.int64),
        )


# ---------------------------------------------------------------------- roles


class ClassRoleMapper:
    """Maps a model's class ids to role ids; classes without a role are dropped.

    Defaults come from the role vocabulary by class name
    (:func:`gridsight.core.detection.roles.role_for_class`: a COCO model's ``person``,
    ``motorcycle``, ``truck`` are understood, and its ``dog`` is dropped unless a plugin
    or the config declared a role for it); ``overrides`` (from config) win and may name a
    class by name or id, and map it to any declared role name or to ``none``.

    Example:
        >>> m = ClassRoleMapper({0: "person", 3: "motorcycle", 16: "dog"}, {"dog": "none"})
        >>> m.role_of(3).label, m.role_of(16)
        ('motorbike', None)
    """

    def __init__(
        self,
        class_names: Mapping[int, str],
        overrides: Mapping[str | int, str | int | Role | None] | None = None,
    ) -> None:
        self.class_names = dict(class_names)
        roles: dict[int, int | None] = {
            cid: role_for_class(name) for cid, name in self.class_names.items()
        }
        by_name = {name.strip().lower(): cid for cid, name in self.class_names.items()}
        for key, value in (overrides or {}).items():
            if isinstance(key, int) and not isinstance(key, bool):
                if key not in self.class_names:
                    raise ConfigError(
                        f"class_to_role: class id {key} is not in the model "
                        f"(ids 0..{max(self.class_names, default=-1)})"
                    )
                cid = key
            else:
                cid_found = by_name.get(str(key).strip().lower())
                if cid_found is None:
                    raise ConfigError(
                        f"class_to_role: the model has no class {key!r}; its classes are "
                        f"{', '.join(sorted(by_name)[:20])}{' ...' if len(by_name) > 20 else ''}"
                    )
                cid = cid_found
            roles[cid] = parse_role(value, f"class_to_role entry {key!r}")
        self.roles = roles
        size = max(self.class_names, default=-1) + 1
        self._lut = np.full(max(size, 1), -1, np.int64)
        for cid, role in roles.items():
            if role is not None:
                self._lut[cid] = int(role)

    def role_of(self, class_id: int) -> int | None:
        """The role id of one model class, or None when it is dropped."""
        return self.roles.get(int(class_id))

    @property
    def lookup(self) -> np.ndarray:
        """``lookup[class_id]`` = role id, or -1 for classes that are dropped."""
        return self._lut.copy()

    def map(self, detections: Detections) -> Detections:
        """A copy with ``class_id`` = role ids; the model's ids go to ``data['model_class_id']``.

        Detections of classes without a role (and of ids the model does not have) are
        dropped.
        """
        cls = detections.class_id
        valid = (cls >= 0) & (cls < self._lut.shape[0])
        role = np.full(cls.shape, -1, np.int64)
        role[valid] = self._lut[cls[valid]]
        keep = role >= 0
        kept = detections[keep]
        return Detections(
            xyxy=kept.xyxy,
            confidence=kept.confidence,
            class_id=role[keep],
            tracker_id=kept.tracker_id,
            data={**kept.data, "model_class_id": cls[keep]},
        )
