"""The engine's status board: the wall-clock time of each camera's last processed frame."""

from __future__ import annotations

from gridsight.core.engine.status import StatusBoard


class _Wall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_last_frame_is_dated_on_the_wall_clock_not_the_stream() -> None:
    wall = _Wall(1_800_000_000.0)
    board = StatusBoard(["a", "b"], wall=wall)
    assert board.snapshot().camera("a").last_frame_at is None  # nothing processed yet
    board.count_frames("a", 3, stream_ts=12.5)  # a file's stream time, far from now
    wall.t += 40.0
    board.count_frames("b", 1, stream_ts=99999.0)
    status = board.snapshot()
    a, b = status.camera("a"), status.camera("b")
    assert (a.frames, a.stream_ts, a.last_frame_at) == (3, 12.5, 1_800_000_000.0)
    assert b.last_frame_at == 1_800_000_040.0
    cams = {c["camera"]: c for c in status.to_dict()["cameras"]}
    assert cams["a"]["last_frame_at"] == 1_800_000_000.0
    assert cams["b"]["stream_ts"] == 99999.0


def test_a_camera_added_at_run_time_has_no_last_frame_until_it_processes_one() -> None:
    wall = _Wall(100.0)
    board = StatusBoard([], wall=wall)
    board.add_camera("c")
    assert board.snapshot().camera("c").last_frame_at is None
    board.count_frames("c", 1, stream_ts=0.0)
    assert board.snapshot().camera("c").last_frame_at == 100.0
