"""The REST API and the pages of the operator service (FastAPI).

``create_app(settings)`` builds the app; ``gridsight serve`` runs it with the engine.
Layering: this package builds on ``gridsight.orders`` and ``gridsight.core`` only.
"""

from __future__ import annotations

from gridsight.api.app import create_app
from gridsight.api.settings import Settings

__all__ = ["Settings", "create_app"]
