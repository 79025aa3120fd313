"""Workers: the roster with live state, who is on duty now, position reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from gridsight.api.deps import Anyone, ServicesDep, Viewer
from gridsight.api.errors import Forbidden, NotFound, error_responses
from gridsight.api.schemas_orders import PositionIn, WorkerOut
from gridsight.api.services import Services
from gridsight.orders.roster import RosterEntry, record_position

router = APIRouter(prefix="/workers", tags=["workers"])

WorkerId = Annotated[str, Path(max_length=64, description="roster worker id")]


def _service(services: Services) -> Any:
    if services.orders is None:
        raise NotFound("the service runs without a township config: no roster")
    return services.orders


def worker_out(entry: RosterEntry) -> WorkerOut:
    """The API form of a roster entry."""
    return WorkerOut.model_validate(entry.to_dict())


@router.get("", response_model=list[WorkerOut], responses=error_responses(401, 403, 404))
def roster(services: ServicesDep, _user: Viewer) -> list[WorkerOut]:
    """Everyone on the roster, on duty or not."""
    svc = _service(services)
    return [worker_out(e) for e in svc.roster_entries()]


@router.get("/on-duty", response_model=list[WorkerOut], responses=error_responses(401, 403, 404))
def on_duty(services: ServicesDep, _user: Viewer) -> list[WorkerOut]:
    """Everyone on shift now, with position, busy flag and today's load."""
    svc = _service(services)
    return [worker_out(e) for e in svc.workers_on_duty()]


@router.post(
    "/{worker_id}/position",
    response_model=WorkerOut,
    responses=error_responses(401, 403, 404, 422),
)
def report_position(
    worker_id: WorkerId, body: PositionIn, services: ServicesDep, user: Anyone
) -> WorkerOut:
    """A worker reports where they are (their own id only; operators for anyone)."""
    svc = _service(services)
    if user.role == "worker" and user.worker_id != worker_id:
        raise Forbidden("a worker account reports only its own position")
    if user.role != "worker" and not user.at_least("operator"):
        raise Forbidden(f"the {user.role} role cannot report positions")
    svc.roster.get(worker_id)
    with services.store.begin() as conn:
        record_position(conn, worker_id, body.x_km, body.y_km, svc.clock())
    for entry in svc.roster_entries():
        if entry.id == worker_id:
            return worker_out(entry)
    raise NotFound(f"worker {worker_id!r} is not on the roster")  # pragma: no cover
