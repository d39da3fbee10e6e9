"""The plain-function face of every filter: :func:`apply_filter` runs one filter over frames in
memory, and :func:`make_callable` makes a filter's package callable as its function, so that
``framemend.denoise(x)`` and ``framemend.denoise.denoise(x)`` are one and the same."""
from __future__ import annotations

import functools
import sys
import types
from typing import Any


def apply_filter(name: str, video: Any, input_fps: float = 24.0, /, cuts: list[int] | None = None,
                 device: str | None = None, **options) -> Any:
    """Apply filter ``name`` with ``options`` to ``video``: :func:`framemend.api.apply`.

    Args:
        video: a numpy array ``(T, H, W, 3)``, a torch tensor ``(T, C, H, W)`` or a list of PIL
            images; the result is of the same kind (a tensor on the same device).
        input_fps: frame rate of ``video`` (its times are ``t / input_fps``); not ``fps``,
            which is an option of rate-changing filters. Positional, so that a filter function
            passing its ``fps`` here also takes ``input_fps=`` among its ``options`` (the name
            :func:`framemend.clean` and the README use), which then wins.
        cuts: indices of frames that start a new shot; None: detected.
        device: where to compute (default: a tensor's device, else CUDA when available).
    """
    from ..api import apply

    return apply(name, video, input_fps=options.pop("input_fps", input_fps), device=device,
                 cuts=cuts, **options)


def make_callable(module_name: str, function: str) -> None:
    """Make the (already imported) module ``module_name`` callable as its attribute
    ``function`` (a dotted path, looked up at each call, so patching it takes effect), by
    setting the module's ``__class__``: the documented way to customise a module (Python
    reference, "Customizing module attribute access"); called by each filter package on
    itself."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return functools.reduce(getattr, function.split("."), self)(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
