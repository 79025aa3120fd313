"""An API app over a fresh SQLite store with the Jingqiao township, a fake clock, and
one account per role (tokens ready to send)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridsight.api import Settings, create_app
from gridsight.api.services import Services, build_services
from gridsight.core.config import validate_camera_hazards
from gridsight.core.plugins import build_plugin_manager
from gridsight.live import LiveOptions, build_pipeline
from gridsight.orders.config import OrdersTownship, load_orders_township

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "jingqiao.yaml"
# 2026-12-01 10:00 in Asia/Shanghai (02:00 UTC): grid workers are on shift.
T0 = 1_796_090_400.0


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Api:
    """The app under test and what the tests need to drive it."""

    client: TestClient
    services: Services
    clock: FakeClock
    tokens: dict[str, str]
    settings: Settings

    def h(self, role: str) -> dict[str, str]:
        """Authorization header of the account ``role`` (admin, operator, viewer, ...)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def worker_account(self, worker_id: str, name: str | None = None) -> dict[str, str]:
        """A worker account for roster worker ``worker_id``; its Authorization header."""
        accounts = self.services.accounts
        user = accounts.add_user(name or f"w-{worker_id}", "worker", worker_id=worker_id)
        token = accounts.issue_token(user.id)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def township() -> OrdersTownship:
    """The Jingqiao config (loaded once)."""
    town = load_orders_township(CONFIG)
    validate_camera_hazards(town, build_plugin_manager())
    return town


def make_api(tmp_path: Path, township: OrdersTownship, **overrides: object) -> Iterator[Api]:
    """An app over a new store in ``tmp_path`` (context of a TestClient)."""
    clock = FakeClock()
    engine = bool(overrides.pop("_engine", False))
    ack_secret = overrides.pop("_ack_secret", None)
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'api.sqlite'}",
        data_dir=tmp_path,  # uploads and snapshots in tmp_path/uploads, tmp_path/snapshots
        session_secret="test-session-secret-0123456789",  # type: ignore[arg-type]
        **overrides,  # type: ignore[arg-type]
    )
    live = None
    if engine:  # the pipeline serve builds, with a detector that sees nothing
        from .fakes import blind_engine

        live = build_pipeline(
            township,
            LiveOptions(db=settings.db_url, service=True, tick_s=5.0),
            clock=clock,
            engine_factory=blind_engine,
            outbox_channels=("hook",) if ack_secret else (),
            ack_secret=str(ack_secret) if ack_secret else None,
        )
    services = build_services(
        settings,
        live=live,
        township=township,
        clock=clock,
        ack_secret=str(ack_secret) if ack_secret else None,
        channels=("hook",) if ack_secret else (),
    )
    tokens = {}
    for role in ("admin", "operator", "viewer"):
        user = services.accounts.add_user(role, role, password=f"{role}-password")
        tokens[role] = services.accounts.issue_token(user.id, label="test")
    app = create_app(settings, services=services)
    with TestClient(app) as client:
        yield Api(client, services, clock, tokens, settings)


@pytest.fixture
def api(tmp_path: Path, township: OrdersTownship) -> Iterator[Api]:
    """The app with accounts admin, operator and viewer (passwords ``<role>-password``)."""
    yield from make_api(tmp_path, township)


def manual_order(api: Api, **body: object) -> dict:
    """File a manual order as the operator; the response body."""
    payload = {"kind": "fire_lane", "village": "ruijia", "grid": "ruijia-g01", "title": "lane"}
    payload.update(body)
    r = api.client.post("/api/v1/work-orders", json=payload, headers=api.h("operator"))
    assert r.status_code == 201, r.text
    return r.json()
