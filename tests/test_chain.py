"""The chain parser, typed options, the registry, windowed filters and scene cuts."""
from dataclasses import dataclass

import pytest
import torch

from framemend.chain import Frame, OptionError, TemporalFilter, option, register
from framemend.chain.apply import apply_filter
from framemend.chain.parser import build_chain, parse_chain


@register
class _WindowMean(TemporalFilter):
    """Test filter: the mean of a +-radius window, scaled by gain."""

    name = "test_windowmean"

    @dataclass
    class Options:
        radius: int = option(1, "frames each side", min=0, max=5)
        gain: float = option(1.0, "multiplier", min=0.0, max=2.0)
        mode: str = option("mean", "how", choices=("mean", "max"))

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        self.past = self.future = options.radius

    def process(self, window, center):
        stack = torch.stack([f.image for f in window])
        return self.options.gain * (stack.mean(0) if self.options.mode == "mean" else stack.amax(0))


def test_parse_chain_positional_and_named():
    assert parse_chain("a=1:b=x,c") == [("a", {"": "1", "b": "x"}), ("c", {})]
    (cls, opts), = build_chain("test_windowmean=2:gain=0.5")
    assert cls is _WindowMean and opts.radius == 2 and opts.gain == 0.5 and opts.mode == "mean"


@pytest.mark.parametrize("chain, words", [
    ("test_windowmeen", ["unknown filter", "test_windowmean"]),
    ("test_windowmean=gian=1", ["unknown option 'gian'", "did you mean 'gain'"]),
    ("test_windowmean=gain=3", ["'gain' must be in [0.0, 2.0]"]),
    ("test_windowmean=radius=1.5", ["'radius' expects an integer"]),
    ("test_windowmean=mode=median", ["must be one of mean|max"]),
    ("test_windowmean=1:2", ["key=value"]),
    ("test_windowmean=gain=nan", ["'gain' expects a number, got 'nan'"]),  # no range holds nan
    ("test_windowmean=radius=inf", ["'radius' expects an integer, got 'inf'"]),
])
def test_bad_chains_get_one_line_errors(chain, words):
    with pytest.raises(OptionError) as e:
        build_chain(chain)
    assert "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("chain, message", [
    # a value given twice: the first was dropped without a word (sigma=3, mode=global)
    ("denoise=3:sigma=4", "denoise: option 'sigma' given twice (positionally '3' and as sigma='4')"),
    ("deflicker=mode=local:mode=global", "deflicker: option 'mode' given twice ('local' and 'global')"),
    # an empty option: "option 'sigma' expects a number, got ''" (the empty positional won over
    # sigma=3), "'' needs the form key=value", or (denoise=) accepted as plain denoise
    ("denoise=:sigma=3", "denoise: empty option in 'denoise=:sigma=3' (a stray ':' or '='"),
    ("denoise=sigma=3:", "denoise: empty option in 'denoise=sigma=3:'"),
    ("denoise=", "denoise: empty option in 'denoise='"),
    ("denoise,", "empty filter in chain 'denoise,' (a stray ',')"),
    # a comma-separated box before another option: the hint lost its last number (box=4+10+40)
    ("realign=box=4,10,40,30:region=face", "join an option's numbers with '+' (box=4+10+40+30)"),
    ("interpolate=2,3:warp=bilinear", "'3:warp=bilinear' in chain 'interpolate=2,3:warp=bilinear' "
                                      "is no filter"),  # was "unknown filter '3:warp'"
    # no suggestion for another case; quote marks a shell passed on (cmd.exe) said
    ("DENOISE", "unknown filter 'DENOISE'; did you mean 'denoise'?"),
    ("'denoise'", "did you mean 'denoise'? (the quote marks reached framemend"),
    # an option another one's value leaves unread: dropped without a word
    ("stabilize=box=2+2+30+20", "stabilize: option 'box' applies with mode=subject only, and mode "
                                "is smooth: it would be dropped"),
    ("realign=box=2+2+30+20", "realign: option 'box' applies with region=face only, and region "
                              "is frame"),
    ("realign=pick=sharp:keyframes=0+48", "realign: option 'pick' applies without keyframes only, "
                                          "and keyframes is 0+48"),
    ("interpolate=factor=3:fps=60", "interpolate: option 'factor' applies without fps only, and "
                                    "fps is 60: it would be dropped"),
    # a default given is a choice too: factor=2 is not fps=60 unless the input runs at 30 fps
    ("interpolate=factor=2:fps=60", "interpolate: option 'factor' applies without fps only"),
    ("realign=pick=first:keyframes=0+48", "realign: option 'pick' applies without keyframes only"),
])
def test_odd_chains_say_what_is_wrong(chain, message):
    with pytest.raises(OptionError) as e:
        build_chain(chain)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_spaces_around_names_and_values_and_a_rate_as_a_fraction():
    """Spaces around names, values, ``,`` and ``:`` are the same chain; a float option takes a
    fraction as ffmpeg takes a rate (``fps=30000/1001`` was "expects a number")."""
    assert build_chain(" denoise = sigma = 3 : memory = 4 , deboil ") == build_chain(
        "denoise=sigma=3:memory=4,deboil")
    (_, opts), = build_chain("interpolate=fps=30000/1001")
    assert opts.fps == 30000 / 1001
    with pytest.raises(OptionError, match="'fps' expects a number, got '1/0'"):
        build_chain("interpolate=fps=1/0")
    with pytest.raises(OptionError, match="'memory' expects an integer, got '8/2'"):
        build_chain("denoise=memory=8/2")


def test_window_filter_sees_its_window_and_resets_at_cuts():
    frames = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 3, 2, 2) / 10
    out = apply_filter("test_windowmean", frames, radius=1, cuts=[4])
    got = (out[:, 0, 0, 0] * 10).tolist()
    # frame 3 must not see frame 4 (new shot), frame 4 must not see frame 3
    assert got == pytest.approx([0.5, 1, 2, 2.5, 4.5, 5, 6, 6.5])


def test_window_filter_memory_is_bounded_by_its_window():
    flt = _WindowMean(_WindowMean.Options(radius=2))
    for t in range(100):
        flt.push(Frame(torch.zeros(3, 2, 2), t / 24))
        assert len(flt._window) <= 5


def test_python_none_means_auto_for_optional_options():
    from typing import Optional

    from framemend.chain.options import make_options

    @dataclass
    class Opts:
        sigma: Optional[float] = option(None, "auto when None", min=0.0)

    assert make_options("x", Opts, {"sigma": None}).sigma is None
    assert make_options("x", Opts, {"sigma": "auto"}).sigma is None
    assert make_options("x", Opts, {"sigma": "12"}).sigma == 12.0


class _RawProbe:
    """Records whether each frame still held its decoded uint8 pixels when it arrived."""

    reads_pixels, preserves_geometry = True, True

    def __init__(self, reads_raw: bool):
        self.reads_raw, self.seen = reads_raw, []

    def output_rate(self, rate):
        return rate

    def push(self, frame):
        self.seen.append(frame.raw is not None)
        return [frame]

    def flush(self):
        return []


@pytest.mark.parametrize("reads_raw", [True, False])
def test_engine_converts_early_only_for_filters_that_want_tensors(reads_raw):
    """A filter that reads ``frame.raw`` itself (interpolate's uint8 path) gets the decoded
    pixels; any other gets frames already converted to tensors in the decode thread."""
    import numpy as np

    from framemend.chain.engine import run_stream

    frames = (Frame(raw=np.full((8, 8, 3), t, np.uint8), time=t / 24) for t in range(6))
    probe = _RawProbe(reads_raw)
    run_stream(frames, [probe], lambda frame: None)
    assert probe.seen == [reads_raw] * 6


def test_options_given_where_they_are_read_are_taken():
    """The guard of the 'applies with ... only' refusals above: each option with the value of
    the other that reads it, and None (nothing given) beside any."""
    for chain in ("stabilize=mode=subject:box=2+2+30+20", "realign=region=face:box=2+2+30+20",
                  "realign=pick=sharp", "realign=pick=first", "stabilize=box=none",
                  "interpolate=factor=2", "interpolate=fps=60", "interpolate=3"):
        build_chain(chain)
