"""Frames, the Filter contract, typed options, the registry, the chain parser and the engine."""
from .filter import Filter, TemporalFilter
from .frames import Frame, FrameBatch
from .options import OptionError, option
from .registry import all_filters, get_filter, register

__all__ = ["Filter", "TemporalFilter", "Frame", "FrameBatch", "OptionError", "option",
           "register", "get_filter", "all_filters"]
