"""``gridsight users`` against a store file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gridsight.api.accounts import AccountStore
from gridsight.cli import cli
from gridsight.orders.store import OrderStore


def test_users_add_token_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.sqlite'}"
    run = CliRunner().invoke
    r = run(
        cli,
        ["users", "add", "alice", "--role", "operator", "--password-stdin", "--db", db],
        input="alice-password\n",
    )
    assert r.exit_code == 0, r.output
    r = run(
        cli,
        [
            "users",
            "add",
            "wang",
            "--role",
            "worker",
            "--worker-id",
            "gw-ruijia-g01",
            "--no-password",
            "--db",
            db,
        ],
    )
    assert r.exit_code == 0, r.output
    r = run(cli, ["users", "token", "alice", "--label", "ci", "--db", db])
    assert r.exit_code == 0
    token = r.output.strip()
    store = OrderStore.open(db)
    accounts = AccountStore(store.engine)
    assert accounts.user_for_token(token).name == "alice"
    r = run(cli, ["users", "list", "--tokens", "--db", db])
    assert "alice" in r.output and "wang" in r.output and "gw-ruijia-g01" in r.output
    assert token not in r.output
    r = run(cli, ["users", "revoke", "alice", "--db", db])
    assert r.exit_code == 0 and "1 token(s) revoked" in r.output
    assert accounts.user_for_token(token) is None
    store.close()


def test_users_add_bad_role_or_short_password(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.sqlite'}"
    r = CliRunner().invoke(
        cli, ["users", "add", "x", "--role", "boss", "--no-password", "--db", db]
    )
    assert r.exit_code != 0 and "boss" in r.output


def test_users_revoke_refuses_the_last_admin_and_enable_undoes_a_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.sqlite'}"
    run = CliRunner().invoke
    for name, role in (("root", "admin"), ("bob", "viewer")):
        r = run(cli, ["users", "add", name, "--role", role, "--no-password", "--db", db])
        assert r.exit_code == 0, r.output
    r = run(cli, ["users", "revoke", "root", "--db", db])
    assert r.exit_code != 0 and "last enabled admin" in str(r.exception)  # main() prints it
    assert run(cli, ["users", "revoke", "bob", "--db", db]).exit_code == 0
    r = run(cli, ["users", "enable", "bob", "--db", db])
    assert r.exit_code == 0 and "enabled" in r.output
    store = OrderStore.open(db)
    assert not AccountStore(store.engine).by_name("bob").disabled
    store.close()
