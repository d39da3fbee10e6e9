"""The filter registry: every filter class registers itself by name with :func:`register`.

Filter packages are imported on first use, so ``framemend --help`` stays fast.
"""
from __future__ import annotations

import difflib
import importlib

from .options import OptionError

FILTER_MODULES = (
    "framemend.chain.builtin",
    "framemend.deflicker",
    "framemend.denoise",
    "framemend.interpolate",
    "framemend.stabilize",
)

_REGISTRY: dict[str, type] = {}
_loaded = False


def register(cls: type) -> type:
    """Class decorator: make a Filter subclass available to chains under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in FILTER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:  # a real missing dependency inside an existing filter
                raise
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
