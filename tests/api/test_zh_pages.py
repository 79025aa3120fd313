"""Every server-rendered page in Chinese: no English left outside an allow list.

The pages' text (and the attributes a person reads: placeholder, alt, title, aria-label)
is collected without scripts and styles; what remains after removing Chinese, numbers and
punctuation must be data (ids, account names) or an allowed word. The pages that
JavaScript fills (the dashboard's tables, the worker's cards) are checked in the browser
(tests/api/test_browser_pages.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from .conftest import Api, manual_order

#: Words a Chinese page may show in Latin letters, and why.
ALLOWED = {
    "gridsight",  # the product's name
    "English",  # the language switch names the other language in that language
    "CSV",  # the export's format
    "SLA",  # the service-level columns, as the command centre says it
}
#: Data, not words: ids of orders, grids, workers, cameras, events.
DATA = re.compile(r"^(wo-[0-9a-f]+|[a-z]+(-\d+)?-g\d+|gw-[a-z0-9-]+|cam-[a-z0-9-]+|[a-z]+-\d+)$")
_READ_ATTRS = ("placeholder", "alt", "title", "aria-label")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.tags: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Scripts, styles, and text the page marks as English (lang="en": the notes the
        # service writes on the trail, e.g. "the camera confirms the hazard has cleared").
        if tag in ("script", "style") or ("lang", "en") in attrs:
            self.hidden += 1
            self.tags.append(tag)
        self.parts.extend(v for k, v in attrs if k in _READ_ATTRS and v)

    def handle_endtag(self, tag: str) -> None:
        if self.tags and tag == self.tags[-1]:
            self.tags.pop()
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def english_words(text: str, names: set[str]) -> set[str]:
    """Latin-letter words of ``text`` that are neither allowed, account names nor data."""
    words = set()
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", text):
        latin = re.search(r"[A-Za-z]", token) is not None
        if latin and token not in ALLOWED | names and not DATA.match(token):
            words.add(token)
    return words


def untranslated(html: str, names: set[str]) -> set[str]:
    """:func:`english_words` of the text a person reads on ``html``."""
    parser = _Text()
    parser.feed(html)
    return english_words("\n".join(parser.parts), names)


def test_every_page_in_chinese_has_no_untranslated_words(api: Api) -> None:
    order = manual_order(api, title="", description="")
    from .test_events import event, ingest

    # a camera order: auto-verified, the system's own notes; its clip shown on its page
    ingest(api, event(1, clip="cam-reservoir-01/1.mp4"))
    camera_order = next(v for v in api.services.orders.list().items if v.source == "camera")
    browser = TestClient(api.client.app)
    r = browser.post(
        "/api/v1/auth/login", json={"name": "operator", "password": "operator-password"}
    )
    assert r.status_code == 200
    names = {"operator"}  # the account's own name is data
    pages = [
        "/login",
        "/dashboard",
        f"/orders/{order['id']}",
        f"/orders/{camera_order.id}",
        "/history",
        "/ack?token=x",
    ]
    found = {}
    for path in pages:
        sep = "&" if "?" in path else "?"
        html = browser.get(f"{path}{sep}lang=zh").text
        left = untranslated(html, names)
        if left:
            found[path] = sorted(left)
    assert not found, f"English in the Chinese pages: {found}"


def test_the_probe_finds_english() -> None:
    assert untranslated("<p>工单 Work order wo-1a2b</p>", set()) == {"Work", "order"}
