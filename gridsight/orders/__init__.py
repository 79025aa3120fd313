"""The live work-order loop: state machine, store, dispatch over the live roster, SLA clocks.

Builds on :mod:`gridsight.core` only. The CLI, the REST API and the tests all call
:class:`gridsight.orders.service.OrderService`; the domain knows no HTTP.
"""

from __future__ import annotations
