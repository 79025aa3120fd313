"""The order service's camera API over a cluster: camera changes go to the KV, not an engine.

``gridsight serve --nats`` runs no cameras; the REST API's camera routes talk to a
:class:`ClusterCameraHost` instead of an :class:`~gridsight.live.engine_host.EngineHost`:
a camera put or removed through the API is written to the cluster's camera bucket
(validated against the township exactly as the engine host validates it), and the
nodes pick the change up at their next tick. The camera list shows each camera's state
on the node that runs it, with that node and its claim's epoch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import pluggy

from gridsight.core.config.camera import CameraConfig
from gridsight.core.config.township import Township
from gridsight.core.engine import EngineStopped
from gridsight.core.plugins import hazard_rules
from gridsight.live.cluster.control import cluster_status, put_camera, remove_camera
from gridsight.live.cluster.kv import ClusterStore, connect, open_store_retrying, read_all
from gridsight.live.cluster.names import ClusterNames
from gridsight.live.engine_host import CameraView, validate_camera

T = TypeVar("T")
#: Seconds one API call may wait for NATS.
CALL_TIMEOUT_S = 10.0


class ClusterCameraHost:
    """What the camera routes need of an engine host, backed by the cluster's KV.

    Args:
        url: NATS URL(s).
        township: the township the cameras are validated against.
        pm: plugin manager (the hazard rules).
        names: the cluster's names.
    """

    #: No engine in this process (``/metrics`` shows the order service only).
    engine = None

    def __init__(
        self, url: str, township: Township, pm: pluggy.PluginManager, names: ClusterNames
    ) -> None:
        self.url = url
        self.township = township
        self.pm = pm
        self.names = names
        self.phase = "running"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cluster-cameras", daemon=True
        )
        self._thread.start()
        self._store: ClusterStore | None = None
        self._nc: Any = None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    async def _open(self) -> ClusterStore:
        if self._store is None:
            self._nc = await connect(self.url, name="gridsight-serve-cameras", retry=False)
            self._store = await open_store_retrying(self._nc, self.names)
            if self._store is None:  # pragma: no cover - only when stopping
                raise EngineStopped("the cluster is not reachable")
        return self._store

    # -- what the API reads ----------------------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        try:
            status = self._call(self._status())
        except Exception as exc:
            return False, f"cluster not reachable: {type(exc).__name__}: {exc}"
        alive = sum(1 for n in status["nodes"] if n["alive"])
        return True, f"cluster {self.names.name}: {alive} node(s) alive"

    async def _status(self) -> dict[str, Any]:
        return await cluster_status(await self._open())

    async def _configs(self) -> dict[str, Any]:
        return {k: v for k, (_, v) in (await read_all((await self._open()).cameras)).items()}

    def cameras(self) -> list[CameraView]:
        status = self._call(self._status())
        configs = self._call(self._configs())
        by_id = {c["id"]: c for c in status["cameras"]}
        out = []
        for cid in sorted(configs):
            cfg = CameraConfig.model_validate(configs[cid])
            st = by_id.get(cid, {})
            epoch = st.get("epoch")
            out.append(
                CameraView(
                    cfg,
                    True,
                    str(st.get("state", "unassigned")),
                    float(st.get("fps", 0.0)),
                    node=st.get("node"),
                    epoch=None if epoch is None else int(epoch),
                )
            )
        return out

    def camera(self, camera_id: str) -> CameraView | None:
        return next((v for v in self.cameras() if v.config.id == camera_id), None)

    # -- changes ---------------------------------------------------------------------------

    def put_camera(self, data: CameraConfig | Mapping[str, Any]) -> tuple[CameraConfig, str]:
        cfg = validate_camera(self.township, hazard_rules(self.pm), data)
        known = self._call(self._configs())
        if cfg.id in known and CameraConfig.model_validate(known[cfg.id]) == cfg:
            return cfg, "unchanged"

        async def write() -> int:
            return await put_camera(await self._open(), cfg)

        self._call(write())
        return cfg, "updated" if cfg.id in known else "created"

    def remove_camera(self, camera_id: str) -> str:
        if camera_id not in self._call(self._configs()):
            return "absent"

        async def delete() -> None:
            await remove_camera(await self._open(), camera_id)

        self._call(delete())
        return "removed"

    def enable_camera(self, camera_id: str) -> str:
        raise EngineStopped(
            "enabling and disabling cameras is not available in a cluster: remove the "
            "camera and put it again"
        )

    disable_camera = enable_camera

    def close(self) -> None:
        if self._nc is not None:
            self._call(self._nc.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def cluster_camera_host(
    url: str, township: Township, pm: pluggy.PluginManager, cluster: str
) -> Any:
    """A :class:`ClusterCameraHost` where the service expects its engine host."""
    return ClusterCameraHost(url, township, pm, ClusterNames(cluster))


__all__ = ["ClusterCameraHost", "cluster_camera_host"]
