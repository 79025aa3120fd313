"""The township's places for the map: extent, command centre, villages, grids, cameras."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from gridsight.api.deps import Anyone, ServicesDep
from gridsight.api.errors import NotFound, error_responses

router = APIRouter(prefix="/township", tags=["township"])


class Place(BaseModel):
    """A named point of the town, km."""

    id: str
    name: str
    name_en: str | None = None
    village: str | None = None
    position: tuple[float, float]


class TownshipOut(BaseModel):
    """What the map draws."""

    id: str
    name: str
    name_en: str | None
    extent_km: tuple[float, float]
    command_centre: Place
    villages: list[Place]
    grids: list[Place]
    cameras: list[Place]


@router.get("", response_model=TownshipOut, responses=error_responses(401, 404))
def township(services: ServicesDep, _user: Anyone) -> TownshipOut:
    """The township config's coordinates (404 when the service runs without a config)."""
    town = services.township
    if town is None:
        raise NotFound("the service runs without a township config")
    cc = town.command_centre
    return TownshipOut(
        id=town.id,
        name=town.name,
        name_en=town.name_en,
        extent_km=town.extent_km,
        command_centre=Place(id="command-centre", name=cc.name, position=cc.position),
        villages=[
            Place(id=v.id, name=v.name, name_en=v.name_en, position=v.position)
            for v in town.villages
        ],
        grids=[
            Place(id=g.id, name=g.name or g.id, village=g.village, position=g.position)
            for g in town.grids
        ],
        cameras=[
            Place(id=c.id, name=c.name, village=c.village, position=town.camera_position(c))
            for c in town.cameras
        ],
    )
