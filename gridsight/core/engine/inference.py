"""Overlapping inference with the rest of the pipeline.

The backend (onnxruntime, TensorRT) runs in native code and releases the GIL, so while
it works on batch *k* the engine thread can post-process batch *k-1* (decode, track,
rules, sinks) and letterbox batch *k+1*. :class:`InferenceWorker` is that second
thread: it takes letterboxed batches from a queue of one and hands outputs back in
order. At most three batches are alive at once (one being inferred, one queued, one
being letterboxed), so :class:`LetterboxRing` keeps three letterbox buffers and never
overwrites a batch the worker may still read.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridsight.core.engine.metrics import EngineMetrics

#: Batches alive at once: inferring + queued + being letterboxed.
RING_SIZE = 3


class LetterboxRing:
    """Letterboxes each batch into the next of ``RING_SIZE`` reused buffers.

    Args:
        preprocess_factory: makes one letterboxer (``images -> (batch, infos)``), e.g.
            ``lambda: Letterboxer(detector.input_size)``.
    """

    def __init__(self, preprocess_factory: Callable[[], Callable[..., Any]]) -> None:
        self._slots = [preprocess_factory() for _ in range(RING_SIZE)]
        self._next = 0

    def __call__(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[Any]]:
        slot = self._slots[self._next]
        self._next = (self._next + 1) % RING_SIZE
        batch, infos = slot(images)
        return batch, list(infos)


@dataclass(slots=True)
class InferenceJob:
    """One batch on its way through the worker.

    ``owners`` says, per item, where it came from (the engine's camera reader), so
    that the engine can tell, when the batch comes back, whether the camera is still
    the one that sent the frame.
    """

    items: list[Any]
    tensor: np.ndarray
    infos: list[Any]
    outputs: list[np.ndarray] | None = None
    error: BaseException | None = None
    owners: list[Any] = field(default_factory=list)


class InferenceWorker:
    """Runs ``infer`` on its own thread, one batch at a time, results in FIFO order.

    Args:
        infer: the backend call (``tensor -> outputs``).
        metrics: where the ``infer`` stage latency is recorded.
    """

    def __init__(
        self, infer: Callable[[np.ndarray], list[np.ndarray]], metrics: EngineMetrics
    ) -> None:
        self._infer = infer
        self._metrics = metrics
        self._in: queue.Queue[InferenceJob | None] = queue.Queue(maxsize=1)
        self._out: queue.Queue[InferenceJob] = queue.Queue()
        #: Finished jobs not handed back yet (those after a failed one).
        self._held: list[InferenceJob] = []
        #: Jobs submitted and not handed back yet.
        self.in_flight = 0
        self._thread = threading.Thread(target=self._run, name="gridsight-infer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._in.get()
            if job is None:
                return
            t0 = time.perf_counter()
            try:
                job.outputs = self._infer(job.tensor)
            except BaseException as exc:  # handed to the engine thread, which re-raises
                job.error = exc
            self._metrics.observe("infer", time.perf_counter() - t0)
            self._out.put(job)

    def submit(self, job: InferenceJob) -> None:
        """Queue a batch; blocks while one batch already waits behind the running one."""
        self._in.put(job)
        self.in_flight += 1

    def done(self, timeout: float | None = 0.0) -> list[InferenceJob]:
        """Finished jobs in submission order; waits up to ``timeout`` for the first one.

        A job whose ``infer`` raised is handed back alone, as that exception: the jobs
        finished before it are returned first, and those after it on the next call, so
        a failed batch costs only its own frames.

        Raises:
            BaseException: whatever ``infer`` raised for the next job (re-raised here).
        """
        jobs, self._held = self._held, []
        try:
            if not jobs and (timeout is None or timeout > 0):
                jobs.append(self._out.get(timeout=timeout))
            while True:
                jobs.append(self._out.get_nowait())
        except queue.Empty:
            pass
        for k, job in enumerate(jobs):
            if job.error is not None:
                if k > 0:  # hand back the good ones first; the failure comes next call
                    self._held = jobs[k:]
                    jobs = jobs[:k]
                    break
                self._held = jobs[1:]
                self.in_flight -= 1
                raise job.error
        self.in_flight -= len(jobs)
        return jobs

    def close(self) -> None:
        """Stop the thread after the jobs already queued (call :meth:`done` to collect)."""
        self._in.put(None)
        self._thread.join(timeout=30.0)
