"""Camera-path stabilization (filter ``stabilize``, :mod:`.stabilize`) and identity re-alignment
to keyframes (filter ``realign``, :mod:`.realign`).

``framemend.stabilize(frames, mode="smooth")`` — the package is callable as
:func:`.stabilize.stabilize` — or the chain filter ``stabilize=mode=lock``;
``framemend.realign(frames, keyframes=(0,))`` or the chain filter ``realign``. The submodules
keep their names (``framemend.stabilize.stabilize`` is the module, so patching by module path
works).
"""
from framemend.chain.apply import make_callable

from . import realign, stabilize
from .realign import Realign
from .stabilize import Stabilize

__all__ = ["Stabilize", "Realign", "stabilize", "realign"]

make_callable(__name__, "stabilize.stabilize")  # framemend.stabilize(x)
