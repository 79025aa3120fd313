"""Page strings, one JSON file per language (``zh.json``, ``en.json``), same keys in each.

Example:
    >>> strings("en")["login_submit"]
    'Sign in'
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("zh", "en")
_DIR = Path(__file__).resolve().parent


@cache
def strings(lang: str) -> dict[str, str]:
    """The strings of ``lang`` (``zh`` or ``en``); unknown languages get English."""
    name = lang if lang in LANGUAGES else "en"
    data: dict[str, str] = json.loads((_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data
