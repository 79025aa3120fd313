"""The ``clips:`` block of a township config: evidence clips around event starts.

::

    clips:
      dir: /var/lib/gridsight/clips     # ``gridsight run --clips DIR`` overrides it
      pre_s: 5                          # seconds before the start (ring buffer)
      post_s: 5                         # seconds after it
      keep_days: 7                      # retention: older clips are removed ...
      keep_gb: 10                       # ... then the oldest while over this size
      strict: false                     # blur everything outside the camera's zones
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from gridsight.core.config.base import StrictModel

if TYPE_CHECKING:
    from gridsight.core.sinks.evidence_clips import ClipSettings


class ClipsConfig(StrictModel):
    """Where evidence clips go, their length and how long they are kept."""

    dir: str | None = Field(default=None, description="folder of the clips (or --clips DIR)")
    pre_s: float = Field(default=5.0, ge=0.0, le=60.0, description="seconds before the start")
    post_s: float = Field(default=5.0, ge=0.0, le=120.0, description="seconds after the start")
    keep_days: float | None = Field(default=7.0, gt=0.0, description="remove older clips")
    keep_gb: float | None = Field(
        default=10.0, gt=0.0, description="remove the oldest clips while the folder is larger"
    )
    strict: bool = Field(
        default=False, description="blur everything outside the camera's zones too"
    )

    def settings(
        self, directory: str | Path | None = None, blur: bool = True
    ) -> ClipSettings | None:
        """The engine's ``ClipSettings`` (``directory`` over ``dir``), or None without one."""
        from gridsight.core.sinks.evidence_clips import ClipSettings
        from gridsight.core.sinks.evidence_privacy import PrivacySettings

        where = directory if directory is not None else self.dir
        if where is None:
            return None
        return ClipSettings(
            Path(where),
            pre_s=self.pre_s,
            post_s=self.post_s,
            keep_days=self.keep_days,
            keep_gb=self.keep_gb,
            blur=blur,
            privacy=PrivacySettings(strict=self.strict),
        )
