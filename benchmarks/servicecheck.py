"""The test suite's service checks (``tests/services.py``: skip locally, fail under CI)
for the benchmarks, loaded from their file: Ciw (a dev dependency) installs a top-level
``tests`` package that shadows the repository's ``tests`` folder on ``sys.path``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

_FILE = Path(__file__).resolve().parents[1] / "tests" / "services.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gridsight_test_services", _FILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {_FILE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_services = _load()
require_mqtt = _services.require_mqtt
require_nats = _services.require_nats
require_postgres = _services.require_postgres
