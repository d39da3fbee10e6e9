"""Looking rather than reading: a side-by-side before/after clip and a per-frame plot."""
from __future__ import annotations

import os

import cv2
import numpy as np

from ..replaced import written_beside


def _on_timeline(frames: np.ndarray, count: int) -> np.ndarray:
    """Resample ``frames`` to ``count`` frames by nearest time (both spanning the same clip)."""
    if len(frames) == count:
        return frames
    idx = np.round(np.arange(count) * (len(frames) / count)).astype(int)
    return frames[np.minimum(idx, len(frames) - 1)]


def side_by_side(before: np.ndarray, after: np.ndarray,
                 labels: tuple[str, str] = ("before", "after")) -> np.ndarray:
    """``(T, H, 2W, 3)``: ``before`` on the left, ``after`` on the right, each labelled.

    Both are ``(T, H, W, 3)`` of the same size and dtype (uint8, or float in [0, 1]); when the
    frame counts differ (after interpolation), the shorter clip is repeated by nearest time so
    both play in step at the longer clip's rate.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.shape[1:] != after.shape[1:]:
        raise ValueError(f"frame sizes differ: {before.shape[1:]} vs {after.shape[1:]}")
    count = max(len(before), len(after))
    out = np.concatenate([_on_timeline(before, count), _on_timeline(after, count)], axis=2)
    h, w = before.shape[1:3]
    scale = max(h / 360.0, 0.35)
    outline = np.zeros((h, 2 * w), np.uint8)
    text = np.zeros((h, 2 * w), np.uint8)
    for label, x in zip(labels, (0, w)):
        org = (x + int(10 * scale) + 2, int(28 * scale) + 4)
        cv2.putText(outline, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                    max(1, int(4 * scale)), cv2.LINE_AA)
        cv2.putText(text, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                    max(1, int(2 * scale)), cv2.LINE_AA)
    dark, light = outline > 127, text > 127
    out[:, dark] = 0
    out[:, light] = 255 if out.dtype == np.uint8 else 1.0
    return out


def plot_problem(path: str) -> str | None:
    """Why :func:`plot_per_frame` cannot write ``path`` (no matplotlib, or an extension its
    Agg canvas does not write: ``.txt`` was a ValueError traceback after the scoring), or
    None."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        return "plotting needs matplotlib: pip install 'framemend[plot]'"
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    kinds = FigureCanvasAgg.get_supported_filetypes()
    if ext and ext not in kinds:
        return (f"--plot {path}: a plot is written as .png, .svg or .pdf (also "
                f"{', '.join('.' + k for k in sorted(kinds) if k not in ('png', 'svg', 'pdf'))}), "
                f"not .{ext}")
    return None


def plot_per_frame(series: dict[str, dict[str, np.ndarray]], path: str, title: str = "",
                   overwrite: bool = False) -> None:
    """Save a per-frame plot to ``path`` (png/svg/pdf): one panel per metric, one line per clip.

    ``series``: ``{metric: {clip label: (N,) values}}``. Needs matplotlib (the ``plot`` extra).
    A ``path`` that exists is refused (:class:`~framemend.video.VideoError`, as
    :func:`framemend.write`) unless ``overwrite=True``.
    """
    from ..video.containers import check_output

    if not isinstance(series, dict):
        raise TypeError("plot_per_frame takes {metric: {clip label: values}}, got "
                        f"{type(series).__name__}")
    for metric, lines in series.items():
        if not isinstance(lines, dict):
            raise TypeError(f"plot_per_frame takes {{metric: {{clip label: values}}}}; series"
                            f"[{metric!r}] is {type(lines).__name__}, not dict: for one clip, "
                            f"give {{{metric!r}: {{'clip': values}}}}")
    check_output(path, overwrite)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'framemend[plot]'") from None
    fig, axes = plt.subplots(len(series), 1, figsize=(8, 2.2 * len(series) + 0.6), sharex=True,
                             squeeze=False)
    for ax, (metric, lines) in zip(axes[:, 0], series.items()):
        for label, values in lines.items():
            ax.plot(np.arange(len(values)), values, label=label, lw=1.3)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel("frame")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    # through a temporary file beside it (an interrupted save left half a picture under the
    # name given); the format named, as the temporary name's extension is not the picture's
    try:
        with written_beside(path) as tmp:
            fig.savefig(tmp, dpi=110, format=os.path.splitext(path)[1][1:].lower())
    finally:
        plt.close(fig)
