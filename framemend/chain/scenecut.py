"""Scene-cut detection, shared by every temporal filter through ``Frame.cut``.

Hard cuts, including jump cuts within one scene, are told from fast pans, shake, moving subjects,
flashes and fades on small grey thumbnails (``WIDTH`` x ``HEIGHT``), so the detector is cheap
enough to run on every clip. For each pair of consecutive frames:

- the global translation between them is found by phase correlation (Kuglin & Hines 1975) and
  compensated, and the **structure difference** is measured: the mean absolute difference of
  the two thumbnails, each normalised to zero mean and unit variance (so a global change of
  brightness or contrast, as in a flash or a fade, does not count), over the part both show;
- the **motion jump**: how far that translation departs from the recent translations (a jump
  cut reframes the same scene by a large step; a pan moves by steady steps);
- the colour-histogram distance (total variation of per-channel histograms), which separates
  shots of different colour whatever their structure.

A frame starts a new shot when its score, the larger of the structure difference and the
histogram distance measured against the same quantities over the neighbouring frames (a
window of recent pairs and ``LOOKAHEAD`` pairs ahead: adaptive, not one fixed threshold, in the
spirit of shot-boundary detection with local adaptive thresholds, Yeo & Liu 1995), is a clear
outlier, or its motion jumps; and when the frames after it do not return to the frames before it
(a one- or two-frame flash, or a glitch, returns). Fades change brightness slowly and
continuously and are not cuts: every filter already handles them as fades.

Streaming: :meth:`SceneCutDetector.mark` delays frames by ``LOOKAHEAD`` frames and keeps the
thumbnails and scores of the last ``HISTORY`` frames.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable, Iterator

import cv2
import numpy as np

from framemend.kernels.colour import LUMA

from .frames import Frame

#: Size of the analysis thumbnails.
WIDTH, HEIGHT = 96, 54
#: Frames looked at after a candidate cut (the detector's delay).
LOOKAHEAD = 2
#: Past frame pairs whose differences set the adaptive threshold.
HISTORY = 12
#: A cut's score (structure difference + histogram distance) exceeds ``MIN_SCORE`` and the
#: neighbours' median by ``RATIO`` times their median absolute deviation plus ``MARGIN``, and
#: ``FACTOR`` times their median plus ``MARGIN``...
RATIO, FACTOR, MARGIN, MIN_SCORE = 4.0, 4.0, 0.15, 0.5
#: ... or, instead of ``FACTOR`` times, a structure difference this large: unrelated pictures
#: (two independent normalised images differ by about 1.1).
UNRELATED = 0.85
#: Frames ``n`` apart show the same thing when their structure difference and histogram
#: distance are within ``n`` times the usual ones (the neighbours' medians) plus ``SAME``, and
#: below ``MAX_SAME_*``.
SAME, MAX_SAME_STRUCTURE, MAX_SAME_HISTOGRAM = 0.1, 0.8, 0.25
#: A jump cut: the translation departs from the recent ones by this fraction of the width.
JUMP = 0.12
#: Thumbnails flatter than this standard deviation (a fade to black) have no structure to compare.
FLAT = 0.02
#: Histogram bins per channel.
BINS = 16

_LUMA = np.array(LUMA, np.float32)


class _Look:
    """What the detector keeps of one frame: its normalised grey thumbnail and the histograms
    of its colours divided by twice its mean brightness (so a change of exposure moves no mass
    between bins)."""

    __slots__ = ("grey", "flat", "hist")

    def __init__(self, small: np.ndarray):  # (3, h, w) float RGB in [0, 1]
        grey = np.tensordot(_LUMA, small, 1)
        std = float(grey.std())
        self.flat = std < FLAT
        self.grey = ((grey - grey.mean()) / max(std, FLAT)).astype(np.float32)
        relative = small / max(2 * float(grey.mean()), FLAT)
        idx = np.clip(relative * BINS, 0, BINS - 1).astype(np.int64).reshape(3, -1)
        self.hist = np.stack([np.bincount(c, minlength=BINS) for c in idx]) / idx.shape[1]


_WINDOW = cv2.createHanningWindow((WIDTH, HEIGHT), cv2.CV_32F)


def _shifted_difference(a: np.ndarray, b: np.ndarray, shift) -> float | None:
    """Mean absolute difference of ``a`` and ``b`` moved back by ``shift`` over the part both
    show; None when that part is under a quarter of the thumbnail."""
    m = np.float32([[1, 0, -shift[0]], [0, 1, -shift[1]]])
    moved = cv2.warpAffine(b, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=np.nan)
    valid = ~np.isnan(moved)
    return float(np.abs(a[valid] - moved[valid]).mean()) if valid.mean() >= 0.25 else None


def compare(a: _Look, b: _Look, expected=(0.0, 0.0)) -> tuple[float, np.ndarray, float]:
    """Structure difference, translation ``(dx, dy)`` in thumbnail pixels and histogram
    distance between two looks (see the module docstring); nothing differs between flat ones.
    The translation is the best fitting of: none, the phase correlation's, ``expected`` (the
    previous pair's: a repeating texture can fool the correlation, a camera keeps moving)."""
    if a.flat or b.flat:
        return 0.0, np.zeros(2), 0.0
    hist = float(np.abs(a.hist - b.hist).sum() / (2 * len(a.hist)))
    (dx, dy), _ = cv2.phaseCorrelate(a.grey, b.grey, _WINDOW)
    best = float(np.abs(a.grey - b.grey).mean()), np.zeros(2)
    for shift in (np.array([dx, dy]), np.asarray(expected, np.float64)):
        structure = _shifted_difference(a.grey, b.grey, shift)
        if structure is not None and structure < best[0]:
            best = structure, shift
    return best[0], best[1], hist


class SceneCutDetector:
    """Marks ``frame.cut`` on the first frame of each new shot; see the module docstring.
    ``SceneCutDetector().mark(frames)`` is an iterator of the same frames, ``LOOKAHEAD``
    frames later."""

    def mark(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """Yield ``frames`` in order with ``cut`` set where a new shot starts (never unset)."""
        looks: deque[_Look] = deque(maxlen=2 * LOOKAHEAD + 2)
        pending: deque[Frame] = deque()
        pairs: deque[tuple[float, np.ndarray, float]] = deque(maxlen=HISTORY + LOOKAHEAD + 1)
        for frame in frames:
            look = _Look(frame.thumbnail(WIDTH, HEIGHT))
            if looks:
                pairs.append(compare(looks[-1], look, pairs[-1][1] if pairs else (0.0, 0.0)))
            looks.append(look)
            pending.append(frame)
            if len(pending) > LOOKAHEAD:
                yield self._decide(pending.popleft(), list(pairs), list(looks))
        while pending:  # the last frames are judged on what follows them
            ahead = len(pending) - 1
            yield self._decide(pending.popleft(), list(pairs), list(looks), ahead)

    def _decide(self, frame: Frame, pairs: list, looks: list, ahead: int = LOOKAHEAD) -> Frame:
        """Judge ``frame``, the one ``ahead`` frames before the newest; ``pairs[-1 - ahead]``
        compares it with the frame before it."""
        at = len(pairs) - 1 - ahead
        if at < 0 or frame.cut:
            return frame
        structure, shift, hist = pairs[at]
        others = pairs[:at] + pairs[at + 1:]
        if is_cut(structure, shift, hist, others) and not self._returns(looks, others, ahead):
            frame.cut = True
        return frame

    @staticmethod
    def _returns(looks: list, pairs: list, ahead: int) -> bool:
        """Whether a frame from the candidate on shows again what a frame before it showed, as
        far as the recent frame-to-frame changes would have changed it (a flash or a glitch of
        one or two frames, not a new shot)."""
        at = len(looks) - 1 - ahead  # the candidate
        if pairs:
            usual = np.median([p[0] for p in pairs]), np.median([p[2] for p in pairs])
            step = np.median([p[1] for p in pairs], 0)
        else:
            usual, step = (0.0, 0.0), np.zeros(2)
        for i in range(max(at - 1 - LOOKAHEAD, 0), at):
            for j in range(at, len(looks)):
                structure, shift, hist = compare(looks[i], looks[j])
                if (structure < min((j - i) * usual[0] + SAME, MAX_SAME_STRUCTURE)
                        and hist < min((j - i) * usual[1] + SAME, MAX_SAME_HISTOGRAM)
                        and np.abs(shift - (j - i) * step).max() < JUMP * WIDTH):
                    return True
        return False


def is_cut(structure: float, shift: np.ndarray, hist: float, others: list) -> bool:
    """Whether a pair with these measures is a cut against its neighbouring pairs ``others``
    (each ``(structure, shift, hist)``): its structure difference plus histogram distance is an
    outlier among theirs, or its translation jumps away from theirs."""
    score = structure + hist
    if not others:
        return score > 2 * MIN_SCORE
    scores = np.array([o[0] + o[2] for o in others])
    median = float(np.median(scores))
    spread = float(np.median(np.abs(scores - median)))
    jump = np.abs(shift - np.median([o[1] for o in others], 0)).max() > JUMP * WIDTH
    outlier = score > max(MIN_SCORE, median + RATIO * spread + MARGIN)
    return (outlier and (score > FACTOR * median + MARGIN or structure > UNRELATED)) or jump
