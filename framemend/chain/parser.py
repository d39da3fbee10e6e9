"""The chain syntax, ffmpeg's: ``"deflicker=strength=0.8:mode=local,interpolate=2"``.

Filters are separated by ``,``, options by ``:``, each ``key=value``; a filter's first option may
be given positionally (``interpolate=2`` sets its first declared option).
"""
from __future__ import annotations

import dataclasses

from .options import OptionError, make_options, option_specs
from .registry import get_filter, get_options


def parse_chain(text: str) -> list[tuple[str, dict[str, str]]]:
    """Split a chain string into ``[(filter_name, {option: raw_value})]`` (names not checked).

    Raises :class:`OptionError` for an empty chain, an empty filter or option (a stray ``,`` or
    ``:``) and for an option given twice, so that no value the user wrote is dropped without a
    word."""
    if not text.strip():  # a program's list of filters that came out empty, -f ""
        raise OptionError("the chain is empty: name its filters (e.g. 'deflicker,denoise'), or "
                          "'identity' to re-encode only; leave the chain out for the default "
                          "preset")
    steps = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise OptionError(f"empty filter in chain '{text}' (a stray ',')")
        name, eq, rest = part.partition("=")
        name = name.strip()
        values: dict[str, str] = {}
        for i, item in enumerate(rest.split(":") if eq else []):
            if not item.strip():
                raise OptionError(f"{name}: empty option in '{part}' (a stray ':' or '='; "
                                  f"options are key=value joined by ':')")
            key, eq, value = item.partition("=")
            if not eq:
                if i:
                    raise OptionError(f"{name}: '{item}' needs the form key=value")
                key, value = "", key  # positional: resolved against the first declared option
            elif not key.strip():
                raise OptionError(f"{name}: missing option name before '={value}'")
            key, value = key.strip(), value.strip()
            if key in values:
                raise OptionError(f"{name}: option '{key}' given twice "
                                  f"('{values[key]}' and '{value}')")
            values[key] = value
        steps.append((name, values))
    return steps


def check_chain(text: str) -> list[tuple[str, object]]:
    """Parse and validate a chain without importing the filters: ``[(name, options)]``.

    Raises :class:`OptionError` with a one-line message naming the filter and the option.
    """
    checked = []
    parts = [p.strip() for p in text.split(",")]  # as parse_chain splits them
    steps = parse_chain(text)
    for i, (name, values) in enumerate(steps):
        options_cls = get_options(name)
        last_option = next(reversed(values.items()), None)  # with its raw value
        # box=10,10,200,200 or interpolate=2,3: said before this filter's options are checked
        # (box=4,10:region=face read as a box without region=face)
        if i + 1 < len(steps) and _is_number(steps[i + 1][0].partition(":")[0]):
            raise OptionError(_number_after_comma(text, parts, i + 1, (name, options_cls),
                                                  last_option))
        if "" in values:
            fields = dataclasses.fields(options_cls)
            if not fields:
                raise OptionError(f"{name}: takes no options, got '{values['']}'")
            if values[""] in {f.name for f in fields}:  # denoise=sigma: the name, not its value
                raise OptionError(f"{name}: option '{values['']}' needs a value, e.g. "
                                  f"{name}={values['']}=VALUE")
            first = fields[0].name
            if first in values:  # denoise=3:sigma=4
                raise OptionError(f"{name}: option '{first}' given twice (positionally "
                                  f"'{values['']}' and as {first}='{values[first]}')")
            values[first] = values.pop("")
        checked.append((name, make_options(name, options_cls, values)))
    return checked


def build_chain(text: str) -> list[tuple[type, object]]:
    """Parse and validate a chain: ``[(FilterClass, options_dataclass)]``.

    Raises :class:`OptionError` with a one-line message naming the filter and the option.
    """
    return [(get_filter(name), options) for name, options in check_chain(text)]


def _number_after_comma(text: str, parts: list[str], i: int, previous: tuple[str, type],
                        last_option: tuple[str, str] | None) -> str:
    """The message for a number where a filter belongs (``parts[i]``): the commas of a list
    (``box=4,10,40,30``: say the option's numbers join with ``+``) or of two values for one
    option (``interpolate=2,3``: say which single values were written)."""
    start = f"'{parts[i]}' in chain '{text}' is no filter: commas separate filters"
    filter_name, options_cls = previous
    key, value = last_option if last_option else ("", "")
    fields = dataclasses.fields(options_cls)
    field = key or (fields[0].name if fields else "")
    spec = {s["name"]: s for s in option_specs(options_cls)}.get(field)
    if spec and spec["type"] == "list":
        numbers = [value]
        for part in parts[i:]:  # box=4,10,40,30:region=face: the list ends at the ':'
            head, colon, _ = part.partition(":")
            if not _is_number(head):
                break
            numbers.append(head.strip())
            if colon:
                break
        return f"{start}; join an option's numbers with '+' ({field}={'+'.join(numbers)})"
    if not last_option:  # denoise,3
        return f"{start}; an option's value follows '=' ({filter_name}={parts[i]})"
    written = parts[i - 1]
    other = written[:len(written) - len(value)] + parts[i]
    return f"{start}, and an option takes one value: {written} or {other}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
