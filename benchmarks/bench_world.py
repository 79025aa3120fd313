"""Rendering speed of the synthetic world at 640x360, side by side.

Per scene: a full frame (actors composited, lighting, noise, blur, JPEG round trip,
shake) against the same frame without sensor effects, and the truth alone (masks and
occlusion, no pixels) — what `gridsight world truth` and the rule tests pay per frame.
Also the one-off cost of building a world (laying out and painting the background).

    .venv/bin/pytest benchmarks/bench_world.py --benchmark-columns=min,median,mean,ops,rounds
"""

from __future__ import annotations

import itertools

import pytest

from gridsight.simulator import SCENES, open_world

# Frames from minute 1 on, with the default traffic: a typical busy-ish stream.
START = 300


@pytest.mark.parametrize("scene", SCENES)
def test_render_frame(benchmark, scene: str) -> None:
    world = open_world(f"synthetic://{scene}?seed=7&w=640&h=360")
    counter = itertools.count(START)
    benchmark.group = "render 640x360 (per frame)"
    image, _ = benchmark(lambda: world.render(next(counter)))
    assert image.shape == (360, 640, 3)


@pytest.mark.parametrize("scene", SCENES)
def test_compose_without_effects(benchmark, scene: str) -> None:
    world = open_world(f"synthetic://{scene}?seed=7&w=640&h=360&effects=0")
    counter = itertools.count(START)
    benchmark.group = "compose only, no sensor effects (per frame)"
    benchmark(lambda: world.render(next(counter)))


@pytest.mark.parametrize("scene", SCENES)
def test_truth_only(benchmark, scene: str) -> None:
    world = open_world(f"synthetic://{scene}?seed=7&w=640&h=360")
    counter = itertools.count(START)
    benchmark.group = "truth only, no pixels (per frame)"
    benchmark(lambda: world.truth_at(next(counter) / world.fps))


@pytest.mark.parametrize("scene", SCENES)
def test_build_world(benchmark, scene: str) -> None:
    seeds = itertools.count(1)
    benchmark.group = "build a world (layout + background)"
    benchmark.pedantic(
        lambda: open_world(f"synthetic://{scene}?seed={next(seeds)}"), rounds=5, iterations=1
    )
