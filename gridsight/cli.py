"""The ``gridsight`` command.

Subcommands live in ``gridsight.commands.*`` and are imported only when used, so
``gridsight --help`` is fast and a broken optional part cannot break the others.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from gridsight import __version__
from gridsight.core.errors import GridsightError

# name -> (module, attribute, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "config": ("gridsight.commands.config", "config", "Validate configs, print the JSON Schema."),
    "plugins": ("gridsight.commands.plugins", "plugins", "List plugins, hooks and hazards."),
    "world": (
        "gridsight.commands.world",
        "world",
        "The synthetic world: render, truth, dataset, train.",
    ),
    "detect": ("gridsight.commands.detect", "detect", "Run a detector model on images."),
    "dataset": (
        "gridsight.commands.dataset",
        "dataset",
        "Export event frames with pre-labels for labelling (YOLO, COCO).",
    ),
    "eval": (
        "gridsight.commands.eval",
        "eval_",
        "Evaluate a model (COCO mAP) or a run's events on your labels.",
    ),
    "run": ("gridsight.commands.run", "run", "Run the engine on a township config's cameras."),
    "demo": ("gridsight.commands.demo", "demo", "Run the 12 synthetic cameras and score events."),
    "sim": ("gridsight.commands.sim", "sim", "The governance simulator: run, sweep, verify, mmc."),
    "serve": (
        "gridsight.commands.serve",
        "serve",
        "Run the engine, work orders, REST API and dashboard in one process.",
    ),
    "users": ("gridsight.commands.users", "users", "REST accounts and bearer tokens."),
    "orders": (
        "gridsight.commands.orders",
        "orders",
        "Work orders: list, show, transition, watch.",
    ),
    "outbox": (
        "gridsight.commands.outbox",
        "outbox",
        "Notification outbox: list, retry dead letters, relay, test a URL.",
    ),
    "report": ("gridsight.commands.report", "report", "Daily / weekly / monthly order reports."),
    "node": ("gridsight.commands.node", "node", "Run an engine node of a NATS cluster."),
    "cluster": (
        "gridsight.commands.cluster",
        "cluster",
        "A cluster of engine nodes: status, drain, cameras.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise click.ClickException(
                f"the '{cmd_name}' command cannot load ({exc}); "
                "reinstall gridsight with its extras: pip install 'gridsight[dev]'"
            ) from exc
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gridsight")
def cli() -> None:
    """gridsight: watch township cameras for four hazards and check service targets.

    \b
    Hazards: fire_lane, ebike, vending, near_water.
    Start with:  gridsight config check configs/jingqiao.yaml
                 gridsight run --duration 60
                 gridsight sim run configs/sim/baseline.yaml
    """


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turning gridsight errors into one clear line and exit 2."""
    try:
        return cli.main(args=argv, prog_name="gridsight", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GridsightError as exc:
        args = sys.argv[1:] if argv is None else argv
        if "-v" in args or "--verbose" in args:  # where it came from, e.g. a plugin's line
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
