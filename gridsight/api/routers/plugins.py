"""The plugins loaded into this process, and what each kind registers."""

from __future__ import annotations

from fastapi import APIRouter

from gridsight.api.deps import ServicesDep, Viewer
from gridsight.api.errors import error_responses
from gridsight.api.schemas import PluginsOut
from gridsight.core import plugins as registry

router = APIRouter(prefix="/plugins", tags=["plugins"])


@router.get("", response_model=PluginsOut, responses=error_responses(401, 403))
def plugins_loaded(services: ServicesDep, _user: Viewer) -> PluginsOut:
    """Plugin names and the hazards, backends, sources, sinks, detectors, policies, notifiers."""
    pm = services.pm
    schemes = sorted({s for group in pm.hook.gridsight_register_source_schemes() for s in group})
    return PluginsOut(
        plugins=sorted(name for name, _ in pm.list_name_plugin() if name),
        hazards=sorted(registry.hazard_rules(pm)),
        backends=sorted(registry.backends(pm)),
        sources=schemes,
        sinks=sorted(registry.sinks(pm)),
        detectors=sorted(registry.detectors(pm)),
        dispatch_policies=sorted(registry.dispatch_policies(pm)),
        notifiers=sorted(registry.notifiers(pm)),
    )
