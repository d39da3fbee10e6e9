"""Typed filter options: dataclass fields carry their range, choices and help.

A filter declares its options as a dataclass whose fields are made with :func:`option`. The same
declaration validates parsed chain strings, Python keyword arguments and ``framemend filters``.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from fractions import Fraction
from typing import Any


class OptionError(ValueError):
    """A bad filter name, option name or value; the message is one line for the user."""


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None,
           choices: tuple | None = None, only_with: dict | None = None) -> Any:
    """A dataclass field with a default, a one-line help, and an allowed range or set of values;
    ``only_with`` ``{other: value}``: the option is read only where option ``other`` has that
    value (None: where it is not given), and :func:`make_options` refuses it elsewhere, its
    default value too (only None, "auto", passes)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "min": min, "max": max, "choices": choices, "only_with": only_with})


def option_specs(options_cls: type) -> list[dict]:
    """Name, type name, default, range/choices and help for each option, in declaration order."""
    hints = typing.get_type_hints(options_cls)
    specs = []
    for f in dataclasses.fields(options_cls):
        specs.append({"name": f.name, "type": _type_name(hints[f.name]), "default": f.default,
                      "min": f.metadata.get("min"), "max": f.metadata.get("max"),
                      "choices": f.metadata.get("choices"), "help": f.metadata.get("help", "")})
    return specs


def _said(value: Any) -> str:
    """An option's value as a chain writes it (``0+48`` for a list)."""
    if isinstance(value, tuple):
        return "+".join(map(_said, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _type_name(tp: Any) -> str:
    """``int``, ``float``...; an optional type shows its inner type (None reads as ``auto``);
    a tuple shows as ``list`` (values joined by ``+`` in a chain, e.g. ``box=10+20+90+120``)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is tuple:
        return "list"
    if args and len(args) < len(typing.get_args(tp)):
        return _type_name(args[0])
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _convert(filter_name: str, name: str, tp: Any, value: Any) -> Any:
    where = f"{filter_name}: option '{name}'"
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "auto"))):
            return None
        errors = []
        for a in args:
            try:
                return _convert(filter_name, name, a, value)
            except OptionError as e:
                errors.append(str(e))
        raise OptionError(errors[0])
    if tp is bool:
        if isinstance(value, bool):
            return value
        s = str(value).lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise OptionError(f"{where} expects true/false, got '{value}'")
    if tp in (int, float):
        if isinstance(value, bool):
            raise OptionError(f"{where} expects a number, got {value!r}")
        try:  # a fraction as ffmpeg takes a rate (fps=30000/1001) for a float option
            fraction = tp is float and isinstance(value, str) and "/" in value
            number = float(Fraction(value)) if fraction else float(value)
            if not math.isfinite(number) or (tp is int and number != int(number)):
                raise ValueError  # nan slips past every range check, inf past an open one
            return int(number) if tp is int else number
        except (TypeError, ValueError, OverflowError, ZeroDivisionError):
            raise OptionError(f"{where} expects {'an integer' if tp is int else 'a number'}, "
                              f"got '{value}'") from None
    if tp is str:
        return str(value)
    if typing.get_origin(tp) is tuple:
        items = value if isinstance(value, (tuple, list)) else [v for v in str(value).replace("+", " ").replace(";", " ").split() if v]
        if not items:  # keyframes=() in Python keyed nothing: the pass did nothing
            raise OptionError(f"{where} expects one or more values, got none")
        inner = typing.get_args(tp)[0]
        return tuple(_convert(filter_name, name, inner, v) for v in items)
    return value


def make_options(filter_name: str, options_cls: type, values: dict[str, Any]) -> Any:
    """Build and validate an options dataclass from raw values (strings from a chain, or objects).

    Raises :class:`OptionError` naming the filter, the option and what is allowed.
    """
    import difflib

    hints = typing.get_type_hints(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    converted = {}
    for key, raw in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            allowed = ", ".join(fields) or "none"
            raise OptionError(f"{filter_name}: unknown option '{key}'{hint} (options: {allowed})")
        value = _convert(filter_name, key, hints[key], raw)
        meta = fields[key].metadata
        if value is not None and meta.get("choices") and value not in meta["choices"]:
            names = [str(c) for c in meta["choices"]]
            close = difflib.get_close_matches(str(raw), names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise OptionError(f"{filter_name}: option '{key}' must be one of "
                              f"{'|'.join(names)}, got '{raw}'{hint}")
        for v in (value if isinstance(value, tuple) else (value,)):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                lo, hi = meta.get("min"), meta.get("max")
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
                    raise OptionError(f"{filter_name}: option '{key}' must be in {rng}, got {raw}")
        converted[key] = value
    options = options_cls(**converted)
    for key in converted:  # an option another one's value leaves unread was dropped silently
        if converted[key] is None:  # box=None: nothing given, nothing lost; a default is a
            continue                # choice (factor=2 beside fps=60 is not what it gives)
        for other, wanted in (fields[key].metadata.get("only_with") or {}).items():
            given = getattr(options, other)
            if given != wanted:
                where = f"without {other}" if wanted is None else f"with {other}={wanted}"
                raise OptionError(f"{filter_name}: option '{key}' applies {where} only, and "
                                  f"{other} is {_said(given)}: it would be dropped")
    return options
