"""Where a page may send the browser next: same-origin paths only.

``/login?next=...`` takes the user back to the page they asked for. A value that a
browser would resolve to another origin (``//evil``, ``/\\evil``, ``https://evil``,
``javascript:``, control characters the URL parser drops) is refused, so a sign-in link
cannot become a phishing redirect.

Example:
    >>> safe_next("/dashboard?lang=zh")
    '/dashboard?lang=zh'
    >>> safe_next("/\\\\127.0.0.1:8099/phish") is None
    True
"""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path on this origin, else None."""
    if not value or len(value) > 2048:
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    # Browsers treat "\" as "/" in special URLs and drop tabs and newlines, so "/\evil",
    # "/\t/evil" and "/%09/evil" decoded along the way could leave the origin.
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
