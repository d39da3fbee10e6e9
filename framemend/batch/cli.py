"""``framemend clean IN_DIR -o OUT_DIR``: the folder options and the command, over
:func:`~framemend.batch.run.clean_folder`."""
from __future__ import annotations

import argparse
import sys

FOLDER_OPTIONS = ("jobs", "glob", "recursive", "dry_run", "report", "score", "scheduler")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``framemend clean`` that apply when its input is a folder."""
    g = parser.add_argument_group("folders", "when INPUT is a folder: one output per video, the "
                                  "tree mirrored;\na re-run skips what is done and up to date "
                                  "(OUT_DIR/.framemend-batch.json);\n'-v debug' adds a line per finished file")
    g.add_argument("--jobs", type=int, metavar="N",
                   help="worker processes (default: one per core, or one per GPU)")
    g.add_argument("--glob", metavar="PATTERN",
                   help="files to take, e.g. '*.mp4' (default: every video extension)")
    g.add_argument("--recursive", action="store_true", help="walk subfolders too")
    g.add_argument("--dry-run", action="store_true", help="list what would run; write nothing")
    g.add_argument("--report", metavar="FILE",
                   help="per-file report, FILE.json or FILE.csv (a re-run replaces it; a file "
                        "no run of this batch wrote, only with -y)")
    g.add_argument("--score", action="store_true",
                   help="add temporal-consistency scores of each input and output to the report")
    g.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local worker processes, or a Dask cluster (needs --scheduler and "
                        "framemend[batch]; workers need framemend and the same paths)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, tcp://HOST:8786")
    g.add_argument("--timeout", type=float, metavar="SECONDS", default=None,
                   help="seconds per megapixel of each frame a file may take (default 10, "
                        "plus 60 s per file, 180 s more for a worker's first of each depth, "
                        "8 bits or more) before its worker is killed")


def file_only(args) -> str | None:
    """The folder option given for a single-file input, if any (a usage error)."""
    for name in FOLDER_OPTIONS + ("timeout",):
        given = getattr(args, name, None)
        if given is not None and given is not False:  # --jobs 0 too (0 == False)
            return "--" + name.replace("_", "-")
    return "--executor" if args.executor != "local" else None


def main(args, chain: str) -> int:
    """Run the batch for parsed ``args``; exit code 0 done, 1 a file failed, 2 bad usage."""
    from . import BatchError, BatchUsageError, clean_folder
    from .run import TIMEOUT_PER_MPX_FRAME
    from ..cli import UsageError, _warn

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: needs at least 1")
    try:
        summary = clean_folder(
            args.input, args.output, chain, jobs=args.jobs, glob=args.glob,
            recursive=args.recursive, dry_run=args.dry_run, report=args.report, score=args.score,
            executor=args.executor, scheduler=args.scheduler, device=args.device,
            codec=args.codec, crf=args.crf, lossless=args.lossless, overwrite=args.overwrite,
            timeout=TIMEOUT_PER_MPX_FRAME if args.timeout is None else args.timeout,
            threads=args.threads,
            progress=not args.quiet and sys.stderr.isatty(),
            verbose=args.log_level == "debug")
    except BatchUsageError as e:
        raise UsageError(str(e)) from None
    except BatchError as e:
        print(f"framemend: error: {e}", file=sys.stderr)
        return 1
    for note in summary.notes:
        _warn(note)
    for f in summary.files:  # what a single file's run would say (audio re-encoded...)
        if f.status != "done before":  # those of a file done before were said by its run
            for warning in f.warnings:
                _warn(f"{f.input}: {warning}")
    if args.dry_run:
        for f in summary.files:
            if f.status != "done before":
                print(f"{'redo' if f.status == 'redone' else f.status:<7} {f.input}"
                      + (f"  ({f.note})" if f.note else ""))
    else:  # the files not cleaned, and why
        for status in ("skipped", "failed"):
            files = [f for f in summary.files if f.status == status]
            if files:
                print(f"framemend: {len(files)} of {len(summary.files)} {status}:", file=sys.stderr)
            for f in files:
                print(f"  {f.input}: {f.note}", file=sys.stderr)
    if not args.quiet or args.dry_run or summary.interrupted:  # a stop is said, as for a file
        print(f"framemend: {summary}", file=sys.stderr)
    return summary.exit_code
