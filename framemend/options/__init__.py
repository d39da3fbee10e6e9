"""Every built-in filter's options, one module per filter, importing nothing heavy.

``framemend filters``, the chain parser and the command line's usage checks read these without
importing torch, numba or the filters themselves (so they answer in a fraction of a second); each
filter class takes its ``Options`` from here.
"""


def box_outside(box, width: int, height: int) -> bool:
    """Whether the box ``(x0, y0, x1, y1)`` (pixels; realign's and stabilize's ``box``, score's
    ``--box``) holds none of the pixels of ``width`` x ``height`` frames."""
    return box[0] >= width or box[1] >= height or box[2] <= 0 or box[3] <= 0
