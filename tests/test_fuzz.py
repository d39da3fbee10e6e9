"""Every case of the fuzzed input corpus (tests/fuzz_corpus.py) through `framemend clean`.

Each case runs in-process through the CLI's main() with one filter chain (the chains are
spread over the corpus so each filter and the default chain meet every kind of case), under a
watchdog that ends the run with every thread's stack if a case hangs. Asserted for each case:
no traceback; exit 0 or 1 with one line per message; exit 0 only with every decodable frame
written (and, for a damaged copy of a clip, all of the clip's frames: a loss must not be
silent); exit 1 with either nothing under the output's name or the frames the message says were
written; never a temporary file beside the output.
"""
import faulthandler
import os
import re

import pytest

from framemend.cli import main
from framemend.presets import DEFAULT_PRESET, PRESETS
from fuzz_corpus import build_corpus, decodable_frames

CHAINS = ["identity", "deflicker", "denoise", "stabilize", "realign", "interpolate=2",
          PRESETS[DEFAULT_PRESET]]
HANG_SECONDS = 60
# Where the watchdog writes every thread's stack: pytest's capture owns stderr's descriptor, and
# the watchdog ends the process, so a file is the only place the stacks survive (.ci/run prints it).
HANG_LOG = os.environ.get("FRAMEMEND_HANG_LOG")
DAMAGED = ("truncated", "flipped-header", "flipped-middle", "huge-size")
# PyAV's own race, not framemend's: av.logging.set_level(None) sets the threshold before it
# swaps the C callback, so a decoder thread that was waiting for the GIL with an error
# compares its level with None and PyAV prints this (the reader switches error counting off
# whenever it hands out a frame, which a reader freed mid-stream needs to avoid a deadlock).
PYAV_LOG_RACE = re.compile(
    r"Traceback \(most recent call last\):\n"
    r"(  File \"av/logging\.py\", line \d+, in av\.logging\.\w+\n)+"
    r"TypeError: '<=' not supported between instances of 'int' and 'NoneType'\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(str(tmp_path_factory.mktemp("corpus")))


def test_corpus_is_large_and_varied(corpus):
    kinds = {c.kind for c in corpus}
    assert len(corpus) >= 200
    assert {"truncated", "flipped-header", "flipped-middle", "zero-length", "wrong-extension",
            "huge-size", "odd-size", "short", "vfr", "audio-only", "resolution-change"} <= kinds


def test_every_case_has_a_clear_outcome(corpus, tmp_path, capsys):
    failures = []
    hang_log = open(HANG_LOG or tmp_path / "hang.txt", "w")
    for i, case in enumerate(corpus):
        chain = CHAINS[i % len(CHAINS)]
        out_dir = tmp_path / f"o{i}"
        out_dir.mkdir()
        out = out_dir / "out.mkv"
        print(f"case {i}: {case.name} [{case.kind}], -f {chain}", file=hang_log, flush=True)
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=hang_log)
        try:
            code = main(["clean", case.path, "-o", str(out), "-f", chain])
        except BaseException as e:  # noqa: BLE001 - recorded as this case's failure
            code = f"raised {type(e).__name__}: {e}"
        finally:
            faulthandler.cancel_dump_traceback_later()
        err = PYAV_LOG_RACE.sub("", capsys.readouterr().err)
        problem = _judge(case, code, err, out, chain)
        if problem:
            failures.append(f"{case.name} [{case.kind}, {chain}]: {problem} | {err.strip()[:300]}")
    hang_log.close()
    assert not failures, "\n".join(failures)


def _judge(case, code, err, out, chain) -> str | None:
    leftovers = [p.name for p in out.parent.iterdir() if p.name != "out.mkv"]
    if leftovers:
        return f"left {leftovers} beside the output"
    if "Traceback" in err:
        return "traceback"
    if code not in (0, 1):
        return f"exit {code}"
    lines = err.strip().splitlines()
    if any(not line.startswith("framemend: ") for line in lines):
        return "a message line without the framemend prefix"
    decodable = decodable_frames(case.path)
    if code == 0:
        m = re.search(r"(\d+) frames? in, (\d+) out", err)
        if not m or not out.exists():
            return "exit 0 without the summary or the output"
        frames_in = int(m.group(1))
        if frames_in < decodable:
            return f"exit 0 after reading {frames_in} of {decodable} decodable frames"
        if case.kind in DAMAGED and case.source_frames and frames_in < case.source_frames:
            return f"exit 0 with {frames_in} of the clip's {case.source_frames} frames"
        return None
    if not lines or not (lines[-1].startswith("framemend: error: ")
                         or re.search("frames? before it", lines[-1])):
        return "exit 1 without an error line"
    m = re.search(r"wrote the (\d+) frames? before it", lines[-1])
    if m:
        written = decodable_frames(str(out))
        expected = int(m.group(1))
        if written != expected:
            return f"said {expected} frames were written, the output holds {written}"
    elif out.exists():
        return "failed but left a file under the output's name"
    return None
