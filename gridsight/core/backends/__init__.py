"""Inference backends: onnxruntime (CPU), opencv (cv2.dnn), tensorrt (GPU, unvalidated).

Backends are plugins: the built-in three register through
``gridsight.plugins.backends`` like any third-party backend would.
:func:`select_backend` picks one by name, or the best available one for ``auto``.
:class:`Backend` checks, chunks and times every call; a backend writes only its
``load`` and the runtime call (``_infer``). A backend marked ``unvalidated``
(tensorrt, which has never run on a real GPU) is never chosen by ``auto``.

Example:
    >>> cls = select_backend("auto")                 # doctest: +SKIP
    >>> with cls() as backend:                       # doctest: +SKIP
    ...     backend.load(Path("model.onnx"))
    ...     outputs = backend.infer(batch)
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from gridsight.core.backends.base import Backend
from gridsight.core.errors import BackendUnavailableError

if TYPE_CHECKING:
    import pluggy

__all__ = [
    "Backend",
    "UnvalidatedBackendWarning",
    "available_backends",
    "registered_backends",
    "select_backend",
]


class UnvalidatedBackendWarning(UserWarning):
    """A backend chosen by name has not been validated on real hardware."""


def registered_backends(pm: pluggy.PluginManager) -> dict[str, type[Backend]]:
    """``{name: Backend class}`` from the plugins."""
    from gridsight.core import plugins

    return plugins.backends(pm)


def available_backends(pm: pluggy.PluginManager) -> list[str]:
    """Names of the registered backends that can run here, best first."""
    found = registered_backends(pm)
    usable = [cls for cls in found.values() if _is_available(cls)]
    return [cls.name for cls in sorted(usable, key=lambda c: (-c.priority, c.name))]


def _is_available(cls: type[Backend]) -> bool:
    # A broken third-party backend must not stop the others from being chosen.
    try:
        return bool(cls.is_available())
    except Exception:
        return False


def select_backend(name: str, pm: pluggy.PluginManager) -> type[Backend]:
    """The backend class called ``name``, or the best available one for ``"auto"``.

    ``auto`` prefers higher ``priority`` among the available backends that are not
    marked :attr:`~Backend.unvalidated`: onnxruntime, then opencv. An unvalidated one
    (tensorrt) is used only when asked for by name, and then warns.

    Warns:
        UnvalidatedBackendWarning: ``name`` is a backend marked unvalidated.

    Raises:
        BackendUnavailableError: ``name`` is unknown, or not usable on this machine, or
            nothing is available; the message lists the backends that are.
    """
    found = registered_backends(pm)
    available = available_backends(pm)
    listing = ", ".join(available) or "none"
    if name == "auto":
        trusted = [n for n in available if not found[n].unvalidated]
        if not trusted:
            registered = ", ".join(sorted(found)) or "none"
            skipped = sorted(set(available) - set(trusted))
            note = f"; {', '.join(skipped)} only by name (unvalidated)" if skipped else ""
            raise BackendUnavailableError(
                f"no inference backend is available (registered: {registered}{note}); "
                "install onnxruntime: pip install onnxruntime"
            )
        return found[trusted[0]]
    cls = found.get(name)
    if cls is None:
        raise BackendUnavailableError(
            f"unknown backend {name!r}; available here: {listing} (or 'auto')"
        )
    if name not in available:
        hint = (
            " (install 'gridsight[gpu]' on a machine with an NVIDIA GPU)"
            if name == "tensorrt"
            else ""
        )
        raise BackendUnavailableError(
            f"backend {name!r} is not available on this machine{hint}; available here: {listing}"
        )
    if cls.unvalidated:
        warnings.warn(
            f"backend {name!r} is unvalidated: {cls.unvalidated}",
            UnvalidatedBackendWarning,
            stacklevel=2,
        )
    return cls
