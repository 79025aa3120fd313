"""``gridsight config``: validate township configs, print their JSON Schema, refresh zones."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import click

from gridsight.core.errors import GridsightError

EXIT_INVALID = 2


def _fail(exc: GridsightError) -> None:
    """Print a gridsight error as one clear message and exit 2 (as the main CLI does)."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_INVALID)


@click.group("config")
def config() -> None:
    """Validate township configs and print their JSON Schema."""


def summarise(township: Any, hazards_checked: int | None) -> dict[str, Any]:
    """The numbers ``config check`` prints, as plain data (also its ``--json`` output)."""
    villages = township.villages
    return {
        "township": township.id,
        "name": township.name,
        "villages": len(villages),
        "placeholder_villages": sum(1 for v in villages if v.placeholder),
        "grids": len(township.grids),
        "micro_grids": len(township.micro_grids),
        "cameras": len(township.cameras),
        "staff": township.staff_counts(),
        "cameras_per_hazard": township.cameras_per_hazard(),
        "hazard_plugins_checked": hazards_checked,
    }


_STAFF_LABELS = {
    "grid_workers": "grid workers (网格员)",
    "micro_grid_workers": "micro-grid workers (微网格员)",
    "stationed_cadres": "village-stationed cadres (驻村干部)",
    "safety_volunteers": "safety volunteers (平安志愿者)",
    "building_heads": "building heads (楼栋长)",
    "response_teams": '"1+3+N" teams',
    "response_team_members": '"1+3+N" team members',
}


def _pad(text: str, width: int) -> str:
    """Left-justify to a display width (CJK characters take two terminal columns)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - shown)


def _print_summary(path: Path, summary: dict[str, Any], name_en: str | None) -> None:
    title = summary["name"] + (f" ({name_en})" if name_en else "")
    click.echo(f"{path}: OK: {title}")
    placeholders = summary["placeholder_villages"]
    rows = [
        (
            "villages/communities",
            summary["villages"],
            f"({placeholders} placeholders)" if placeholders else "",
        ),
        ("comprehensive grids", summary["grids"], ""),
        ("micro-grids", summary["micro_grids"], ""),
        ("AI cameras", summary["cameras"], ""),
    ]
    for label, value, note in rows:
        click.echo(f"  {_pad(label, 40)}{value:>6}  {note}".rstrip())
    click.echo("staff")
    for key, value in summary["staff"].items():
        click.echo(f"  {_pad(_STAFF_LABELS.get(key, key), 40)}{value:>6}")
    click.echo("cameras per hazard")
    for hazard, count in summary["cameras_per_hazard"].items() or [("(none)", 0)]:
        click.echo(f"  {_pad(hazard, 40)}{count:>6}")
    checked = summary["hazard_plugins_checked"]
    if checked is None:
        click.echo("hazard settings: not checked (--no-plugins)")
    else:
        click.echo(f"hazard settings: valid for the loaded plugins ({checked} hazards known)")


@config.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--no-plugins",
    is_flag=True,
    help="Skip checking each camera's hazard settings and source URI against the plugins.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def check(file: Path, no_plugins: bool, as_json: bool) -> None:
    """Validate a township config FILE and print a summary.

    Checks the schema (a misspelt key is an error naming it), every cross-reference
    (grid -> village, camera -> grid of its village), zone geometry (simple polygons
    inside the image), declared counts, each camera's hazard settings against the
    hazard plugins' settings models, and each camera's source URI against the source
    plugins (a known scheme; synthetic:// scene and parameters). Files and streams are
    not opened. Exits 2 with file:line:field messages if invalid.
    """
    from gridsight.core.config import load_township, validate_camera_hazards
    from gridsight.core.config.sources import check_camera_sources
    from gridsight.core.plugins import build_plugin_manager, hazard_rules

    try:
        township = load_township(file)
        checked: int | None = None
        if not no_plugins:
            pm = build_plugin_manager()
            validate_camera_hazards(township, pm)
            check_camera_sources(township, pm)
            checked = len(hazard_rules(pm))
    except GridsightError as exc:
        _fail(exc)
        return
    summary = summarise(township, checked)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_summary(file, summary, township.name_en)


@config.command("schema")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    default=None,
    help="Write the schema to this file instead of standard output.",
)
def schema(out: Path | None) -> None:
    """Print the JSON Schema of a township config (point your editor's YAML plugin at it)."""
    from gridsight.core.config import township_json_schema

    text = json.dumps(township_json_schema(), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


@config.command("refresh-zones")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--write", is_flag=True, help="Rewrite FILE (default: only show the changes).")
def refresh_zones(file: Path, write: bool) -> None:
    """Replace the zones of FILE's synthetic:// cameras with the simulator's scene zones.

    Only the `zones:` blocks are edited; comments and everything else stay as written.
    """
    from gridsight.core.config.zone_refresh import refresh_zones_text
    from gridsight.simulator import scene_zones

    try:
        text = file.read_text(encoding="utf-8")
        new_text, changes = refresh_zones_text(text, scene_zones, source=str(file))
    except GridsightError as exc:
        _fail(exc)
        return
    for change in changes:
        click.echo(f"{change.camera}: zones {list(change.before)} -> {list(change.after)}")
    if new_text == text:
        click.echo("zones already up to date")
    elif write:
        file.write_text(new_text, encoding="utf-8")
        click.echo(f"rewrote {file}")
    else:
        click.echo("(dry run: pass --write to rewrite the file)")
