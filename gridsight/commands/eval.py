"""``gridsight eval``: a model on a labelled set (COCO mAP), a run against labelled episodes.

Example:
    gridsight eval model to-label/ --model my.onnx
    gridsight eval events alerts.jsonl --truth episodes.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gridsight.commands import options
from gridsight.core.errors import DataError


@click.group("eval")
def eval_() -> None:
    """Evaluate a model on your labelled frames, or a run's events on labelled episodes."""


@eval_.command("model")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@options.detector()
@options.names()
@click.option("--batch", default=8, show_default=True, type=click.IntRange(min=1))
@options.as_json("Print the result as JSON.")
def model_(
    data: Path,
    backend: str,
    model: str | None,
    names: tuple[str, ...] | None,
    batch: int,
    as_json: bool,
) -> None:
    """COCO mAP per class of a model on DATA (a folder with annotations.json in COCO form,
    e.g. a `dataset export` corrected in CVAT or Label Studio). No torch needed.

    The model runs at Ultralytics' validation settings (conf 0.001, iou 0.7), and is
    matched to the labels' categories by class name.
    """
    from gridsight.core.detection.detector import Detector
    from gridsight.core.detection.spec import resolve_model
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.evaluation.coco_map import VAL_CONF, VAL_IOU, VAL_MAX_DET, evaluate_detector

    pm = build_plugin_manager()
    path, spec = resolve_model(model, pm)
    kwargs: dict[str, Any] = dict(conf=VAL_CONF, iou=VAL_IOU, max_det=VAL_MAX_DET, pm=pm)
    if names:
        kwargs.update(class_names=list(names), names_from="--names")
    detector = (
        Detector.from_spec(spec, backend, **kwargs)
        if spec is not None
        else Detector(path, backend, **kwargs)
    )
    with detector:
        result = evaluate_detector(data, detector, batch=batch)
    result["model"] = str(path)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{path.name} on {data} ({result['images']} images): "
        f"mAP50-95 {result['map']:.3f}  mAP50 {result['map50']:.3f}"
    )
    for name, row in result["classes"].items():
        ap = "-" if row["ap"] is None else f"{row['ap']:.3f}"
        ap50 = "-" if row["ap50"] is None else f"{row['ap50']:.3f}"
        click.echo(f"  {name:<16} AP {ap:>6}  AP50 {ap50:>6}  labels {row['labels']}")


def _episodes(path: Path) -> list[dict[str, Any]]:
    """Episodes from ``{"episodes": [{camera, hazard, start, end[, near_miss]}]}`` or
    ``{"cameras": {camera: {"episodes": [...]}}}`` (``gridsight world truth`` per camera)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from exc
    out: list[dict[str, Any]] = []
    if isinstance(doc, dict) and isinstance(doc.get("cameras"), dict):
        for camera, body in doc["cameras"].items():
            out += [{"camera": camera, **ep} for ep in body.get("episodes", [])]
    elif isinstance(doc, dict) and isinstance(doc.get("episodes"), list):
        out = list(doc["episodes"])
    else:
        raise DataError(f"{path}: expected {{'episodes': [...]}} or {{'cameras': {{...}}}}")
    for k, ep in enumerate(out):
        missing = [f for f in ("camera", "hazard", "start", "end") if f not in ep]
        if missing:
            raise DataError(f"{path}: episode {k}: missing {', '.join(missing)}")
    return out


@eval_.command("events")
@click.argument("alerts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Labelled episodes: {"episodes": [{camera, hazard, start, end, near_miss?}]}.',
)
@click.option("--slack", default=1.0, show_default=True, type=float, help="Seconds of tolerance.")
@options.as_json("Print the scores as JSON.")
def events_(alerts: Path, truth: Path, slack: float, as_json: bool) -> None:
    """Event precision and recall of a run (its --alerts JSONL) against labelled episodes."""
    from gridsight.evaluation.labelling import read_events
    from gridsight.evaluation.scoring import (
        episode_spans,
        event_spans,
        format_scores,
        score_events,
    )

    events = read_events(alerts)
    spans = episode_spans("", _episodes(truth))
    scores = score_events(event_spans(events), spans, slack_s=slack)
    if as_json:
        click.echo(json.dumps({h: s.to_dict() for h, s in scores.items()}, indent=2))
        return
    click.echo(format_scores(scores))
