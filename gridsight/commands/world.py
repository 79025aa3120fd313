"""``gridsight world``: render, inspect and export the synthetic camera world."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import cv2
import numpy as np
import yaml
from tqdm import tqdm

from gridsight.commands import options
from gridsight.core.detection.roles import ROLE_NAMES
from gridsight.core.errors import DataError
from gridsight.simulator.uri import SCENES
from gridsight.simulator.world import FrameTruth, open_world, scene_zones

# Box colours per role (BGR), for --draw-truth and the docs' sample images.
ROLE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),
    (255, 200, 0),
    (0, 0, 255),
    (255, 0, 255),
    (0, 200, 255),
    (255, 255, 255),
)


def draw_truth(image: np.ndarray, truth: FrameTruth, zones: list[dict] | None = None) -> np.ndarray:
    """A copy of ``image`` with truth boxes, role names, track ids and zones drawn."""
    out = image.copy()
    for zone in zones or []:
        pts = np.round(np.asarray(zone["points"], np.float64)).astype(np.int32)
        if zone.get("kind", "polygon") == "line":
            cv2.line(out, tuple(pts[0]), tuple(pts[1]), (0, 255, 255), 2, cv2.LINE_AA)
        else:
            cv2.polylines(out, [pts.reshape(-1, 1, 2)], True, (0, 255, 255), 1, cv2.LINE_AA)
    for box, role, track in zip(truth.boxes, truth.roles, truth.track_ids, strict=True):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        colour = ROLE_COLOURS[int(role) % len(ROLE_COLOURS)]
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), colour, 1)
        label = f"{ROLE_NAMES[int(role)]} {int(track)}"
        cv2.putText(
            out,
            label,
            (x1, max(10, y1 - 3)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            colour,
            1,
            cv2.LINE_AA,
        )
    return out


@click.group()
def world() -> None:
    """The synthetic camera world: render, truth, zones, sample, dataset, train, evaluate,
    quantize.

    \b
    URIs: synthetic://<scene>?seed=N&fps=F&w=W&h=H  (scene: reservoir, stairwell,
          fire_lane, street; optional: time=day|dusk|night, clock=HH:MM, density=X,
          effects=0|1)
    """


@world.command()
@click.argument("uri")
@options.duration(default=20.0, help="Seconds of stream time to render.", short=True)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output video (.mp4, MPEG-4 part 2).",
)
@click.option(
    "--draw-truth", "draw", is_flag=True, help="Draw the truth boxes and zones on the video."
)
def render(uri: str, duration: float, out: Path, draw: bool) -> None:
    """Render a synthetic camera to a video file.

    \b
    Example:
      gridsight world render "synthetic://reservoir?seed=1" --duration 20 --out x.mp4
      gridsight world render "synthetic://street?seed=5&time=night" --draw-truth -o s.mp4
    """
    w = open_world(uri)
    n = round(duration * w.fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(out), fourcc, w.fps, (w.spec.width, w.spec.height))
    if not writer.isOpened():
        raise DataError(f"cannot open {out} for writing with the mp4v codec; check the path")
    try:
        for index in tqdm(
            range(n), desc=f"render {w.spec.scene}", unit="frame", disable=not sys.stderr.isatty()
        ):
            image, truth = w.render(index)
            writer.write(draw_truth(image, truth, w.zones) if draw else image)
    finally:
        writer.release()
    click.echo(
        f"wrote {out} ({n} frames, {w.fps:g} fps, {w.spec.width}x{w.spec.height}, "
        f"{w.lighting_kind}, clock {w.describe()['clock_start']})"
    )


@world.command()
@click.argument("uri")
@options.duration(default=60.0, help="Seconds of stream time.", short=True)
@click.option("--no-frames", is_flag=True, help="Leave out the per-frame boxes.")
@click.option("--indent", type=int, default=None, help="Indent the JSON (default: compact).")
def truth(uri: str, duration: float, no_frames: bool, indent: int | None) -> None:
    """Print the ground truth of a synthetic camera as JSON.

    \b
    {"episodes": [{"hazard", "start", "end", "track_ids"}], "near_misses": [...],
     "zones": [...], "frames": [{"index", "ts", "boxes", "roles", "track_ids", "visible"}],
     plus the world's scene, lighting and clock_start}

    Example: gridsight world truth "synthetic://fire_lane?seed=3" --duration 600 --no-frames
    """
    w = open_world(uri)
    click.echo(
        json.dumps(w.truth(duration, frames=not no_frames), indent=indent, ensure_ascii=False)
    )


@world.command()
@click.option("--n", "n", type=int, required=True, help="Number of images.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Dataset seed.")
@click.option("--val-frac", type=float, default=0.15, show_default=True)
@click.option("--test-frac", type=float, default=0.15, show_default=True)
@click.option(
    "--frames-per-scene",
    type=int,
    default=8,
    show_default=True,
    help="Images per synthetic camera (world); worlds = n / this.",
)
@click.option("--width", type=int, default=640, show_default=True)
@click.option("--height", type=int, default=360, show_default=True)
@click.option(
    "--density",
    type=float,
    default=2.5,
    show_default=True,
    help="Traffic multiplier (more objects and occlusion per image).",
)
def dataset(
    n: int,
    out: Path,
    seed: int,
    val_frac: float,
    test_frac: float,
    frames_per_scene: int,
    width: int,
    height: int,
    density: float,
) -> None:
    """Export a YOLO-format detection dataset, split into train/val/test by world seed."""
    from gridsight.simulator.dataset import DatasetOptions, export_dataset

    opts = DatasetOptions(
        n=n,
        seed=seed,
        val_frac=val_frac,
        test_frac=test_frac,
        frames_per_world=frames_per_scene,
        width=width,
        height=height,
        density=density,
    )
    with tqdm(total=n, desc="dataset", unit="img", disable=not sys.stderr.isatty()) as bar:
        summary = export_dataset(out, opts, progress=bar.update)
    for split in ("train", "val", "test"):
        counts = ", ".join(f"{k} {v}" for k, v in summary.boxes[split].items())
        click.echo(
            f"{split}: {summary.images[split]} images, "
            f"{len(summary.worlds[split])} worlds; boxes: {counts}"
        )
    click.echo(f"wrote {out / 'data.yaml'}")


@world.command()
@click.argument("uri")
def zones(uri: str) -> None:
    """Print a synthetic camera's zones as YAML, to paste under a camera's ``zones:``."""
    entries = scene_zones(uri)
    click.echo(f"# zones of {uri}")
    for entry in entries:
        flow = yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=10_000)
        click.echo(f"- {flow.strip()}")


@world.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs/img"),
    show_default=True,
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--at",
    "at_s",
    type=float,
    default=None,
    help="Stream time of the frame (default: inside the first episode).",
)
@click.option(
    "--width",
    type=int,
    default=480,
    show_default=True,
    help="Image width (small, so the docs' PNGs stay small).",
)
@click.option("--height", type=int, default=270, show_default=True)
def sample(out: Path, seed: int, at_s: float | None, width: int, height: int) -> None:
    """Write a PNG of each scene by day and by night with truth boxes and zones drawn."""
    out.mkdir(parents=True, exist_ok=True)
    for scene in SCENES:
        for lighting in ("day", "night"):
            uri = f"synthetic://{scene}?seed={seed}&w={width}&h={height}&time={lighting}"
            w = open_world(f"{uri}&density=2")
            t = at_s
            if t is None:
                episodes, _ = w.labels(1800.0)
                t = (episodes[0]["start"] + 8.0) if episodes else 60.0
            index = round(t * w.fps)
            image, tr = w.render(index)
            path = out / f"world_{scene}_{lighting}.png"
            cv2.imwrite(str(path), draw_truth(image, tr, w.zones), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            click.echo(f"wrote {path} (t={index / w.fps:.1f} s, {len(tr.boxes)} boxes)")


# Engineer D's training command (gridsight/commands/world_train.py); it imports torch only
# when run, so registering it here keeps `gridsight world` light.
from gridsight.commands.world_train import evaluate, train  # noqa: E402

world.add_command(train)
world.add_command(evaluate)

from gridsight.commands.world_quantize import quantize  # noqa: E402

world.add_command(quantize)
