"""Workers: the roster with live state, who is on duty now, position reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gridsight.api.deps import Anyone, OrdersDep, Viewer
from gridsight.api.errors import Forbidden, error_responses
from gridsight.api.schemas.orders import PositionIn, WorkerOut
from gridsight.orders.roster import RosterEntry

router = APIRouter(prefix="/workers", tags=["workers"])

WorkerId = Annotated[str, Path(max_length=64, description="roster worker id")]


def worker_out(entry: RosterEntry) -> WorkerOut:
    """The API form of a roster entry."""
    return WorkerOut.model_validate(entry.to_dict())


@router.get("", response_model=list[WorkerOut], responses=error_responses(401, 403, 404))
def roster(orders: OrdersDep, _user: Viewer) -> list[WorkerOut]:
    """Everyone on the roster, on duty or not."""
    return [worker_out(e) for e in orders.roster()]


@router.get("/on-duty", response_model=list[WorkerOut], responses=error_responses(401, 403, 404))
def on_duty(orders: OrdersDep, _user: Viewer) -> list[WorkerOut]:
    """Everyone on shift now, with position, busy flag and today's load."""
    return [worker_out(e) for e in orders.on_duty()]


@router.post(
    "/{worker_id}/position",
    response_model=WorkerOut,
    responses=error_responses(401, 403, 404, 422),
)
def report_position(
    worker_id: WorkerId, body: PositionIn, orders: OrdersDep, user: Anyone
) -> WorkerOut:
    """A worker reports where they are (their own id only; operators for anyone)."""
    if user.role == "worker" and user.worker_id != worker_id:
        raise Forbidden("a worker account reports only its own position")
    if user.role != "worker" and not user.at_least("operator"):
        raise Forbidden(f"the {user.role} role cannot report positions")
    return worker_out(orders.report_position(worker_id, body.x_km, body.y_km))
