"""The filter registry: every filter class registers itself by name with :func:`register`.

Filter packages are imported on first use, so ``framemend --help`` stays fast. The built-in
filters' options are known without importing the filters (:data:`BUILTIN_OPTIONS`, modules of
:mod:`framemend.options`), so listing filters and checking a chain import no torch.
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
    "framemend.realign",
    "framemend.stabilize",
    "framemend.deboil",
)

# name: "module:class" of its Options (each module imports nothing heavy)
BUILTIN_OPTIONS = {
    "identity": "framemend.options.identity:IdentityOptions",
    "deflicker": "framemend.options.deflicker:DeflickerOptions",
    "denoise": "framemend.options.denoise:DenoiseOptions",
    "interpolate": "framemend.options.interpolate:InterpolateOptions",
    "realign": "framemend.options.realign:RealignOptions",
    "stabilize": "framemend.options.stabilize:StabilizeOptions",
    "deboil": "framemend.options.deboil:DeboilOptions",
}

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
        raise _unknown(name, filters)
    return filters[name]


def filter_options() -> dict[str, type]:
    """Every filter's ``Options`` dataclass, by name, sorted, without importing the built-in
    filters (a filter registered by other code is included once it is imported). Each Options
    docstring is its filter's one-line summary."""
    out = {name: c.Options for name, c in _REGISTRY.items()}
    for name, where in BUILTIN_OPTIONS.items():
        module, _, cls = where.partition(":")
        out[name] = getattr(importlib.import_module(module), cls)
    return dict(sorted(out.items()))


def filter_summaries() -> dict[str, str]:
    """Every filter's one-line summary, by name, sorted: a registered class's docstring, else (a
    built-in filter not imported) its Options docstring."""
    out = {}
    for name, options in filter_options().items():
        doc = (_REGISTRY[name] if name in _REGISTRY else options).__doc__ or ""
        out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out


def get_options(name: str) -> type:
    """The ``Options`` dataclass of filter ``name`` (built-in ones without importing the filter);
    an :class:`OptionError` suggests the closest name."""
    options = filter_options()
    if name not in options:
        raise _unknown(name, options)
    return options[name]


def _unknown(name: str, known) -> OptionError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return OptionError(f"unknown filter '{name}'{hint} (see `framemend filters`)")
