"""docs/deployment.md: the published facts the defaults rest on, and the citations of it.

Every ``docs/deployment.md#<section>`` (inside docs/: ``deployment.md#<section>``) that a
config, doc, docstring or test cites must name a section that exists, and no citation of
a file outside the project (the old ``[SF]`` marks) may be left. The figures the page
states must be the ones the Jingqiao config and the simulator's targets use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gridsight.core.config import load_township

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "deployment.md"
SCANNED = ("configs", "docs", "gridsight", "tests", "README.md")
SUFFIXES = {".py", ".yaml", ".yml", ".md", ".html", ".json", ".toml"}
CITE = re.compile(r"deployment\.md#([a-z0-9][a-z0-9_-]*)")  # not the legends' #SECTION


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors() -> set[str]:
    text = PAGE.read_text(encoding="utf-8")
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            out.append(path)
            continue
        out += [p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return out


def test_every_citation_names_a_section_of_the_page() -> None:
    anchors = _anchors()
    cited: dict[str, list[str]] = {}
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            for m in CITE.finditer(line):
                cited.setdefault(m.group(1), []).append(f"{path.relative_to(ROOT)}:{n}")
    assert cited, "nothing cites docs/deployment.md"
    missing = {a: where for a, where in cited.items() if a not in anchors}
    assert not missing, f"citations of sections docs/deployment.md lacks: {missing}"
    # The sections the configs lean on are all cited somewhere.
    sections = ("the-town", "people-and-grids", "cameras-and-the-alert-loop",
                "the-reservoir-case", "reported-outcomes", "other-published-figures")  # fmt: skip
    for section in sections:
        assert section in cited, section


def test_no_citation_of_files_outside_the_project_is_left() -> None:
    old = re.compile(r"\[SF[\]\s:]|SEED_FACTS|shared/SEED")
    left = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _files()
        if path != Path(__file__)
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if old.search(line)
    ]
    assert not left, f"cite docs/deployment.md instead: {left}"


@pytest.mark.parametrize(
    ("stated", "used"),
    [
        ("About **40,000 residents**", lambda t, s: t.population == 40000),
        ("**12 villages and communities**", lambda t, s: len(t.villages) == 12),
        ("**49 comprehensive grids**", lambda t, s: len(t.grids) == 49),
        ("**186 micro-grids**", lambda t, s: len(t.micro_grids) == 186),
        ("**260 safety volunteers**", lambda t, s: t.staff_counts()["safety_volunteers"] == 260),
        ("**12** of them", lambda t, s: len(t.cameras) == 12),
        (
            "**Within 1 minute**",
            lambda t, s: t.orders.sla.dispatch_s == 60 == s["targets"]["dispatch_s"],
        ),
        (
            "**55 minutes**",
            lambda t, s: t.orders.sla.close_min == 55 == s["targets"]["closure_min"],
        ),
        ("80% quicker", lambda t, s: s["targets"]["response_reduction"] == 0.80),
        (
            "**0.28 alerts per camera per day**",
            lambda t, s: s["hazards"]["fire_lane"]["rate_per_camera_day"] == 0.28,
        ),
    ],
)
def test_the_page_states_the_figures_the_defaults_use(stated: str, used) -> None:
    assert stated in PAGE.read_text(encoding="utf-8")
    town = load_township(ROOT / "configs" / "jingqiao.yaml")
    sim = yaml.safe_load((ROOT / "configs" / "sim" / "baseline.yaml").read_text("utf-8"))
    assert used(town, sim)
