"""Cameras added and removed while the engine runs (``Engine.add_camera/remove_camera``).

An added camera gets exactly the reader set-up of a camera present at start (its motion
gate included); a removed camera's open events end and are written, and it leaves the
status board unless asked to stay on it.
"""

from __future__ import annotations

from typing import Any

import pytest

from gridsight.core.engine import Engine, EngineOptions
from gridsight.core.errors import ConfigError
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.reader import BackoffPolicy

from ..engine_helpers import (
    BrightBoxDetector,
    LetterboxedBrightBoxDetector,
    ScriptedSourcePlugin,
    camera,
)

CAM_A = camera("cam-a", "scripted://a?frames=60&enter=2&leave=8")
CAM_B = camera("cam-b", "scripted://b?frames=40&enter=1&leave=4")


class Changing(Engine):
    """Once cam-a has passed ``at_ts``, removes it and adds cam-b (the engine's hook
    between batches, on its thread)."""

    at_ts = 4.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed = False
        self.board_during: tuple[str, ...] = ()

    def between_batches(self) -> None:
        pipe = self.cameras.get("cam-a")
        if not self.changed and pipe is not None and pipe.last_ts >= self.at_ts:
            self.changed = True
            self.remove_camera("cam-a")
            self.add_camera(CAM_B)
            self.board_during = tuple(c.camera for c in self.board.snapshot().cameras)


def _engine(motion_gate: bool, overlap: bool = False) -> Changing:
    pm = build_plugin_manager(plugins=[ScriptedSourcePlugin()])
    return Changing(
        [CAM_A],
        pm,
        options=EngineOptions(
            backoff=BackoffPolicy(0.02, 0.05),
            keep_events=True,
            run_id="r",
            motion_gate=motion_gate,
            queue_size=2,
        ),
        detector=LetterboxedBrightBoxDetector() if overlap else BrightBoxDetector(),
    )


@pytest.mark.parametrize("overlap", [False, True], ids=["one-thread", "overlapped"])
@pytest.mark.parametrize("motion_gate", [False, True], ids=["ungated", "gated"])
def test_a_camera_removed_mid_event_ends_it_and_an_added_one_runs_like_the_others(
    motion_gate: bool, overlap: bool
) -> None:
    # Overlapped, frames of cam-a may still be inferred when it is removed: dropped.
    eng = _engine(motion_gate, overlap)
    summary = eng.run()
    assert eng.changed, "the run ended before cam-a reached the change"
    assert eng.board_during == ("cam-b",)
    events = [(e.camera, e.hazard, e.phase) for e in eng.events]
    # cam-a was removed while its person stood in the water-edge zone: the open event
    # ended at removal (the scripted person leaves at 8 s, after the removal at 4 s).
    assert events.count(("cam-a", "near_water", "start")) == 1
    assert events.count(("cam-a", "near_water", "end")) == 1
    a_end = next(e for e in eng.events if e.camera == "cam-a" and e.phase == "end")
    assert a_end.ts < 6.0
    # cam-b ran to the end of its stream with its own event.
    assert events.count(("cam-b", "near_water", "start")) == 1
    assert events.count(("cam-b", "near_water", "end")) == 1
    b = summary.status.camera("cam-b")
    assert b.frames + b.gated == 40
    assert [c.camera for c in summary.status.cameras] == ["cam-b"]
    # The added camera's reader went through the same set-up as a camera at start.
    assert (eng.cameras["cam-b"].gate is not None) is motion_gate


def test_adding_a_running_camera_is_refused_and_removing_an_unknown_one_is_a_no_op() -> None:
    eng = _engine(False)
    with pytest.raises(ConfigError, match=r"cam-a.*already running"):
        eng.add_camera(CAM_A)
    assert eng.remove_camera("nope") is None


def test_remove_camera_can_keep_the_camera_on_the_status_board() -> None:
    eng = _engine(False)
    pipe = eng.remove_camera("cam-a", keep_status=True)
    assert pipe is not None and pipe.id == "cam-a"
    assert [c.camera for c in eng.status().cameras] == ["cam-a"]
    assert "cam-a" not in eng.cameras
