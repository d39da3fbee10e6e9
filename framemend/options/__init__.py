"""Every built-in filter's options, one module per filter, importing nothing heavy.

``framemend filters``, the chain parser and the command line's usage checks read these without
importing torch, numba or the filters themselves (so they answer in a fraction of a second); each
filter class takes its ``Options`` from here.
"""
