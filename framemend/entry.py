"""The ``framemend`` program's entry point (``framemend`` and ``python -m framemend``): Ctrl-C
while the command line's modules load (:mod:`framemend.cli` imports for about 0.3 s, 1.5 s on
a loaded machine) ends as Ctrl-C later in a run does, exit status 130 and one line, not a
KeyboardInterrupt traceback. Only ``sys`` is imported here: the start costs nothing more.
"""
import sys

INTERRUPTED = "framemend: interrupted; no output was left behind"


def run() -> None:
    """Import :mod:`framemend.cli` and run it (:func:`framemend.cli.run`, which exits)."""
    try:
        from .cli import run as run_cli
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    run_cli()
