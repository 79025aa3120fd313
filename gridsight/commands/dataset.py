"""``gridsight dataset export``: frames of a run's events, with pre-labels, for labelling.

Example:
    gridsight run town.yaml --alerts alerts.jsonl
    gridsight dataset export alerts.jsonl --config town.yaml --out to-label/ --around 2
    # label in CVAT or Label Studio (import images/ + labels/ as YOLO, or annotations.json
    # as COCO), export COCO back into to-label/, then:
    gridsight eval model to-label/ --model my.onnx
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from gridsight.commands import options


@click.group("dataset")
def dataset() -> None:
    """Datasets for labelling: export event frames with the detector's pre-labels."""


@dataset.command("export")
@click.argument("alerts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The township config the run used (its cameras' sources and detectors).",
)
@options.out_dir(default=None, help="Folder of the dataset (images/, labels/, annotations.json).")
@click.option(
    "--around",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Also take the frame this many seconds before each start (the approach).",
)
@click.option("--no-blur", is_flag=True, help="Keep faces clear (where policy allows).")
@options.detector("Model for the pre-labels (default: each camera's detector: in the config).")
@options.names()
@options.as_json("Print the summary as JSON.")
def export(
    alerts: Path,
    config: Path,
    out: Path,
    around: float,
    no_blur: bool,
    backend: str,
    model: str | None,
    names: tuple[str, ...] | None,
    as_json: bool,
) -> None:
    """Export the frames of ALERTS' event starts (a run's --alerts JSONL) to label.

    Each frame is read again from its camera's source in CONFIG (file and synthetic
    cameras; a live stream cannot be rewound) and run through the camera's model; its
    boxes become pre-labels in YOLO (labels/*.txt, classes.txt, data.yaml) and COCO
    (annotations.json), which CVAT and Label Studio import.
    """
    from gridsight.core.config import load_township
    from gridsight.core.detection.detections import Detections
    from gridsight.core.detection.pool import DetectorPool
    from gridsight.core.plugins import build_plugin_manager
    from gridsight.evaluation.labelling import frames_of_events, read_events, write_dataset

    pm = build_plugin_manager()
    town = load_township(config, pm)
    events = read_events(alerts)
    skipped: dict[str, int] = {}
    frames = frames_of_events(events, town.cameras, pm, around_s=around, skipped=skipped)
    used = sorted({f.event.camera for f in frames})
    cams = [c for c in town.cameras if c.id in used]
    pool = DetectorPool(
        cams,
        pm,
        default=town.detector,
        model=model,
        names=names,
        backend=backend,
        defaults={"conf": 0.25, "iou": 0.7, "max_det": 300},
    )
    try:
        detectors = {id(pool.for_camera(c)) for c in used}
        if len(detectors) > 1:
            raise click.UsageError(
                "the cameras of these events use different models; export one model's "
                "cameras at a time (or pass --model)"
            )
        detector = pool.default if not used else pool.for_camera(used[0])

        def detect(camera: str, image: np.ndarray) -> Detections:
            return pool.for_camera(camera).detect_model_classes([image])[0]

        summary = write_dataset(out, frames, detect, detector.class_names, blur=not no_blur)
    finally:
        pool.close()
    summary["skipped"] = skipped
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{summary['images']} frames of {len(events)} events -> {out}")
    for name, n in summary["boxes"].items():
        click.echo(f"  {name:<16} {n} pre-labels")
    for why, n in skipped.items():
        click.echo(f"  skipped {n}: {why}")
