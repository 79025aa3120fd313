"""One error hierarchy for the whole project.

Every error a user can cause derives from :class:`GridsightError`, so the CLI and the
REST service can turn it into a clear message (or HTTP code) instead of a traceback.
"""

from __future__ import annotations


class GridsightError(Exception):
    """Base class of every error gridsight raises on purpose."""


class ConfigError(GridsightError):
    """A configuration file or value is invalid. The message names file, line and field."""


class PluginError(GridsightError):
    """A plugin could not be loaded, registered, or misbehaved."""


class BackendUnavailableError(GridsightError):
    """The requested inference backend is not installed or cannot run this model."""


class ModelError(GridsightError):
    """A model file is missing, unreadable, or has an output layout we cannot decode."""


class SourceError(GridsightError):
    """A camera source URI cannot be opened or has stopped delivering frames."""


class DataError(GridsightError):
    """Input data (a trace, a dataset, a detection array) is malformed."""


class SimulationError(GridsightError):
    """A simulation scenario is impossible or a run failed."""


def origin(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised: the innermost frame of its traceback that is
    not in the plugin machinery (pluggy, importlib), or ``?`` without a traceback.

    Example:
        >>> try:
        ...     {}["x"]
        ... except KeyError as e:
        ...     origin(e).startswith("<doctest")
        True
    """
    tb = exc.__traceback__
    found = "?"
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        if not any(part in path for part in ("pluggy", "importlib", "<frozen")):
            found = f"{path}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
