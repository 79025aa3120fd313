"""``gridsight users``: accounts and bearer tokens of the REST service."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from gridsight.core.errors import ConfigError

if TYPE_CHECKING:
    from gridsight.api.accounts import AccountStore
    from gridsight.orders.store import OrderStore

_DB_HELP = "Store URL or SQLite path (default $GRIDSIGHT_DB_URL, else sqlite:///gridsight.db)."


def _accounts(db: str | None) -> tuple[AccountStore, OrderStore]:
    from gridsight.api.accounts import AccountStore
    from gridsight.orders.store import OrderStore

    url = db or os.environ.get("GRIDSIGHT_DB_URL") or "sqlite:///gridsight.db"
    store = OrderStore.open(url)
    return AccountStore(store.engine), store


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group("users")
def users() -> None:
    """Accounts (viewer, operator, admin, worker) and their bearer tokens.

    \b
    Examples:
      gridsight users add alice --role operator --db data/gridsight.db   # asks a password
      gridsight users add wang --role worker --worker-id gw-ruijia-g01 --password-stdin
      gridsight users token ci-bot --label nightly                     # prints the token once
      gridsight users list
      gridsight users revoke alice          # disable alice and revoke her tokens
      gridsight users revoke --token 7      # revoke one token
    """


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin", "worker"]), required=True)
@click.option("--worker-id", default=None, help="Roster worker id (role worker).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="A token-only account (automation).")
@click.option("--db", default=None, help=_DB_HELP)
def add(
    name: str,
    role: str,
    worker_id: str | None,
    password_stdin: bool,
    no_password: bool,
    db: str | None,
) -> None:
    """Create an account."""
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the passwords differ")
    accounts, store = _accounts(db)
    with store:
        user = accounts.add_user(name, role, password=password, worker_id=worker_id)
    click.echo(f"user {user.name} ({user.role}) created, id {user.id}")


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.option("--db", default=None, help=_DB_HELP)
def token(name: str, label: str, db: str | None) -> None:
    """Issue a bearer token for NAME (printed once; only its hash is stored)."""
    accounts, store = _accounts(db)
    with store:
        user = accounts.by_name(name)
        click.echo(accounts.issue_token(user.id, label=label))


@users.command("list")
@click.option("--tokens", is_flag=True, help="List the tokens too.")
@click.option("--db", default=None, help=_DB_HELP)
def list_users(tokens: bool, db: str | None) -> None:
    """List accounts (and tokens)."""
    accounts, store = _accounts(db)
    with store:
        for u in accounts.list_users():
            state = "disabled" if u.disabled else "active"
            worker = f" worker {u.worker_id}" if u.worker_id else ""
            click.echo(f"{u.id:>4}  {u.name:<20} {u.role:<9} {state}{worker}")
        if tokens:
            for t in accounts.list_tokens():
                status = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "active"
                click.echo(
                    f"token {t.id:>4}  {t.user:<20} {t.label or '-':<16} created "
                    f"{_when(t.created_at)}  last used {_when(t.last_used_at)}  {status}"
                )


@users.command("revoke")
@click.argument("name", required=False)
@click.option("--token", "token_id", type=int, default=None, help="Revoke one token by id.")
@click.option("--db", default=None, help=_DB_HELP)
def revoke(name: str | None, token_id: int | None, db: str | None) -> None:
    """Disable NAME and revoke all their tokens, or revoke one token (--token ID)."""
    if (name is None) == (token_id is None):
        raise click.UsageError("give a user NAME or --token ID (one of them)")
    accounts, store = _accounts(db)
    with store:
        if token_id is not None:
            if not accounts.revoke_token(token_id):
                raise ConfigError(f"no active token {token_id}")
            click.echo(f"token {token_id} revoked")
            return
        n = accounts.disable(str(name))
        click.echo(f"user {name} disabled, {n} token(s) revoked")


@users.command("enable")
@click.argument("name")
@click.option("--db", default=None, help=_DB_HELP)
def enable(name: str, db: str | None) -> None:
    """Enable NAME again (a disabled account; its old tokens and sessions stay revoked)."""
    accounts, store = _accounts(db)
    with store:
        accounts.enable(name)
        click.echo(f"user {name} enabled")
