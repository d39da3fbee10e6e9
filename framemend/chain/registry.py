"""The filter registry: filters are found through the ``framemend.filters`` entry-point group.

Every filter, built-in or installed by another distribution (``pip install my-filter``), is an
entry point ``name = package.module:FilterClass`` in the group ``framemend.filters``; the
built-in ones are declared in framemend's ``setup.cfg``. A filter may also declare its
``Options`` dataclass in the group ``framemend.filter_options`` (``name = module:Options``, a
module importing nothing heavy): then ``framemend filters``, the chain parser and the command
line's usage checks read it without importing the filter (nor torch). A filter without that
entry is imported when its options are first needed.

Classes made at run time (in a notebook, a test) join with :func:`register`.

A source checkout run from its directory or ``PYTHONPATH`` may carry installed metadata that
predates its ``setup.cfg`` (an editable install made before a filter was added): when a
``setup.cfg`` sits beside the imported package, framemend's own entries are read from it.
"""
from __future__ import annotations

import configparser
import difflib
import functools
import importlib
import os
import warnings
from importlib.metadata import entry_points

from .options import OptionError

FILTERS_GROUP = "framemend.filters"
OPTIONS_GROUP = "framemend.filter_options"

_REGISTRY: dict[str, type] = {}  # classes imported or registered so far, by name


def register(cls: type) -> type:
    """Class decorator: make a Filter subclass available to chains under ``cls.name`` (for
    classes made at run time; installed filters are found through their entry points)."""
    _REGISTRY[cls.name] = cls
    return cls


def _load(ref: str):
    """The object named by an entry-point value ``package.module:attribute``."""
    module, _, attr = ref.partition(":")
    return functools.reduce(getattr, attr.split("."), importlib.import_module(module))


def _source_entries() -> dict[str, dict[str, str]] | None:
    """framemend's own entry points read from the ``setup.cfg`` beside the imported package
    (a source checkout), by group; None for an installed package."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "setup.cfg")
    if not os.path.isfile(path):
        return None
    config = configparser.ConfigParser()
    config.read(path)
    if config.get("metadata", "name", fallback="") != "framemend":
        return None
    section = config["options.entry_points"] if config.has_section("options.entry_points") else {}
    out = {}
    for group in (FILTERS_GROUP, OPTIONS_GROUP):
        lines = [line.partition("=") for line in section.get(group, "").splitlines()]
        out[group] = {name.strip(): ref.strip() for name, _, ref in lines if ref.strip()}
    return out


@functools.cache
def _declared() -> dict[str, dict[str, str]]:
    """Every declared filter and Options entry point, ``{group: {name: "module:attr"}}``:
    framemend's own first; an installed filter cannot take a built-in name (it is skipped,
    with a warning)."""
    source = _source_entries()
    out: dict[str, dict[str, str]] = {}
    for group in (FILTERS_GROUP, OPTIONS_GROUP):
        own = dict(source[group]) if source is not None else {}
        others: dict[str, str] = {}
        for ep in entry_points(group=group):
            dist = ep.dist.name if ep.dist is not None else ""
            if dist == "framemend":
                if source is None:
                    own[ep.name] = ep.value
            elif ep.name in own:
                warnings.warn(f"framemend: filter '{ep.name}' from {dist or ep.value} ignored: "
                              "the name is a built-in filter's", stacklevel=2)
            else:
                others[ep.name] = ep.value
        out[group] = {**own, **others}
    return out


def filter_names() -> list[str]:
    """Every filter's name (declared or registered), sorted, importing no filter."""
    return sorted(set(_declared()[FILTERS_GROUP]) | set(_REGISTRY))


def get_filter(name: str) -> type:
    """The filter class called ``name`` (imported on first use); an :class:`OptionError`
    suggests the closest name."""
    if name not in _REGISTRY:
        declared = _declared()[FILTERS_GROUP]
        if name not in declared:
            raise _unknown(name, filter_names())
        cls = _load(declared[name])
        if getattr(cls, "name", None) != name:
            raise OptionError(f"filter '{name}' ({declared[name]}) names itself "
                              f"'{getattr(cls, 'name', None)}'")
        _REGISTRY[name] = cls
    return _REGISTRY[name]


def all_filters() -> dict[str, type]:
    """Every filter class, by name, sorted (imports every filter)."""
    return {name: get_filter(name) for name in filter_names()}


def get_options(name: str) -> type:
    """The ``Options`` dataclass of filter ``name``, from its ``framemend.filter_options`` entry
    point when it has one (the filter is not imported); an :class:`OptionError` suggests the
    closest name."""
    if name in _REGISTRY:
        return _REGISTRY[name].Options
    options = _declared()[OPTIONS_GROUP]
    if name in options and name in _declared()[FILTERS_GROUP]:
        return _load(options[name])
    return get_filter(name).Options


def filter_options() -> dict[str, type]:
    """Every filter's ``Options`` dataclass, by name, sorted. Each Options docstring is its
    filter's one-line summary."""
    return {name: get_options(name) for name in filter_names()}


def filter_summaries() -> dict[str, str]:
    """Every filter's one-line summary, by name, sorted: an imported class's docstring, else
    its Options docstring."""
    out = {}
    for name, options in filter_options().items():
        doc = (_REGISTRY[name] if name in _REGISTRY else options).__doc__ or ""
        out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out


def _unknown(name: str, known) -> OptionError:
    """The message for an unknown filter: the nearest name, matched without case and quotes
    (``DENOISE``; ``'denoise'`` from a shell that passes quote marks on, as Windows cmd does)."""
    bare = name.strip("'\"")
    close = difflib.get_close_matches(bare.lower(), known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    if bare != name:
        hint += " (the quote marks reached framemend: this shell keeps them; use double quotes)"
    return OptionError(f"unknown filter '{name}'{hint} (see `framemend filters`)")
