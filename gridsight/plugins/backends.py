"""Built-in backends plugin (hook implementations are added by the module that owns it)."""

from __future__ import annotations
