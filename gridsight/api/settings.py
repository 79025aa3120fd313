"""The service's settings: environment variables with the ``GRIDSIGHT_`` prefix.

Every field can be set as ``GRIDSIGHT_<NAME>`` (e.g. ``GRIDSIGHT_DB_URL``,
``GRIDSIGHT_ADMIN_TOKEN``, ``GRIDSIGHT_CORS_ORIGINS='["https://ops.example"]'``);
``gridsight serve`` overrides some of them from its options.

Example:
    >>> s = Settings(db_url="sqlite:///:memory:")
    >>> s.port
    8000
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridsight.api.client_address import parse_networks
from gridsight.core.errors import ConfigError

Language = Literal["zh", "en"]


class Settings(BaseSettings):
    """How the REST service runs.

    Attributes:
        config: the township config (YAML); None serves without a map, roster or cameras.
        db_url: SQLAlchemy URL of the work-order store (SQLite or PostgreSQL).
        host: address uvicorn binds (loopback by default).
        port: TCP port.
        admin_token: a bearer token given the admin role at start (automation).
        session_secret: key that signs browser session cookies; a random one per process
            if unset (sessions then end when the process restarts).
        data_dir: the one folder of the service's files (made absolute at start, so a
            restart from another working directory finds them).
        uploads_dir: where report-back photos are stored; a relative path is taken
            inside ``data_dir`` (default ``<data_dir>/uploads``).
        snapshots_dir: where the engine writes evidence snapshots, served by event id; a
            relative path is taken inside ``data_dir`` (default ``<data_dir>/snapshots``).
        clips_dir: where the engine writes evidence clips (``serve --clips``), served by
            event id; a relative path is taken inside ``data_dir``; None: the config's
            ``clips.dir`` (no clips without one).
        cors_origins: origins allowed to call the API from a browser; empty = CORS off.
        language: page language; None = Chinese for a Chinese-named township, else English.
        max_upload_bytes: largest photo accepted.
        login_attempts: failed logins allowed per account (from browsers that never logged
            in to it) and per remembered device, in ``login_window_s``.
        login_attempts_per_address: failed logins allowed per client address, whatever the
            names, in ``login_window_s``.
        login_window_s: the window of the login rate limit.
        trusted_proxies: addresses or CIDR blocks of reverse proxies whose
            ``X-Forwarded-For`` names the client; empty = the TCP peer is the client.
        max_body_bytes: largest request body; a larger one is refused with 413 before it
            is read.
        session_max_age_s: lifetime of a browser session.
        cookie_secure: mark the session cookie ``Secure`` (behind HTTPS).
        sse_heartbeat_s: seconds between keep-alive comments on the event stream.
        degraded_drop_share: a camera that drops a larger share of its frames is shown as
            degraded.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDSIGHT_", extra="ignore")

    config: Path | None = None
    db_url: str = "sqlite:///gridsight.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: SecretStr | None = None
    session_secret: SecretStr | None = None
    data_dir: Path = Path("data")
    uploads_dir: Path = Path("uploads")
    snapshots_dir: Path = Path("snapshots")
    clips_dir: Path | None = None
    cors_origins: list[str] = Field(default_factory=list)
    language: Language | None = None
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    login_attempts: int = Field(default=5, ge=1)
    login_attempts_per_address: int = Field(default=20, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    cookie_secure: bool = False
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    degraded_drop_share: float = Field(default=0.2, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _paths_and_limits(self) -> Settings:
        # Every file the service keeps lies under one absolute data folder, whatever the
        # working directory of a later restart.
        self.data_dir = self.data_dir.expanduser().resolve()
        self.uploads_dir = (self.data_dir / self.uploads_dir.expanduser()).resolve()
        self.snapshots_dir = (self.data_dir / self.snapshots_dir.expanduser()).resolve()
        if self.clips_dir is not None:
            self.clips_dir = (self.data_dir / self.clips_dir.expanduser()).resolve()
        if self.max_body_bytes < self.max_upload_bytes:
            raise ValueError(
                f"max_body_bytes ({self.max_body_bytes}) must be at least max_upload_bytes "
                f"({self.max_upload_bytes}): a photo comes in one request body"
            )
        try:
            parse_networks(self.trusted_proxies)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self
