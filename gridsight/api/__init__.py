"""The REST API and the pages of the operator service (FastAPI).

``create_app(settings)`` builds the app; ``gridsight serve`` runs it over the live
pipeline (:mod:`gridsight.live`). HTTP only: it builds on ``gridsight.live``,
``gridsight.orders`` and ``gridsight.core``, and reaches the work orders through
``OrdersDep`` (:class:`~gridsight.orders.facade.OrdersFacade`).
"""

from __future__ import annotations

from gridsight.api.app import create_app
from gridsight.api.settings import Settings

__all__ = ["Settings", "create_app"]
