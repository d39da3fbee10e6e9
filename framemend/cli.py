"""The ``framemend`` command line: clean, filters, probe, generate, score, demo, warmup.

Exit codes: 0 done, 1 failed (unreadable input, damaged file, encoder error), 2 bad usage,
130 interrupted (SIGINT, Ctrl-C), 143 terminated (SIGTERM). Errors are one line on stderr,
prefixed ``framemend: error:``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import threading
import sys

from . import __version__, _numba_blas
from .entry import INTERRUPTED
from .interrupts import raising
from .kernels.heap import limit_arenas
from .batch import cli as batch_cli

EPILOG = """examples:
  framemend clean in.mp4 -o out.mp4                       default chain (--preset default)
  framemend clean in.mp4 -o out.mp4 -f "deflicker=mode=local,interpolate=fps=30"
  framemend clean in.mp4 -o part.mp4 -ss 1:30 -t 10         ten seconds from 1 min 30 s, audio cut to match
  framemend clean clips/ -o cleaned/ --preset smooth      every video in a folder
  framemend clean clips/ -o cleaned/ --recursive --report r.csv   a tree, resumable, all cores
  cat in.mkv | framemend clean - -o - -f denoise > out.mkv  a pipe (MP4 only with -movflags +faststart)
  framemend filters                                       every filter and its options
  framemend generate -o glitchy.mp4 --truth clean.mkv --artifacts flicker,noise=20
  framemend score out.mp4 --ref clean.mkv
  framemend warmup                                        once after installing: compile the kernels
"""


FILTERS_EXAMPLE = "deflicker=strength=0.8,denoise,realign=region=face:box=40+30+200+220"
CHAIN_SYNTAX = ("chain syntax (ffmpeg's): filters joined by ',', options by ':', each key=value, "
                "a list's numbers by '+'; a filter's first option may be positional (interpolate=2)")


class UsageError(Exception):
    """Bad usage: exit code 2."""


LOG_LEVELS = ("quiet", "error", "warning", "info", "debug")
_log_level = LOG_LEVELS.index("info")


def _seconds(text: str) -> float:
    """A time given as seconds (``12.5``) or ``[HH:]MM:SS[.ms]``, as ffmpeg takes it: the minutes
    and seconds after a colon below 60, the fields before the last whole (``1:99`` was 159 s
    and ``1.5:30`` 120 s, where ffmpeg refuses both)."""
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts) or any(p != p for p in parts) \
            or any(p >= 60 for p in parts[1:]) or any(p % 1 for p in parts[:-1]):
        raise argparse.ArgumentTypeError(f"invalid time '{text}' (seconds, or [HH:]MM:SS[.ms], "
                                         "minutes and seconds below 60)")
    value = 0.0
    for p in parts:
        value = value * 60 + p
    return value


def _start_seconds(text: str) -> float:
    """A start time as :func:`_seconds` takes it, finite (``inf`` means the end for ``-t`` and
    ``--end`` only)."""
    value = _seconds(text)
    if value == math.inf:
        raise argparse.ArgumentTypeError(f"invalid time '{text}': a start needs a finite time")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid count '{text}' (a whole number, 1 or more)")
    return value


def _shows(level: str) -> bool:
    return _log_level >= LOG_LEVELS.index(level)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """A :class:`UsageError`; a mistyped choice (``framemend clena``, ``-v debgu``) gets the
        nearest one, as mistyped filters and options do."""
        import difflib
        import re

        typo = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        close = difflib.get_close_matches(typo[1], re.findall(r"'([^']*)'", typo[2]), n=1) \
            if typo else []
        raise UsageError(message + (f"; did you mean '{close[0]}'?" if close else ""))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. ``generate`` and ``score`` get their arguments only when ``argv``
    names them (they import numpy and OpenCV to list their choices), so other commands start
    without those imports; with ``argv`` None every command is complete."""
    p = _Parser(prog="framemend", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Repair AI-generated video: flicker, temporal noise, jitter, "
                            "identity drift and low frame rates.", epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"framemend {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("clean", help="run a filter chain over a video, a pipe or a folder",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Decode INPUT, run the chain, encode OUTPUT. Frame rate, "
                       "timestamps, audio, colour tags and bit depth are kept; the output "
                       "appears only when complete; the input is never touched.",
                       epilog=CHAIN_SYNTAX + ".\npresets: "
                       + ", ".join(f"{k} = \"{v}\"" for k, v in _presets().items()) + "\n\n"
                       + "\n".join(line for line in EPILOG.splitlines()
                                   if line.startswith("examples") or " clean " in line))
    c.add_argument("input", help="video file, '-' for stdin, or a folder of videos")
    c.add_argument("-o", "--output", required=True,
                   help="output file (container from its extension), '-' for stdout, or a folder")
    g = c.add_mutually_exclusive_group()
    g.add_argument("-f", "--filters", metavar="CHAIN",
                   help="filter chain, e.g. 'deflicker,denoise=sigma=10', or a preset's name")
    g.add_argument("--preset", metavar="NAME", help="a named chain (default: 'default')")
    c.add_argument("--device", help="auto (default: cuda if it passes a self-check), cpu, cuda, cuda:N")
    c.add_argument("--crf", type=int, help="encoder quality (H.264/H.265 default 16; lower is better)")
    c.add_argument("--codec", help="encoder: libx264, libx265, libvpx-vp9, libsvtav1, ffv1, prores_ks")
    c.add_argument("--lossless", action="store_true", help="FFV1 in RGB at the source bit depth")
    c.add_argument("--format", dest="stdout_format", choices=("matroska", "nut"),
                   help="container for '-o -' (default matroska)")
    c.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    c.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar, no summary (warnings and errors still shown)")
    c.add_argument("-ss", "--start", type=_start_seconds, metavar="TIME",
                   help="start at TIME (seconds, or [HH:]MM:SS[.ms]); output times start at 0")
    r = c.add_mutually_exclusive_group()
    r.add_argument("--end", type=_seconds, metavar="TIME", help="stop before TIME of the input")
    r.add_argument("-t", dest="duration", type=_seconds, metavar="DURATION",
                   help="process DURATION from the start (seconds or [HH:]MM:SS[.ms])")
    c.add_argument("--frames", type=_positive_int, metavar="N", help="process at most N input frames")
    c.add_argument("--threads", type=_positive_int, metavar="N",
                   help="cap the threads of torch, OpenCV, numba, the decoder and the encoder "
                        "(a cap above the cores is the cores)")
    c.add_argument("-v", "--log-level", choices=LOG_LEVELS, default="info",
                   help="quiet, error, warning, info (default: adds the summary line) or debug")
    batch_cli.add_arguments(c)

    fl = _command(sub, "filters", "list every filter with its options, types, ranges, defaults")
    fl.add_argument("names", nargs="*", metavar="FILTER",
                    help="list only these filters, or a preset's (framemend filters "
                         "interpolate, framemend filters smooth)")
    pr = _command(sub, "probe", "what framemend sees in a video, and every stream it holds")
    pr.add_argument("input", help="video file, or '-' for stdin")
    pr.add_argument("--json", action="store_true", help="machine-readable output")

    command = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for name, module, text in (("generate", "cli_generate", "make a glitchy clip with its ground truth"),
                               ("score", "cli_score", "temporal-consistency scores of a video")):
        mod = _optional_module(module)
        if mod is not None:
            sp = _command(sub, name, text)
            if argv is None or command == name:
                mod.add_arguments(sp)
            sp.set_defaults(handler=mod.main)
    from .cli_generate import MODELS

    d = _command(sub, "demo", "generate a glitchy clip, clean it, print before/after scores")
    d.add_argument("-o", "--output", default="demo-output", help="folder for the demo's videos")
    d.add_argument("--preset", default=None, help="chain preset to clean with (default: default)")
    d.add_argument("--model", choices=MODELS,
                   help="make the glitchy clip with this tiny built-in generative model")
    d.add_argument("-y", "--overwrite", action="store_true",
                   help="replace the demo's videos if the folder holds them already")
    _command(sub, "warmup", "compile every filter's CPU kernels into numba's cache now (once "
             "per installation, about a minute), so no first run waits for them")
    return p


def _command(sub, name: str, text: str) -> argparse.ArgumentParser:
    """The sub-command ``name``: ``text`` in the list of commands and at the top of its own
    ``--help``."""
    return sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")


def _presets() -> dict:
    from .presets import PRESETS

    return PRESETS


def _optional_module(name: str):
    import importlib

    try:
        return importlib.import_module(f"framemend.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"framemend.{name}":
            raise
        return None


def _chain_from(args) -> str:
    from .presets import DEFAULT_PRESET, PRESETS

    if args.filters is not None:  # a preset's name too, as the API's chain= takes it
        return PRESETS.get(args.filters, args.filters)
    name = DEFAULT_PRESET if args.preset is None else args.preset
    if name not in PRESETS:
        raise UsageError(f"unknown preset '{name}' (presets: {', '.join(PRESETS)})")
    return PRESETS[name]


def _warn(message: str) -> None:
    if _shows("warning"):
        print(f"framemend: warning: {message}", file=sys.stderr)


def _set_log_level(args) -> None:
    """``-v LEVEL`` (``-q`` caps it at warning); debug also passes FFmpeg's messages on."""
    global _log_level
    level = getattr(args, "log_level", None) or "info"
    if getattr(args, "quiet", False) and LOG_LEVELS.index(level) > LOG_LEVELS.index("warning"):
        level = "warning"
    _log_level = LOG_LEVELS.index(level)
    if level == "debug":
        import logging

        import av.logging

        logging.basicConfig(level=logging.DEBUG, format="framemend: debug: %(name)s: %(message)s")
        logging.getLogger("libav").setLevel(logging.DEBUG)
        av.logging.set_level(av.logging.VERBOSE)


def _range_of(args) -> dict:
    """The reader's range from --start/--end/-t/--frames, checked."""
    start = args.start or 0.0
    end = args.end
    if args.duration is not None:
        if args.duration <= 0:
            raise UsageError("-t: the duration must be above 0")
        end = start + args.duration
    if end is not None and end <= start:
        raise UsageError(f"--end {end:g} s is not after --start {start:g} s")
    return {"start": start, "end": end, "max_frames": args.frames}


def _check_pipes(src: str, dst: str | None) -> None:
    """``-`` in or out where that end is a terminal: the video was sent to the screen as
    bytes, or the run waited for the keyboard to type one."""
    if dst == "-" and sys.stdout.isatty():
        raise UsageError("-o -: the output is a terminal, not a pipe or a file: send it on "
                         "(... -o - > out.mkv, or | ffplay -) or name a file")
    if src == "-" and sys.stdin.isatty():
        raise UsageError("input '-': stdin is a terminal, not a pipe: send a video in "
                         "(cat in.mkv | framemend ... - ...) or name the file")


def cmd_clean(args) -> int:
    from .chain.parser import check_chain

    chain = _chain_from(args)
    check_chain(chain)  # validate before touching any file (and before importing torch)
    from .pipeline import check_device
    from .video.containers import choose_codec

    check_device(args.device)
    _range_of(args)
    if args.threads:
        from .pipeline import limit_threads

        limit_threads(args.threads)
    if args.stdout_format and args.output != "-":  # a file's extension chose without a word
        raise UsageError(f"--format applies to '-o -' only: a file's container is the one "
                         f"its extension names ('{args.output}')")
    args.stdout_format = args.stdout_format or "matroska"
    if args.input != "-" and os.path.isdir(args.input):
        ranged = [flag for flag, value in (("-ss", args.start), ("--end", args.end),
                                           ("-t", args.duration), ("--frames", args.frames))
                  if value is not None]
        if ranged:  # the batch cleaned every file whole without a word
            raise UsageError(f"{ranged[0]} applies to one file: a folder batch cleans each "
                             f"file whole; clean a file alone for part of it")
        return batch_cli.main(args, chain)
    if batch_cli.file_only(args):
        raise UsageError(f"{batch_cli.file_only(args)} applies to folders; '{args.input}' is not one")
    if args.output != "-" and os.path.isdir(args.output):
        raise _folder_output(args)
    _check_pipes(args.input, args.output)
    if args.input != "-" and not os.path.exists(args.input):
        from .video.reader import check_input  # a mistyped folder was said to be an output

        check_input(args.input)  # without an extension: "cannot write 'out/': unknown ..."
    # a folder's name that is not there: "cannot write 'out/': unknown extension '(none)'"
    if args.output.endswith(("/", os.sep)):
        raise _folder_output(args)
    choose_codec(args.output, args.codec, args.lossless, args.crf, stdout_format=args.stdout_format)
    return _clean_one(args, args.input, args.output, chain)


def _folder_output(args) -> UsageError:
    """The error for a folder given as one file's output: a file name in it as the example."""
    name = "out.mkv" if args.input == "-" else os.path.basename(args.input)
    return UsageError(f"output '{args.output}' is a folder; give a file name "
                      f"(e.g. {os.path.join(args.output, name)})")


def _clean_one(args, src: str, dst: str, chain: str) -> int:
    import time

    from .pipeline import clean_file

    started = time.perf_counter()
    result = clean_file(src, dst, chain, device=args.device, codec=args.codec, crf=args.crf,
                        lossless=args.lossless, overwrite=args.overwrite,
                        progress=_shows("info"), stdout_format=args.stdout_format, warn=_warn,
                        threads=args.threads, **_range_of(args))
    if result.warning:
        n = result.stats.frames_out
        _warn(f"{result.warning}; wrote the {n} frame{'s' * (n != 1)} before it to '{dst}'")
        return 1
    if _shows("info"):
        print(_summary(src, dst, result.stats, time.perf_counter() - started), file=sys.stderr)
    return 0


def _summary(src: str, dst: str, stats, seconds: float) -> str:
    """One line: frames in and out, wall time, output frames per second, output size."""
    size = ""
    if dst != "-" and os.path.exists(dst):
        n = os.path.getsize(dst)
        size = ", " + next(f"{n / k:.1f} {u}" for k, u in ((1 << 30, "GiB"), (1 << 20, "MiB"),
                                                          (1 << 10, "KiB"), (1, "B")) if n >= k or k == 1)
    fps = stats.frames_out / seconds if seconds > 0 else 0.0
    return (f"framemend: {src} -> {dst}: {stats.frames_in} frame{'s' * (stats.frames_in != 1)} "
            f"in, {stats.frames_out} out, "
            f"{seconds:.2f} s, {fps:.1f} fps{size}")


def cmd_filters(args) -> int:
    """Each filter's line, then per option a row (name, type, allowed values, default) and its
    help wrapped beneath, so the table stays in 80 columns however long the help or choices;
    then an example chain and the syntax, in 80 columns too."""
    import textwrap

    from .chain.options import option_specs
    from .chain.parser import check_chain
    from .chain.registry import filter_options, filter_summaries, get_options
    from .presets import PRESETS

    names = set()
    for name in args.names:  # a preset's filters; an unknown name: the nearest filter
        if name in PRESETS and name != "identity":
            print(f"preset {name} = \"{PRESETS[name]}\"")
            names.update(step for step, _ in check_chain(PRESETS[name]))
        else:
            get_options(name)
            names.add(name)
    summaries = filter_summaries()
    tables = {name: [_option_row(s) for s in option_specs(options)]
              for name, options in filter_options().items() if name in names or not names}
    width = min(max((len(row[2]) for rows in tables.values() for row in rows), default=0), 26)
    for name, rows in tables.items():
        print(textwrap.fill(f"{name}  {summaries[name]}", 80, subsequent_indent=" " * (len(name) + 2),
                            break_on_hyphens=False))
        for option, kind, allowed, default, help_text in rows:
            print(f"    {option:<14} {kind:<5} {allowed:<{width}} default {default}")
            if help_text:
                print(textwrap.fill(help_text, 80, initial_indent=" " * 8, subsequent_indent=" " * 8,
                                    break_on_hyphens=False))
        if not rows:
            print("    (no options)")
    print(f"use: framemend clean IN -o OUT -f CHAIN, e.g.\n  -f \"{FILTERS_EXAMPLE}\"")
    print(textwrap.fill(CHAIN_SYNTAX, 80, subsequent_indent="  ", break_on_hyphens=False))
    return 0


def _option_row(spec: dict) -> tuple[str, str, str, str, str]:
    """``(name, type, allowed values, default, help)`` of one option for ``framemend filters``."""
    if spec["choices"]:
        allowed = "|".join(map(str, spec["choices"]))
    elif spec["min"] is not None or spec["max"] is not None:
        allowed = f"[{'' if spec['min'] is None else spec['min']}, {'' if spec['max'] is None else spec['max']}]"
    else:
        allowed = ""
    default = "auto" if spec["default"] is None else str(spec["default"])
    return spec["name"], spec["type"], allowed, default, spec["help"]


def cmd_probe(args) -> int:
    from .video.arrays import probe_video
    from .video.errors import NoVideoStream

    _check_pipes(args.input, None)
    try:
        info = probe_video(args.input)
    except NoVideoStream as e:
        return _probe_without_video(args, e)
    d = info.describe()
    if args.json:
        print(json.dumps(d, default=str, indent=1))
        return 0
    audio = info.audio
    sar = info.sample_aspect_ratio  # the pixel shape the writer keeps or says it cannot
    lines = [f"file        {info.path}",
             f"size        {info.width}x{info.height}"
             + (f" (pixels {sar.numerator}:{sar.denominator}, shown "
                f"{round(info.width * sar)}x{info.height})" if sar else ""),
             f"fps         {float(info.fps):.3f} ({info.fps})",
             f"frames      {info.frames or 'unknown'}",
             f"duration    {info.duration:.3f} s" if info.duration else "duration    unknown",
             *([f"start       {info.start_time:.3f} s"] if abs(info.start_time) >= 0.0005 else []),
             f"codec       {info.codec} ({info.pix_fmt}, {info.bit_depth}-bit)",
             f"time base   {info.time_base}",
             f"rotation    {info.rotation}",
             "audio       " + (f"{audio['codec']}, {audio['sample_rate']} Hz, {audio['channels']} ch"
                               if audio else "none")]
    print("\n".join(lines + _stream_lines(info.streams)))
    return 0


def _stream_lines(streams: list[dict]) -> list[str]:
    from .video.probe import describe_stream

    return ["streams"] + [f"  {describe_stream(s)}" for s in streams]


def _probe_without_video(args, error) -> int:
    """``probe`` of a file with streams but no video (a :class:`NoVideoStream`: an audio file,
    say): list what is there, then the reason framemend cannot clean it (exit 1)."""
    if args.json:
        print(json.dumps({"file": args.input, "video": None, "streams": error.streams},
                         default=str, indent=1))
    else:
        print("\n".join([f"file        {args.input}", "video       none"]
                         + _stream_lines(error.streams)))
    _error(error)
    return 1


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .presets import PRESETS

    if args.preset is not None and args.preset not in PRESETS:  # before minutes of work
        raise UsageError(f"unknown preset '{args.preset}' (presets: {', '.join(PRESETS)})")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"-o {args.output}: the demo writes its videos into a folder; "
                         "this is a file")
    return run_demo(args.output, args.preset, model=args.model, overwrite=args.overwrite)


def cmd_warmup(args) -> int:
    import time

    from .api import warmup

    start = time.perf_counter()
    chains = warmup(progress=True)
    print(f"warmed up {len(chains)} chains in {time.perf_counter() - start:.0f} s: their CPU "
          "kernels, for 8-bit, 16-bit and float pixels, are in numba's cache")
    return 0


def _error(e: Exception) -> None:
    if _shows("error"):
        print(f"framemend: error: {e}", file=sys.stderr)


HANDLERS = {"clean": cmd_clean, "filters": cmd_filters, "probe": cmd_probe, "demo": cmd_demo,
            "warmup": cmd_warmup}


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (``timeout``, ``docker stop``, a job scheduler): stop as for Ctrl-C."""


def _one_blas_thread() -> None:
    """Keep OpenBLAS (numpy's, and scipy's if numba's linear algebra loads it) to the calling
    thread, unless the user chose otherwise: its worker threads spin between calls, and the few
    small products of the CPU passes (3x3 colour rotations, thumbnails) gain nothing from them.
    Default chain on a 720x480 clip: 3.8 % of the process's CPU samples were OpenBLAS threads
    spinning (``perf record``), none with one thread; the same output. Read when numpy is
    imported, which ``framemend.cli`` does not do."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _opencv_pool_sleeps() -> None:
    """Let OpenCV's pool threads, and the thread that waits on them, sleep as soon as a job is
    done instead of spinning first (OpenCV's ``OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER`` and
    ``_MAIN``: up to 2000 and 10000 rounds of ``pause``/``sched_yield``), unless the user chose
    otherwise. The passes' many short OpenCV calls left the pool spinning after each: default
    chain on a 720x480 clip, 23,104 ``sched_yield`` calls (``strace -c``) and about 0.1 s of
    the process's 5.8 s of CPU (``perf record``, load 6-7; within the noise at load 3-4), for
    1,000 more futex waits without the spin.
    A stripe's result does not depend on which thread runs it: the output is the same. Read
    when OpenCV is loaded, which ``framemend.cli`` does not do."""
    os.environ.setdefault("OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER", "0")
    os.environ.setdefault("OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN", "0")


def run() -> None:
    """The ``framemend`` program: :func:`main`, then exit without tearing the interpreter down.

    Every file is closed by then; what is skipped is the module teardown, which takes torch
    about 1.1 s (measured on the 2-core machine under load) and would hold up the exit after
    Ctrl-C or SIGTERM past the 1 s a user or a scheduler waits.
    """
    try:
        limit_arenas()
        _one_blas_thread()
        _opencv_pool_sleeps()
        _numba_blas.install()  # numba's set-up without importing scipy.linalg: 0.1 s before frame 1
    except KeyboardInterrupt:  # before main() takes Ctrl-C over: as it would end
        print(INTERRUPTED, file=sys.stderr)
        os._exit(130)
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or 1
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; SIGTERM is handled like Ctrl-C while it runs, and neither is
    lost inside numba's compiler (:mod:`framemend.interrupts`)."""
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, raising(Terminated))}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where ignored
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, raising(KeyboardInterrupt))
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _left_behind(args) -> str:
    """What a stopped run leaves: a file output is removed (the writer's temporary file), but
    what was sent down a pipe (``-o -``) is gone already."""
    if getattr(args, "output", None) == "-":
        return "the output stream sent so far is cut short"
    return "no output was left behind"


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``; ``framemend clean IN OUT`` (the output without ``-o``, as
    many tools take it) is told the way instead of argparse's "required: -o/--output", and
    ``framemend clean *.mp4 -o out/`` (several inputs, from a shell's pattern) instead of
    "unrecognized arguments: b.mp4"."""
    try:
        return parser.parse_args(argv)
    except UsageError as e:
        if argv[:1] == ["clean"] and ("required: -o/--output" in str(e)
                                      or "unrecognized arguments" in str(e)):
            try:
                args, extra = parser.parse_known_args(
                    argv + ["-o", "OUT"] if "required" in str(e) else argv)
            except UsageError:
                raise e from None
            if extra and all(os.path.isfile(word) for word in extra):
                raise UsageError(
                    f"clean takes one input, got {len(extra) + 1} ({args.input}, "
                    f"{', '.join(extra)}): put the videos in a folder and clean the folder "
                    "(framemend clean FOLDER -o OUT_FOLDER, --glob '*.mp4' to take some)"
                ) from None
            if len(extra) == 1 and not extra[0].startswith("-") and "required" in str(e):
                raise UsageError(f"name the output with -o: framemend clean {args.input} "
                                 f"-o {extra[0]}") from None
        raise


def _main(argv: list[str] | None) -> int:
    from .chain.options import OptionError
    from .video.errors import SettingsError, VideoError

    args = None
    try:
        parser = build_parser(sys.argv[1:] if argv is None else argv)
        _set_log_level(None)
        args = _parse(parser, sys.argv[1:] if argv is None else argv)
        if not args.command:
            parser.print_help()
            return 2
        _set_log_level(args)
        handler = getattr(args, "handler", None) or HANDLERS[args.command]
        return handler(args)
    except (UsageError, OptionError, SettingsError) as e:
        _error(e)
        return 2
    except VideoError as e:
        _error(e)
        return 1
    except Terminated:
        print(f"framemend: terminated (SIGTERM); {_left_behind(args)}", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"framemend: interrupted; {_left_behind(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    run()
