"""``gridsight report daily|weekly|monthly``: Markdown + PNG reports from the order store."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from gridsight.commands.orders import config_option, db_option


def _run(kind: str, db: str, config: Path, out: Path, day: str | None) -> None:
    from gridsight.core.config import load_township
    from gridsight.core.errors import ConfigError
    from gridsight.orders.reports.periodic import build_report
    from gridsight.orders.reports.render import write_report
    from gridsight.orders.store import OrderStore

    if not config.exists():
        raise ConfigError(f"{config}: no such township config; pass --config PATH")
    town = load_township(config)
    s = town.orders
    zone = s.zone
    if day is None:
        when = datetime.now(zone).date()
    else:
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(
                f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date"
            ) from None
    with OrderStore.open(db) as store:
        rep = build_report(
            store, kind, when, zone, township=town.name_en or town.name,
            close_target_min=s.sla.close_min, dispatch_target_s=s.sla.dispatch_s,
        )  # fmt: skip
    path = write_report(rep, out)
    click.echo(f"{rep.orders} orders, {rep.label}: {path}")


def _command(kind: str, what: str) -> click.Command:
    @click.command(kind, help=f"The {what} of DATE's period (default: today) into --out DIR.")
    @db_option
    @config_option
    @click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
    @click.option("--date", "day", default=None, help="A day of the period (YYYY-MM-DD).")
    def cmd(db: str, config: Path, out: Path, day: str | None) -> None:
        _run(kind, db, config, out, day)

    return cmd


@click.group("report")
def report() -> None:
    """Periodic work-order reports: orders per hazard/village/grid, SLA attainment with
    95% CIs, closure times against the 55-minute line, repeat locations, per-worker load.

    \b
    Examples:
      gridsight report daily --db runs/orders.sqlite --out reports/
      gridsight report weekly --db postgresql+psycopg://... --out reports/ --date 2026-07-01
    """


report.add_command(_command("daily", "daily log"))
report.add_command(_command("weekly", "weekly joint review (ISO week)"))
report.add_command(_command("monthly", "monthly analysis (calendar month)"))
