"""The API's models against the domain views they show: a field added to a view must
reach its model (or be named here as deliberately left out), so one new field of a work
order touches the view, a migration and one schema line."""

from __future__ import annotations

import dataclasses

from gridsight.api.schemas import CameraOut, EventOut
from gridsight.api.schemas.orders import WorkerOut, WorkOrderOut
from gridsight.live.engine_host import CameraView
from gridsight.orders.event_log import StoredEvent
from gridsight.orders.views import WorkOrderView


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_work_orders_show_every_field_of_the_view() -> None:
    shown_as = {"kind": "hazard", "sla_dispatch": "sla", "sla_close": "sla"}
    left_out = {"tried", "ack_due_at", "supervisor", "transitions"}  # internal, or detail
    view = _fields(WorkOrderView)
    api = set(WorkOrderOut.model_fields)
    missing = {f for f in view - api - left_out if shown_as.get(f) not in api}
    assert not missing, f"WorkOrderView fields missing from WorkOrderOut: {sorted(missing)}"
    assert api - view <= {"hazard", "sla", "allowed"}  # derived in the API


def test_workers_are_their_roster_entries() -> None:
    from gridsight.orders.roster import RosterEntry, StaffMember

    member = StaffMember("w", "grid_worker", "v", "g", 0.0, 0.0, "walk", (8.0, 20.0))
    entry = RosterEntry(member, True, False, 0.0, 0.0, None, 0, 0)
    assert set(entry.to_dict()) == set(WorkerOut.model_fields)


def test_events_show_every_field_of_the_stored_event() -> None:
    shown_as = {"snapshot": "snapshot_url", "clip": "clip_url", "extra": "end_reason"}
    stored, api = _fields(StoredEvent), set(EventOut.model_fields)
    assert {shown_as.get(f, f) for f in stored} == api


def test_cameras_show_their_whole_status() -> None:
    status = _fields(CameraView) - {"config"}
    assert status <= set(CameraOut.model_fields), status - set(CameraOut.model_fields)


def test_engine_health_is_shown_whole() -> None:
    from gridsight.api.schemas import EngineHealthOut
    from gridsight.core.engine.health import EngineHealth

    assert _fields(EngineHealth) == set(EngineHealthOut.model_fields)
