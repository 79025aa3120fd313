"""``gridsight report daily|weekly|monthly``: Markdown + PNG reports from the order store."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from gridsight.commands.orders import config_option, db_option

#: How many days with orders a report names when its day has none.
MAX_DAYS_NAMED = 10


def _run(kind: str, db: str, config: Path, out: Path, day: str | None) -> None:
    from gridsight.core.config import load_township
    from gridsight.core.errors import ConfigError
    from gridsight.orders.reports.periodic import build_report, order_days
    from gridsight.orders.reports.render import write_report
    from gridsight.orders.store import OrderStore
    from gridsight.orders.store_clock import StoreClock

    if not config.exists():
        raise ConfigError(f"{config}: no such township config; pass --config PATH")
    town = load_township(config)
    s = town.orders
    zone = s.zone
    when: date | None = None
    if day is not None:
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(
                f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date"
            ) from None
    with OrderStore.open(db) as store:
        clock = StoreClock(store)
        if when is None:  # today on the store's clock (a stream's, for a demo's store)
            when = datetime.fromtimestamp(clock(), zone).date()
        rep = build_report(
            store, kind, when, zone, township=town.name_en or town.name,
            close_target_min=s.sla.close_min, dispatch_target_s=s.sla.dispatch_s,
        )  # fmt: skip
        days = order_days(store, zone) if rep.orders == 0 and day is None else []
        note = clock.note(zone)
    path = write_report(rep, out)
    click.echo(f"{rep.orders} orders, {rep.label}: {path}")
    if note:
        click.echo(note)
    if days:
        shown = ", ".join(f"{d.isoformat()} ({n})" for d, n in days[:MAX_DAYS_NAMED])
        more = f" and {len(days) - MAX_DAYS_NAMED} more" if len(days) > MAX_DAYS_NAMED else ""
        click.echo(
            f"No order on {when.isoformat()}; the store has orders on {shown}{more}. "
            f"Pass --date {days[0][0].isoformat()} for the newest."
        )


def _command(kind: str, what: str) -> click.Command:
    @click.command(
        kind,
        help=f'The {what} of DATE\'s period (default: today) into --out DIR. "Today" is '
        "the store's: on a store written on a stream's clock (gridsight demo) the day of "
        "the run's last stream time. Without --date, a period with no order names the "
        "days that have some.",
    )
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
