"""numba's start-up without its BLAS probe, for the ``framemend`` program (issue 18).

When numba sets up its CPU target (at the first kernel call, cached or not) it imports
``numba.np.arraymath``, which probes once for a BLAS by importing ``scipy.linalg.cython_blas``
(``arraymath._check_blas``, numba 0.68). That import loads all of ``scipy.linalg``: 0.10 s of CPU
on the 2-core machine, 0.25-0.30 s being numba's whole set-up, on the one core that works
before the first frame is filtered. The probe's answer, ``arraymath._HAVE_BLAS``, decides one
thing only: whether ``np.correlate`` and ``np.convolve`` *inside numba-compiled code* take the
inner product from BLAS or from numba's own loop. No framemend kernel calls either, and numba's
linear algebra (``np.dot``, ``@``, ``np.linalg`` in compiled code) does not read the flag: it
imports ``scipy.linalg.cython_blas`` itself when such a kernel is compiled.

:func:`install` makes the probe find no BLAS: while (and only while) ``numba.np.arraymath``
executes, ``sys.modules`` holds None for ``scipy.linalg.cython_blas``, which Python's import
system documents as "the import raises ModuleNotFoundError"; the probe catches it. The kernels
compile and run as before, to the same values. Only the command line installs it (it owns the
process); a program that imports framemend keeps numba's behaviour. With another numba that no
longer probes there, or probes elsewhere, nothing changes but the time.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

PROBED = "scipy.linalg.cython_blas"
MODULE = "numba.np.arraymath"


class _Hidden(importlib.abc.Loader):
    """``loader`` of :data:`MODULE`, run with :data:`PROBED` unimportable."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        if PROBED in sys.modules:  # loaded already: nothing to save
            self._loader.exec_module(module)
            return
        sys.modules[PROBED] = None
        try:
            self._loader.exec_module(module)
        finally:
            if sys.modules.get(PROBED, 0) is None:
                del sys.modules[PROBED]


class _Finder(importlib.abc.MetaPathFinder):
    """Finds :data:`MODULE` as the other finders do, with the loader wrapped in :class:`_Hidden`;
    leaves ``sys.meta_path`` once it has."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Hidden(spec.loader)
        return spec


def install() -> None:
    """Have numba's BLAS probe skipped when numba next sets up its CPU target (no effect once
    it has, or when ``scipy.linalg`` is loaded already)."""
    if MODULE not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
