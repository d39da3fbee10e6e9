"""Camera-path stabilization (filter ``stabilize``).

``framemend.stabilize(frames, mode="smooth")`` — the package is callable as
:func:`.stabilize.stabilize` — or the chain filter ``stabilize=mode=lock``; see
:mod:`.stabilize`. The submodules keep their names (``framemend.stabilize.stabilize`` is the
module, so patching by module path works).
"""
from framemend.chain.apply import make_callable

from . import stabilize
from .stabilize import Stabilize

__all__ = ["Stabilize", "stabilize"]

make_callable(__name__, "stabilize.stabilize")  # framemend.stabilize(x)
