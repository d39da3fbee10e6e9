"""``python -m framemend``: the command line (see :mod:`framemend.cli`)."""
from .entry import run

run()
