"""Exports: the work-order history as CSV (the history page's filters)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from gridsight.api.deps import OrdersDep, ServicesDep, Viewer
from gridsight.api.errors import error_responses
from gridsight.api.order_history import HistoryQuery, csv_text, history_rows

router = APIRouter(prefix="/exports", tags=["exports"])

#: The most orders one export holds.
MAX_EXPORT = 50_000


@router.get(
    "/work-orders.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "one row per order, newest first"},
        **error_responses(401, 403, 404, 422),
    },
)
def export_orders(
    request: Request,
    services: ServicesDep,
    orders: OrdersDep,
    _user: Viewer,
    state: list[str] | None = Query(default=None, description="repeatable"),
    hazard: str | None = Query(default=None, max_length=64),
    village: str | None = Query(default=None, max_length=64),
    grid: str | None = Query(default=None, max_length=64),
    worker: str | None = Query(default=None, max_length=64),
    date_from: str | None = Query(default=None, max_length=10, description="YYYY-MM-DD"),
    date_to: str | None = Query(default=None, max_length=10, description="YYYY-MM-DD"),
    q: str | None = Query(default=None, max_length=64, description="an order id"),
) -> StreamingResponse:
    """The orders of the history page's filters as CSV (local times, newest first)."""
    query = HistoryQuery.from_params(request.query_params)
    zone = services.township.orders.zone if services.township is not None else ZoneInfo("UTC")
    views = list(history_rows(orders, query, zone, MAX_EXPORT))
    return StreamingResponse(
        csv_text(views, zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="work-orders.csv"'},
    )
