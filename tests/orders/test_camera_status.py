"""The camera-status publisher: a change of state or of view (moved, covered, blinded)
is published, an unchanged status is not (until the refresh)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

from gridsight.core.engine.status import CameraStatus
from gridsight.orders.notify.camera_status import CameraStatusPublisher


class _Keeper:
    camera_status: ClassVar[bool] = True

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any], *, key: str) -> None:
        self.sent.append(payload)

    def describe(self) -> str:
        return "keeper"


def test_a_view_fault_is_published_as_a_change() -> None:
    keeper = _Keeper()
    status = [CameraStatus("cam-1", state="running")]
    pub = CameraStatusPublisher(
        [keeper],  # type: ignore[list-item]
        lambda: SimpleNamespace(cameras=status),
        refresh_s=1e9,
        clock=lambda: 0.0,
    )
    assert pub.publish_once() == 1
    assert pub.publish_once() == 0  # nothing changed
    status[0] = CameraStatus("cam-1", state="running", view="covered", gated=3)
    assert pub.publish_once() == 1
    last = keeper.sent[-1]["status"]
    assert last["view"] == "covered" and last["gated"] == 3 and last["state"] == "running"
