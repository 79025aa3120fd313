"""Our own ``nats-server`` processes for the tests that stop, restart or kill servers."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ...services import under_ci


def nats_server_binary() -> str:
    """The ``nats-server`` executable (skips locally, fails under CI, when missing)."""
    found = shutil.which("nats-server")
    if found is None:
        msg = "nats-server is not on PATH (apt-get install nats-server)"
        if under_ci():
            pytest.fail(f"CI=true: {msg}")
        pytest.skip(msg)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One JetStream-enabled server on loopback, optionally one of a cluster."""

    def __init__(
        self,
        folder: Path,
        name: str,
        *,
        port: int | None = None,
        cluster_port: int | None = None,
        routes: list[int] = (),  # type: ignore[assignment]
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.store = folder / f"js-{name}"
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        cmd = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
               "-sd", str(self.store), "-n", self.name]  # fmt: skip
        if self.cluster_port is not None:
            cmd += ["--cluster_name", "gstest", "--cluster",
                    f"nats://127.0.0.1:{self.cluster_port}"]  # fmt: skip
            if self.routes:
                cmd += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(
                        f"nats-server {self.name} did not start: {self.log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def nats_cluster(folder: Path, size: int = 3) -> list[NatsServer]:
    """``size`` servers routed to each other (not started)."""
    cports = [free_port() for _ in range(size)]
    return [
        NatsServer(
            folder,
            f"s{i}",
            cluster_port=cports[i],
            routes=[p for j, p in enumerate(cports) if j != i],
        )
        for i in range(size)
    ]
