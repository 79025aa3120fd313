"""Models of the Open311 GeoReport v2 endpoints (their field names are the spec's)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Open311Service(BaseModel):
    """One GeoReport service (request kind)."""

    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str = ""
    group: str = ""


class Open311Created(BaseModel):
    """The answer to a filed request."""

    service_request_id: str
    service_notice: str = ""
    account_id: str | None = None


class Open311Request(BaseModel):
    """One request as GeoReport lists it."""

    service_request_id: str
    status: str = Field(description="open | closed")
    status_notes: str = Field(description="the detailed work-order state")
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str = ""
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str
    address: str
    address_id: str
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
