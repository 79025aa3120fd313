"""The detectors of one run: one per distinct ``detector:`` config, shared by its cameras.

A township may run several models at once (a COCO model on the streets, a boat model on
the reservoir): each camera's effective ``detector:`` (its own block over the township's
over the command line's) picks one. Cameras whose effective configs are equal share one
:class:`Detector`, and so one batch; cameras on another model are batched on their own
(the engine splits each batch by detector).

Every detector is built, and so checked on a blank frame (class count against names,
output layout), when the pool is built: before the run prints that it is running.

Example:
    >>> pool = DetectorPool(town.cameras, pm, default=town.detector)   # doctest: +SKIP
    >>> pool.for_camera("cam-dock").class_names                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gridsight.core.config.detector import DetectorConfig
from gridsight.core.detection.detector import Detector
from gridsight.core.detection.spec import resolve_model
from gridsight.core.errors import GridsightError

if TYPE_CHECKING:
    import pluggy

    from gridsight.core.config.camera import CameraConfig


class DetectorPool:
    """Builds and owns the detectors of a run, one per distinct effective config.

    Args:
        cameras: the run's cameras (each may carry its own ``detector:``).
        pm: the plugin manager (registered detectors and backends).
        default: the township's ``detector:`` block.
        model: the command line's ``--model`` (over the township's ``model``).
        names: the command line's ``--names`` (over the township's ``names``).
        backend: the inference backend name.
        defaults: ``conf``/``iou``/``max_det`` when neither a config nor the registered
            detector's spec sets them (the engine's own).
        backend_options: passed to every backend's ``load``.
    """

    def __init__(
        self,
        cameras: Iterable[CameraConfig],
        pm: pluggy.PluginManager,
        *,
        default: DetectorConfig | None = None,
        model: str | None = None,
        names: tuple[str, ...] | None = None,
        backend: str = "auto",
        defaults: Mapping[str, Any] | None = None,
        backend_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.pm = pm
        self.backend = backend
        self.defaults = dict(defaults or {})
        self.backend_options = dict(backend_options or {})
        base = default or DetectorConfig()
        self._names_from = "the config's detector.names" if base.names else None
        if model is not None:
            base = DetectorConfig(model=str(model)).over(base)
        if names:
            base = DetectorConfig(names=tuple(names)).over(base)
            self._names_from = "--names"
        self.base = base
        self.detectors: dict[str, Detector] = {}
        self._closed = False
        self._by_camera: dict[str, Detector] = {}
        try:
            built = [self.add(cam) for cam in cameras]
            #: The first camera's detector (the run's default model without cameras):
            #: the one the engine's inference thread overlaps with the rest.
            self.default = built[0] if built else self._get(base, self._names_from)
        except BaseException:
            self.close()
            raise

    def config_for(self, camera: CameraConfig) -> DetectorConfig:
        """The camera's effective detector config (its own block over the run's)."""
        return camera.detector.over(self.base) if camera.detector is not None else self.base

    def add(self, camera: CameraConfig) -> Detector:
        """The camera's detector, built (and checked) now if no camera used it before.

        Raises:
            ModelError: the model is missing or fails its load-time check (the message
                names the camera).
        """
        cfg = self.config_for(camera)
        names_from = self._names_from
        if camera.detector is not None and camera.detector.names:
            names_from = f"camera {camera.id!r} detector.names"
        try:
            det = self._get(cfg, names_from)
        except GridsightError as exc:
            raise type(exc)(f"camera {camera.id!r}: {exc}") from exc
        self._by_camera[camera.id] = det
        return det

    def for_camera(self, camera_id: str) -> Detector:
        """The detector of a camera added to the pool (KeyError for another)."""
        return self._by_camera[camera_id]

    def remove(self, camera_id: str) -> None:
        """Forget a camera (its detector stays while the pool lives: others may share it)."""
        self._by_camera.pop(camera_id, None)

    def _get(self, cfg: DetectorConfig, names_from: str | None) -> Detector:
        key = cfg.key
        found = self.detectors.get(key)
        if found is not None:
            return found
        path, spec = resolve_model(cfg.model, self.pm)
        kwargs: dict[str, Any] = dict(pm=self.pm, backend_options=self.backend_options)
        for name in ("conf", "iou", "max_det"):
            value = getattr(cfg, name)
            if value is None and spec is not None:
                value = getattr(spec, name)
            if value is None:
                value = self.defaults.get(name)
            if value is not None:
                kwargs[name] = value
        if cfg.names:
            kwargs.update(class_names=list(cfg.names), names_from=names_from)
        if cfg.class_conf:
            kwargs["class_conf"] = dict(cfg.class_conf)
        if cfg.class_to_role:
            kwargs["class_to_role"] = dict(cfg.class_to_role)
        if cfg.input_size is not None:
            kwargs["input_size"] = cfg.input_size
        det = (
            Detector.from_spec(spec, self.backend, **kwargs)
            if spec is not None
            else Detector(path, self.backend, **kwargs)
        )
        self.detectors[key] = det
        return det

    def close(self) -> None:
        """Close every detector (their backends); the pool still lists them afterwards."""
        if self._closed:
            return
        self._closed = True
        for det in self.detectors.values():
            det.close()
