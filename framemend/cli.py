"""The ``framemend`` command line: clean, filters, probe, generate, score, demo.

Exit codes: 0 done, 1 failed (unreadable input, damaged file, encoder error), 2 bad usage.
Errors are one line on stderr, prefixed ``framemend: error:``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .batch import cli as batch_cli

EPILOG = """examples:
  framemend clean in.mp4 -o out.mp4                       default chain (--preset default)
  framemend clean in.mp4 -o out.mp4 -f "deflicker=mode=local,interpolate=fps=30"
  framemend clean clips/ -o cleaned/ --preset smooth      every video in a folder
  framemend clean clips/ -o cleaned/ --recursive --report r.csv   a tree, resumable, all cores
  cat in.mp4 | framemend clean - -o - -f denoise > out.mkv
  framemend filters                                       every filter and its options
  framemend generate -o glitchy.mp4 --truth clean.mkv --artifacts flicker,noise=20
  framemend score out.mp4 --ref clean.mkv
"""


class UsageError(Exception):
    """Bad usage: exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
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
                       epilog="chain syntax (ffmpeg's): name=opt=value:opt=value,name2=...; "
                       "a filter's first option may be positional (interpolate=2).\n"
                       "presets: " + ", ".join(f"{k} = \"{v}\"" for k, v in _presets().items()))
    c.add_argument("input", help="video file, '-' for stdin, or a folder of videos")
    c.add_argument("-o", "--output", required=True,
                   help="output file (container from its extension), '-' for stdout, or a folder")
    g = c.add_mutually_exclusive_group()
    g.add_argument("-f", "--filters", metavar="CHAIN", help="filter chain, e.g. 'deflicker,denoise=sigma=10'")
    g.add_argument("--preset", metavar="NAME", help="a named chain (default: 'default')")
    c.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    c.add_argument("--crf", type=int, help="encoder quality (H.264/H.265 default 16; lower is better)")
    c.add_argument("--codec", help="encoder: libx264, libx265, libvpx-vp9, libsvtav1, ffv1, prores_ks")
    c.add_argument("--lossless", action="store_true", help="FFV1 in RGB at the source bit depth")
    c.add_argument("--format", dest="stdout_format", default="matroska", choices=("matroska", "nut"),
                   help="container for '-o -' (default matroska)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing output")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    batch_cli.add_arguments(c)

    sub.add_parser("filters", help="list every filter with its options, types, ranges, defaults")
    pr = sub.add_parser("probe", help="what framemend sees in a video")
    pr.add_argument("input")
    pr.add_argument("--json", action="store_true", help="machine-readable output")

    for name, module, text in (("generate", "cli_generate", "make a glitchy clip with its ground truth"),
                               ("score", "cli_score", "temporal-consistency scores of a video")):
        mod = _optional_module(module)
        if mod is not None:
            sp = sub.add_parser(name, help=text)
            mod.add_arguments(sp)
            sp.set_defaults(handler=mod.main)
    d = sub.add_parser("demo", help="generate a glitchy clip, clean it, print before/after scores")
    d.add_argument("-o", "--output", default="demo-output", help="folder for the demo's videos")
    d.add_argument("--preset", default=None, help="chain preset to clean with (default: default)")
    return p


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

    if args.filters:
        return args.filters
    name = args.preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise UsageError(f"unknown preset '{name}' (presets: {', '.join(PRESETS)})")
    return PRESETS[name]


def _warn(message: str) -> None:
    print(f"framemend: warning: {message}", file=sys.stderr)


def cmd_clean(args) -> int:
    from .chain.parser import build_chain

    chain = _chain_from(args)
    build_chain(chain)  # validate before touching any file
    if args.input != "-" and os.path.isdir(args.input):
        return batch_cli.main(args, chain)
    if batch_cli.file_only(args):
        raise UsageError(f"{batch_cli.file_only(args)} applies to folders; '{args.input}' is not one")
    if args.output != "-" and os.path.isdir(args.output):
        raise UsageError(f"output '{args.output}' is a folder; give a file name")
    return _clean_one(args, args.input, args.output, chain)


def _clean_one(args, src: str, dst: str, chain: str) -> int:
    from .pipeline import clean_file

    result = clean_file(src, dst, chain, device=args.device, codec=args.codec, crf=args.crf,
                        lossless=args.lossless, overwrite=args.overwrite,
                        progress=not args.quiet, stdout_format=args.stdout_format, warn=_warn)
    if result.warning:
        _warn(f"{result.warning}; wrote the {result.stats.frames_out} frames before it to '{dst}'")
        return 1
    if not args.quiet and dst != "-":
        print(f"{src} -> {dst}: {result.stats.frames_in} frames in, {result.stats.frames_out} out",
              file=sys.stderr)
    return 0


def cmd_filters(args) -> int:
    from .chain.options import option_specs
    from .chain.registry import all_filters

    for name, cls in all_filters().items():
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name}  {summary}")
        specs = option_specs(cls.Options)
        for s in specs:
            if s["choices"]:
                allowed = "|".join(map(str, s["choices"]))
            elif s["min"] is not None or s["max"] is not None:
                allowed = f"[{'' if s['min'] is None else s['min']}, {'' if s['max'] is None else s['max']}]"
            else:
                allowed = ""
            default = "auto" if s["default"] is None else s["default"]
            print(f"    {s['name']:<14} {s['type']:<8} {allowed:<18} default {default!s:<8} {s['help']}")
        if not specs:
            print("    (no options)")
    return 0


def cmd_probe(args) -> int:
    from .video import VideoReader

    reader = VideoReader(args.input)
    info = reader.info
    if info.frames is None or args.input == "-":
        info.frames = sum(1 for _ in reader.arrays())  # count when the container does not say
    else:
        reader.container.close()
    d = info.describe()
    if args.json:
        print(json.dumps(d, default=str, indent=1))
        return 0
    audio = info.audio
    lines = [f"file        {info.path}",
             f"size        {info.width}x{info.height}",
             f"fps         {float(info.fps):.3f} ({info.fps})",
             f"frames      {info.frames}",
             f"duration    {info.duration:.3f} s" if info.duration else "duration    unknown",
             f"codec       {info.codec} ({info.pix_fmt}, {info.bit_depth}-bit)",
             f"time base   {info.time_base}",
             f"rotation    {info.rotation}",
             "audio       " + (f"{audio['codec']}, {audio['sample_rate']} Hz, {audio['channels']} ch"
                               if audio else "none")]
    print("\n".join(lines))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.output, args.preset)


HANDLERS = {"clean": cmd_clean, "filters": cmd_filters, "probe": cmd_probe, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    from .chain.options import OptionError
    from .video import VideoError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        handler = getattr(args, "handler", None) or HANDLERS[args.command]
        return handler(args)
    except UsageError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    except OptionError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 2
    except VideoError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("framemend: interrupted; no output was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
