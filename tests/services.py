"""External services for tests (PostgreSQL, MQTT, ...): skip locally, fail under CI.

A test that needs a server calls :func:`require_service` (or one of the named helpers)
and gets the URL to use. The URL comes from an environment variable with a default;
where nothing answers at its host and port the test is skipped with the reason, except
when ``CI=true``, where it fails: CI machines run the servers, so a missing one is a
broken set-up, not a reason to pass.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

POSTGRES_ENV = "GRIDSIGHT_TEST_POSTGRES_URL"
POSTGRES_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MQTT_ENV = "GRIDSIGHT_TEST_MQTT_URL"
MQTT_DEFAULT = "mqtt://127.0.0.1:1883"
NATS_ENV = "GRIDSIGHT_TEST_NATS_URL"
NATS_DEFAULT = "nats://127.0.0.1:4222"

_DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mqtt": 1883,
    "nats": 4222,
    "http": 80,
    "https": 443,
}


def under_ci() -> bool:
    """Whether the tests run under CI (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def reachable(host: str, port: int, timeout: float = 1.0) -> str | None:
    """None when a TCP connection to ``host:port`` succeeds, else the reason it did not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc}"


def require_service(env_var: str, default: str) -> str:
    """The URL of a service from ``env_var`` (else ``default``), skipping/failing if unreachable."""
    url = os.environ.get(env_var) or default
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    host = parts.hostname or "127.0.0.1"
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    why = reachable(host, port)
    if why is not None:
        msg = f"{url} is not reachable ({why}); set {env_var} to a running server"
        if under_ci():
            pytest.fail(f"CI=true: {msg}")
        pytest.skip(msg)
    return url


def require_postgres() -> str:
    """The test PostgreSQL URL (``GRIDSIGHT_TEST_POSTGRES_URL``)."""
    return require_service(POSTGRES_ENV, POSTGRES_DEFAULT)


def require_mqtt() -> str:
    """The test MQTT broker URL (``GRIDSIGHT_TEST_MQTT_URL``)."""
    return require_service(MQTT_ENV, MQTT_DEFAULT)


def require_nats() -> str:
    """The test NATS (with JetStream) URL (``GRIDSIGHT_TEST_NATS_URL``)."""
    return require_service(NATS_ENV, NATS_DEFAULT)
