"""Running real ``gridsight node`` processes for the cluster tests, and reading the cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridsight.live.cluster.control import cluster_status, open_store
from gridsight.live.cluster.names import ClusterNames

from .helpers import REPO

#: The lease and renewal period the real-process tests run with.
LEASE_S = 3.0
RENEW_S = 0.5


class NodeProcess:
    """One ``gridsight node`` process (its output in ``log``)."""

    def __init__(
        self,
        config: Path,
        nats: str,
        names: ClusterNames,
        node_id: str,
        folder: Path,
        *,
        capacity: int = 8,
        lease_s: float = 3.0,
        renew_s: float = 0.5,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.node_id = node_id
        self.log = folder / f"{node_id}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cmd = [
            sys.executable, "-m", "gridsight", "node", str(config),
            "--nats", nats, "--cluster", names.name, "--node-id", node_id,
            "--capacity", str(capacity), "--lease", str(lease_s), "--renew", str(renew_s),
            "--log-level", "info", *extra,
        ]  # fmt: skip
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=out)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        """SIGCONT (in case it is paused), then SIGTERM, then SIGKILL."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def status(nats: str, names: ClusterNames) -> dict[str, Any]:
    """``cluster status --json`` of the cluster, read once."""

    async def read() -> dict[str, Any]:
        nc, store = await open_store(nats, names)
        try:
            return await cluster_status(store)
        finally:
            await nc.close()

    return asyncio.run(read())


def wait_for(
    nats: str,
    names: ClusterNames,
    check: Callable[[dict[str, Any]], bool],
    *,
    timeout: float,
    what: str,
    nodes: list[NodeProcess] = (),  # type: ignore[assignment]
) -> tuple[float, dict[str, Any]]:
    """Poll the cluster's status until ``check`` holds: (seconds taken, that status)."""
    start = time.monotonic()
    while True:
        got = status(nats, names)
        if check(got):
            return time.monotonic() - start, got
        if time.monotonic() - start > timeout:
            logs = "\n".join(f"--- {n.node_id}\n{n.tail()}" for n in nodes)
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}: {got}\n{logs}"
            )
        time.sleep(0.2)


def all_running(cameras: set[str], alive_only: bool = True) -> Callable[[dict[str, Any]], bool]:
    """Every camera in ``cameras`` runs (state ``running``) on a live node."""

    def check(st: dict[str, Any]) -> bool:
        alive = {n["id"] for n in st["nodes"] if n["alive"]}
        ok = {
            c["id"]
            for c in st["cameras"]
            if c["state"] == "running" and (c["node"] in alive or not alive_only)
        }
        return cameras <= ok

    return check


def start_nodes(ctx: dict, *ids: str) -> None:
    """Start a ``gridsight node`` process per id on the fixture's cluster."""
    for nid in ids:
        ctx["nodes"].append(
            NodeProcess(
                ctx["config"],
                ctx["nats"],
                ctx["names"],
                nid,
                ctx["tmp"],
                lease_s=LEASE_S,
                renew_s=RENEW_S,
            )
        )
