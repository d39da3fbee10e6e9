"""The filter registry: every filter class registers itself by name with :func:`register`.

Filter packages are imported on first use, so ``framemend --help`` stays fast.
"""
from __future__ import annotations

import difflib
import importlib
import types

from .options import OptionError

FILTER_MODULES = (
    "framemend.chain.builtin",
    "framemend.deflicker",
    "framemend.denoise",
    "framemend.interpolate",
    "framemend.stabilize",
    "framemend.deboil",
)

_REGISTRY: dict[str, type] = {}
_loaded = False


def register(cls: type) -> type:
    """Class decorator: make a Filter subclass available to chains under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


class _CallableFilterPackage(types.ModuleType):
    """A filter package named like its filter can be called as that filter, so that
    ``framemend.denoise(frames, sigma=10)`` works although ``framemend.denoise`` is a package."""

    def __call__(self, video, **options):
        from ..api import apply

        return apply(self.__name__.rsplit(".", 1)[1], video, **options)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in FILTER_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:  # a real missing dependency inside an existing filter
                raise
            continue
        if module.rsplit(".", 1)[1] in _REGISTRY:
            mod.__class__ = _CallableFilterPackage
    _loaded = True


def all_filters() -> dict[str, type]:
    """Every registered filter, by name, sorted."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def get_filter(name: str) -> type:
    """The filter class called ``name``; an :class:`OptionError` suggests the closest name."""
    filters = all_filters()
    if name not in filters:
        close = difflib.get_close_matches(name, filters, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise OptionError(f"unknown filter '{name}'{hint} (see `framemend filters`)")
    return filters[name]
