"""Plug-in filters: a distribution declaring a ``framemend.filters`` entry point adds a filter to
chains, ``framemend filters`` and the API without touching framemend.

The plug-in is "installed" as pip would leave it for importlib.metadata: a module and a
``*.dist-info`` folder with ``entry_points.txt`` in a folder on ``sys.path``.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framemend
from framemend.chain import registry
from framemend.cli import main
from framemend.video import read_video, write_video
from media import moving_frames

REPO = os.path.dirname(os.path.dirname(os.path.abspath(framemend.__file__)))

PLUGIN = textwrap.dedent('''
    """A throwaway plug-in: ``test_invert`` mixes each frame with its negative."""
    from dataclasses import dataclass

    from framemend.chain import Filter, option


    @dataclass
    class InvertOptions:
        """Mix each frame with its negative (a plug-in filter for the tests)."""

        amount: float = option(1.0, "weight of the negative", min=0.0, max=1.0)


    class Invert(Filter):
        """Mix each frame with its negative (a plug-in filter for the tests)."""

        name = "test_invert"
        Options = InvertOptions

        def push(self, frame):
            a = self.options.amount
            frame.image = (1 - a) * frame.image + a * (1 - frame.image)
            return [frame]
''')


def install_plugin(folder, monkeypatch, entry_points: str) -> None:
    """Write the plug-in module and its distribution metadata into ``folder``, put it on the
    path, and have the registry read the entry points again."""
    folder.mkdir()
    (folder / "fm_test_invert.py").write_text(PLUGIN)
    info = folder / "fm_test_invert-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fm-test-invert\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(folder))
    registry._declared.cache_clear()


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch,
                   "[framemend.filters]\ntest_invert = fm_test_invert:Invert\n")
    yield tmp_path / "site"
    registry._declared.cache_clear()
    registry._REGISTRY.pop("test_invert", None)


def test_plugin_runs_through_the_api(plugin):
    frames = moving_frames(6, width=48, height=32)
    out = framemend.clean(frames, chain="identity,test_invert=amount=1")
    assert np.abs(out.astype(int) - (255 - frames.astype(int))).max() <= 1
    half = framemend.test_invert(frames.astype(np.float32) / 255, amount=0.5)
    assert np.abs(half - 0.5).max() < 1e-6
    assert "test_invert" in dir(framemend)


def test_plugin_listed_and_run_by_the_cli(plugin, tmp_path, capsys):
    assert main(["filters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[0] == "test_invert")
    assert "Mix each frame with its negative" in lines[header]
    assert lines[header + 1].split()[0] == "amount" and "[0.0, 1.0]" in lines[header + 1]

    src, dst = str(tmp_path / "in.mkv"), str(tmp_path / "out.mkv")
    frames = moving_frames(8, width=48, height=32)
    write_video(src, frames, 12, lossless=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin), REPO]))
    done = subprocess.run([sys.executable, "-m", "framemend", "clean", src, "-o", dst, "-q",
                           "-f", "test_invert", "--lossless"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.abs(read_video(dst)[0].astype(int) - (255 - frames.astype(int))).max() <= 1


def test_plugin_cannot_take_a_builtin_name(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch,
                   "[framemend.filters]\ndenoise = fm_test_invert:Invert\n")
    try:
        with pytest.warns(UserWarning, match="'denoise' from fm-test-invert ignored"):
            declared = registry._declared()[registry.FILTERS_GROUP]
        assert declared["denoise"] == "framemend.denoise.filter:Denoise"
    finally:
        registry._declared.cache_clear()


def test_every_builtin_is_an_entry_point():
    declared = registry._declared()
    for name in ("identity", "deflicker", "denoise", "interpolate", "realign", "stabilize"):
        assert name in declared[registry.FILTERS_GROUP]
        # listing and checking a chain read the Options alone, without importing the filter
        assert name in declared[registry.OPTIONS_GROUP]
        assert registry.get_filter(name).Options is registry.get_options(name)


def test_unknown_filter_suggests_a_plugin_name(plugin):
    with pytest.raises(framemend.chain.OptionError, match="did you mean 'test_invert'"):
        framemend.clean(moving_frames(2), chain="test_invrt")
