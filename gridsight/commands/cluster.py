"""``gridsight cluster``: look at and steer a running cluster of engine nodes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from gridsight.commands import cluster_options

T = TypeVar("T")


def _with_store(nats_url: str, cluster_name: str, fn: Callable[[Any], Awaitable[T]]) -> T:
    from gridsight.live.cluster.control import open_store
    from gridsight.live.cluster.names import ClusterNames

    async def main() -> T:
        nc, store = await open_store(nats_url, ClusterNames(cluster_name))
        try:
            return await fn(store)
        finally:
            await nc.close()

    return asyncio.run(main())


@click.group("cluster")
def cluster() -> None:
    """Look at and steer a cluster of engine nodes (gridsight node) on NATS JetStream."""


@cluster.command("status")
@cluster_options.nats()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the documented shape).")
def status(nats_url: str, cluster_name: str, as_json: bool) -> None:
    """Nodes (alive, capacity, load, fps) and every camera's node, epoch and state.

    \b
    JSON: {"nodes": [{"id", "alive", "cameras": [ids], "capacity", "load", "fps",
                      "assigner", "draining"}],
           "cameras": [{"id", "node", "epoch", "state", "assigned", "fps"}]}
    """
    from gridsight.live.cluster.control import cluster_status

    data = _with_store(nats_url, cluster_name, cluster_status)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console = Console()
    nodes = Table(title=f"nodes of cluster {cluster_name}", title_justify="left")
    for col in ("node", "alive", "capacity", "load", "fps", "role", "cameras"):
        nodes.add_column(col)
    for n in data["nodes"]:
        role = ("assigner " if n["assigner"] else "") + ("draining" if n["draining"] else "")
        nodes.add_row(
            n["id"],
            "yes" if n["alive"] else "[red]no[/red]",
            str(n["capacity"] if n["capacity"] is not None else "-"),
            str(n["load"]),
            f"{n['fps']:.1f}",
            role.strip() or "-",
            ", ".join(n["cameras"]),
        )
    cams = Table(title="cameras", title_justify="left")
    for col in ("camera", "node", "epoch", "state", "assigned", "fps"):
        cams.add_column(col)
    for c in data["cameras"]:
        cams.add_row(
            c["id"],
            c["node"] or "-",
            str(c["epoch"] or "-"),
            c["state"],
            c["assigned"] or "-",
            f"{c['fps']:.1f}",
        )
    console.print(nodes, cams)


@cluster.command("drain")
@click.argument("node_id")
@cluster_options.nats()
@click.option("--undo", is_flag=True, help="Stop draining: the node takes cameras again.")
def drain(node_id: str, nats_url: str, cluster_name: str, undo: bool) -> None:
    """Move NODE_ID's cameras to the other nodes (before an upgrade); --undo to let it back."""
    from gridsight.live.cluster.control import set_drain

    async def act(store: Any) -> None:
        await set_drain(store, node_id, drain=not undo)

    _with_store(nats_url, cluster_name, act)
    click.echo(f"node {node_id}: {'no longer draining' if undo else 'draining'}")


@cluster.command("camera-put")
@click.argument("camera_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@cluster_options.nats()
def camera_put(camera_file: Path, nats_url: str, cluster_name: str) -> None:
    """Add or replace a camera (a YAML or JSON file of one camera's config)."""
    import yaml
    from pydantic import ValidationError

    from gridsight.core.config.camera import CameraConfig
    from gridsight.core.config.validation import format_validation
    from gridsight.core.errors import ConfigError
    from gridsight.live.cluster.control import put_camera

    try:
        cfg = CameraConfig.model_validate(yaml.safe_load(camera_file.read_text()))
    except ValidationError as exc:
        raise ConfigError(f"{camera_file}: {format_validation(exc, CameraConfig)}") from None

    async def act(store: Any) -> int:
        return await put_camera(store, cfg)

    rev = _with_store(nats_url, cluster_name, act)
    click.echo(f"camera {cfg.id}: written (revision {rev})")


@cluster.command("camera-remove")
@click.argument("camera_id")
@cluster_options.nats()
def camera_remove(camera_id: str, nats_url: str, cluster_name: str) -> None:
    """Remove a camera from the cluster (its node stops it)."""
    from gridsight.live.cluster.control import remove_camera

    async def act(store: Any) -> None:
        await remove_camera(store, camera_id)

    _with_store(nats_url, cluster_name, act)
    click.echo(f"camera {camera_id}: removed")
