"""The synthetic source through the plugin hook, and the world CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from gridsight.commands.world import world as world_cli
from gridsight.core.errors import SourceError
from gridsight.core.plugins import build_plugin_manager
from gridsight.core.sources.base import SourceOptions
from gridsight.simulator.source import SyntheticSource


def test_hook_opens_synthetic_uris() -> None:
    pm = build_plugin_manager()
    src = pm.hook.gridsight_open_source(
        uri="synthetic://street?seed=2&fps=4&w=320&h=180", options=SourceOptions()
    )
    assert isinstance(src, SyntheticSource)
    assert src.fps == 4.0
    frames = [src.read() for _ in range(3)]
    assert [f.index for f in frames if f] == [0, 1, 2]
    assert [f.ts for f in frames if f] == [0.0, 0.25, 0.5]
    assert frames[0] is not None and frames[0].image.shape == (180, 320, 3)
    src.close()


def test_hook_ignores_other_schemes() -> None:
    from gridsight.plugins import synthetic

    assert synthetic.gridsight_open_source(uri="rtsp://cam/1", options=SourceOptions()) is None
    assert synthetic.gridsight_open_source(uri="/data/a.mp4", options=SourceOptions()) is None


def test_hook_rejects_bad_synthetic_uris() -> None:
    pm = build_plugin_manager()
    with pytest.raises(SourceError, match="'fps'"):
        pm.hook.gridsight_open_source(uri="synthetic://street?fps=fast", options=SourceOptions())
    with pytest.raises(SourceError, match="pond"):
        pm.hook.gridsight_open_source(uri="synthetic://pond", options=SourceOptions())


def test_options_size_overrides_the_uri() -> None:
    src = SyntheticSource("synthetic://reservoir?seed=1", SourceOptions(width=320, height=180))
    frame = src.read()
    assert frame is not None and frame.image.shape == (180, 320, 3)


def test_cli_truth_zones_render(tmp_path: Path) -> None:
    runner = CliRunner()
    uri = "synthetic://reservoir?seed=3&fps=2"
    result = runner.invoke(world_cli, ["truth", uri, "--duration", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"episodes", "near_misses", "zones", "frames"}
    assert len(data["frames"]) == 6 and data["zones"][0]["name"] == "water_edge"

    result = runner.invoke(world_cli, ["zones", "synthetic://stairwell?seed=3"])
    assert result.exit_code == 0, result.output
    assert "lobby_entrance" in result.output and "inward:" in result.output

    out = tmp_path / "x.mp4"
    result = runner.invoke(
        world_cli, ["render", uri, "--duration", "2", "--out", str(out), "--draw-truth"]
    )
    assert result.exit_code == 0, result.output
    cap = cv2.VideoCapture(str(out))
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    assert n == 4


@pytest.mark.parametrize("command", ["render", "truth"])
@pytest.mark.parametrize("duration", ["0", "-3"])
def test_cli_rejects_a_non_positive_duration(tmp_path: Path, command: str, duration: str) -> None:
    # It used to write "wrote x.mp4 (-15 frames ...)" and exit 0.
    args = [command, "synthetic://reservoir?seed=1", "--duration", duration]
    if command == "render":
        args += ["--out", str(tmp_path / "x.mp4")]
    result = CliRunner().invoke(world_cli, args)
    assert result.exit_code == 2
    assert "Invalid value for '--duration'" in result.output
    assert not (tmp_path / "x.mp4").exists()
