"""Letting the detector have the cores first: a lower priority for our Python threads.

On a small CPU box the detector (onnxruntime) splits each operator across one thread per
core and waits at the end of every operator for the slowest of them. Our own Python
work (the engine loop's letterboxing, decoding, tracking and rules, the camera readers,
the sinks) runs at the same time, so on two cores one of the detector's threads is
regularly pushed off its core in mid-operator, and the whole operator waits for it.
Measured on two cores (``benchmarks/bench_pipeline.py``, group ``pipeline-ratio``), that
costs more than overlapping the Python work with inference gains.

The fix is the scheduler's: the engine's loop runs on a thread of its own at a higher
*nice* value than the inference thread (:attr:`EngineOptions.pipeline_nice`), and every
thread it starts (readers, sinks) inherits it. When the detector runs, it gets the
cores; our work fills the gaps between its operators and between batches. Nothing is
starved: the detector only has work while the loop feeds it.

This works only where the nice value is per thread, which is Linux (``setpriority`` on a
thread id); elsewhere :func:`lower_current_thread` does nothing and returns False. A
thread cannot take back a priority it gave up (that needs ``CAP_SYS_NICE``), so it is
only ever applied to threads the engine owns, never to the caller's.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

#: Nice values are capped here by the kernel.
MAX_NICE = 19


def supported() -> bool:
    """Whether a single thread's priority can be lowered on this platform (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "setpriority")


def lower_current_thread(increment: int) -> bool:
    """Raise the calling thread's nice value by ``increment`` (capped at 19).

    Returns:
        True when the priority was lowered; False when ``increment <= 0``, on platforms
        without per-thread priorities, or when the system refused (logged at debug).
    """
    if increment <= 0 or not supported():
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(MAX_NICE, current + increment))
    except OSError as exc:  # e.g. a seccomp profile that forbids it
        log.debug("could not lower the priority of thread %d: %s", tid, exc)
        return False
    return True


def current_nice() -> int | None:
    """The calling thread's nice value (None where threads have no priority of their own)."""
    if not supported():
        return None
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
