"""Where numba keeps the compiled kernels (``@numba.njit(cache=True)``) of this package.

numba caches beside the sources (``__pycache__``) or, when the package folder is read-only, in
the user's cache folder (``~/.cache``); when neither can be written (a read-only container image
with a read-only ``$HOME``) every cached kernel fails at import with "no locator available".
:func:`ensure_cache_dir` then points ``NUMBA_CACHE_DIR`` at the first writable folder of
``$XDG_CACHE_HOME/framemend``, ``~/.cache/framemend`` and ``$TMPDIR/framemend-numba-UID``.
It imports nothing heavy and leaves a ``NUMBA_CACHE_DIR`` the user set alone.
"""
from __future__ import annotations

import os
import sys


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def ensure_cache_dir(package_dir: str) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` when numba could not cache kernels of ``package_dir``; return
    the folder set (None when numba's own choice works or the user chose)."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.access(package_dir, os.W_OK):
        return None
    home_cache = os.path.join(os.path.expanduser("~"), ".cache")
    if _writable(os.path.join(home_cache, "numba")):
        return None  # numba's user-wide locator works
    import tempfile  # only on this rare path: it takes a tenth of `framemend --help`'s imports

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    candidates = [os.path.join(os.environ["XDG_CACHE_HOME"], "framemend")] \
        if os.environ.get("XDG_CACHE_HOME") else []
    candidates += [os.path.join(home_cache, "framemend"),
                   os.path.join(tempfile.gettempdir(), f"framemend-numba-{uid}")]
    for folder in candidates:
        if _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = folder
            if "numba" in sys.modules:  # imported before framemend: its config is read already
                sys.modules["numba"].config.CACHE_DIR = folder
            return folder
    return None
