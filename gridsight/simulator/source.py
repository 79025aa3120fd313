"""The ``synthetic://`` frame source: a :class:`World` behind the ``FrameSource`` interface."""

from __future__ import annotations

import dataclasses
import time

from gridsight.core.sources.base import Frame, FrameSource, SourceOptions
from gridsight.simulator.uri import parse_world_uri
from gridsight.simulator.world import FrameTruth, World


class SyntheticSource(FrameSource):
    """Frames of a synthetic camera, from stream time 0, endlessly.

    Args:
        uri: ``synthetic://<scene>?seed=N&fps=F&w=W&h=H``.
        options: ``width``/``height`` (when set) override the URI's size, so a camera
            config's ``resolution`` decides the picture its zones are drawn on;
            ``realtime`` paces frames to the stream clock. The synthetic stream never
            ends, so ``loop`` changes nothing. Frames carry the world's own wall time
            (:meth:`World.wall_time`), never the machine's.

    Raises:
        SourceError: the URI is malformed (the message names the bad parameter).
    """

    def __init__(self, uri: str, options: SourceOptions | None = None) -> None:
        self.uri = uri
        self.options = options or SourceOptions()
        spec = parse_world_uri(uri)
        if self.options.width is not None or self.options.height is not None:
            spec = dataclasses.replace(
                spec,
                width=self.options.width or spec.width,
                height=self.options.height or spec.height,
            )
        self.world = World(spec)
        self._index = 0
        self._started: float | None = None
        self.last_truth: FrameTruth | None = None

    @property
    def fps(self) -> float:
        return self.world.fps

    def read(self) -> Frame | None:
        index = self._index
        ts = index / self.world.fps
        if self.options.realtime:
            now = time.monotonic()
            if self._started is None:
                self._started = now
            delay = self._started + ts - now
            if delay > 0:
                time.sleep(delay)
        image, truth = self.world.render(index)
        self.last_truth = truth
        self._index += 1
        return Frame(image=image, ts=ts, index=index, wall_time=self.world.wall_time(ts))
