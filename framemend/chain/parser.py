"""The chain syntax, ffmpeg's: ``"deflicker=strength=0.8:mode=local,interpolate=2"``.

Filters are separated by ``,``, options by ``:``, each ``key=value``; a filter's first option may
be given positionally (``interpolate=2`` sets its first declared option).
"""
from __future__ import annotations

import dataclasses

from .options import OptionError, make_options
from .registry import get_filter, get_options


def parse_chain(text: str) -> list[tuple[str, dict[str, str]]]:
    """Split a chain string into ``[(filter_name, {option: raw_value})]`` (names not checked)."""
    steps = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise OptionError(f"empty filter in chain '{text}'")
        name, _, rest = part.partition("=")
        values: dict[str, str] = {}
        for i, item in enumerate(rest.split(":") if rest else []):
            key, eq, value = item.partition("=")
            if not eq:
                if i:
                    raise OptionError(f"{name}: '{item}' needs the form key=value")
                values[""] = key  # positional: resolved against the first declared option
            else:
                if not key:
                    raise OptionError(f"{name}: missing option name before '={value}'")
                values[key.strip()] = value.strip()
        steps.append((name.strip(), values))
    return steps


def check_chain(text: str) -> list[tuple[str, object]]:
    """Parse and validate a chain without importing the filters: ``[(name, options)]``.

    Raises :class:`OptionError` with a one-line message naming the filter and the option.
    """
    checked = []
    for name, values in parse_chain(text):
        if checked and _is_number(name):  # box=10,10,200,200: the commas split the chain
            raise OptionError(f"'{name}' in chain '{text}' is no filter: commas separate "
                              "filters; join an option's numbers with '+' (box=x0+y0+x1+y1)")
        options_cls = get_options(name)
        if "" in values:
            fields = dataclasses.fields(options_cls)
            if not fields:
                raise OptionError(f"{name}: takes no options, got '{values['']}'")
            if values[""] in {f.name for f in fields}:  # denoise=sigma: the name, not its value
                raise OptionError(f"{name}: option '{values['']}' needs a value, e.g. "
                                  f"{name}={values['']}=VALUE")
            values[fields[0].name] = values.pop("")
        checked.append((name, make_options(name, options_cls, values)))
    return checked


def build_chain(text: str) -> list[tuple[type, object]]:
    """Parse and validate a chain: ``[(FilterClass, options_dataclass)]``.

    Raises :class:`OptionError` with a one-line message naming the filter and the option.
    """
    return [(get_filter(name), options) for name, options in check_chain(text)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
