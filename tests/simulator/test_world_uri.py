"""Parsing synthetic:// URIs: defaults, optional parameters, and errors that name the parameter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridsight.core.errors import SourceError
from gridsight.simulator.uri import SCENES, WorldSpec, is_synthetic_uri, parse_world_uri


def test_defaults() -> None:
    spec = parse_world_uri("synthetic://reservoir")
    assert (spec.scene, spec.seed, spec.fps, spec.width, spec.height) == (
        "reservoir",
        0,
        5.0,
        640,
        360,
    )
    assert spec.lighting is None and spec.clock_s is None and spec.effects


def test_all_parameters() -> None:
    spec = parse_world_uri(
        "synthetic://fire_lane?seed=12&fps=2.5&w=320&h=240&time=night&clock=21:30"
        "&density=3&effects=0"
    )
    assert spec == WorldSpec("fire_lane", 12, 2.5, 320, 240, "night", 21 * 3600 + 1800, 3.0, False)


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("synthetic://reservoir?seed=abc", "'seed'"),
        ("synthetic://reservoir?seed=-1", "'seed'"),
        ("synthetic://reservoir?fps=0", "'fps'"),
        ("synthetic://reservoir?w=10", "'w'"),
        ("synthetic://reservoir?h=big", "'h'"),
        ("synthetic://reservoir?time=noon", "'time'"),
        ("synthetic://reservoir?clock=25:00", "'clock'"),
        ("synthetic://reservoir?effects=yes", "'effects'"),
        ("synthetic://reservoir?colour=red", "'colour'"),
        ("synthetic://reservoir?seed=1&seed=2", "'seed'"),
        ("synthetic://lake?seed=1", "'lake'"),
        ("rtsp://reservoir", "not a synthetic URI"),
    ],
)
def test_bad_uris_name_the_problem(uri: str, needle: str) -> None:
    with pytest.raises(SourceError, match=needle):
        parse_world_uri(uri)


def test_scheme_detection() -> None:
    assert is_synthetic_uri("synthetic://street?seed=1")
    assert is_synthetic_uri("  SYNTHETIC://street")
    assert not is_synthetic_uri("rtsp://cam/1")
    assert not is_synthetic_uri("/videos/a.mp4")


@given(
    scene=st.sampled_from(SCENES),
    seed=st.integers(0, 10**9),
    fps=st.sampled_from([1.0, 2.0, 2.5, 5.0, 12.5, 30.0]),
    width=st.integers(64, 4096),
    height=st.integers(64, 4096),
    lighting=st.sampled_from([None, "day", "dusk", "night"]),
    minutes=st.one_of(st.none(), st.integers(0, 24 * 60 - 1)),
    density=st.sampled_from([0.0, 0.5, 1.0, 2.5]),
    effects=st.booleans(),
)
def test_canonical_uri_round_trips(
    scene: str,
    seed: int,
    fps: float,
    width: int,
    height: int,
    lighting: str | None,
    minutes: int | None,
    density: float,
    effects: bool,
) -> None:
    clock = None if minutes is None else float(minutes * 60)
    spec = WorldSpec(scene, seed, fps, width, height, lighting, clock, density, effects)
    assert parse_world_uri(spec.uri()) == spec
