"""gridsight: hazard detection for township cameras, and a simulator of its service targets."""

from __future__ import annotations

__version__ = "0.1.0"
