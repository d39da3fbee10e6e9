"""``python -m framemend``: the command line (see :mod:`framemend.cli`)."""
from .cli import run

run()
