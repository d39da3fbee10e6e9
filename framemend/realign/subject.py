"""The subject's colour map: one full affine colour map (3x3 and an offset) over the whole
tracked subject, from the frame to the aligned keyframe.

A drift of a subject (a face slowly changing colour) is mostly one change of the subject's
colours: per-channel gain and offset, saturation (a 3x3 about the luma), a hue rotation (a
3x3 too). The local maps of :mod:`.tone`, regularised towards the identity on cells of 16
pixels, each see few colours of a subject a few cells wide and leave much of such a change
in place; measured over the whole subject, the 12 coefficients are pinned by thousands of
pixels. A diagonal map (:mod:`.whole`, the whole frame's) cannot represent a hue rotation.

The fit is weighted least squares through the trusted pixels of both images, blurred (a
residual misalignment of a pixel or so, and noise, would otherwise dilute ``A``: regression
dilution), jointly with a residual similarity of the alignment (the reference's gradient times
the similarity's displacement field, linearised as in Lucas & Kanade 1981; jointly
geometric and photometric as in Bartoli, "Groupwise geometric and photometric direct image
registration", PAMI 2008): on a smooth subject (a colour wheel) a tracking error of a few
percent in scale reads as a change of colour the whole subject over, and would be corrected
as one. It is made robust by Tukey's biweight on the residual's norm (iteratively reweighted,
scale from the MAD; Beaton & Tukey 1974: what the keyframe shows differently, an occluder,
the background at the ellipse's rim, is left out), and ridge-regularised towards the
identity by ``RIDGE`` (in colour variance units): on a subject of nearly grey colours the
cross-channel terms are not pinned, and stay the identity's, while the map along the colours
the subject has is fitted (as in He et al.'s guided filter, with the prior on ``I``).

Every step is tensor arithmetic with weights (no indexing by a mask, no read back), so the
device path (:mod:`.device`) runs this same function.

No harm where the subject does not drift (:func:`explained_share`): the keyframe brought onto
a subject that moves, turns or changes scale differs from it also where nothing drifts (its
texture resampled, aliased differently by the rendering, a smooth subject such as a colour
wheel aligned a little off), and a map fitted through thousands of pixels reads that as a
change of colour (a grey rocket under a zoom: diagonal gains down to 0.84, offsets +0.03;
-1.6 dB inside a subject without any cast), and so do the local maps (a colour wheel: -1.8 dB
with the subject map held at the identity). What a drift changes, the map explains on the
means of cells of the subject's core nearly whole (the tuning renderings' casts: 95 to 99 % of
the cells' squared difference once the cast is a few frames old); what a misregistration
changes, only in part (30 to 90 %). With ρ the ratio of the squared difference the map
explains to the one it leaves, both added up since the shot's keyframe (a few frames of few
cells do not decide), the subject's whole correction is applied by
``(ρ - EVIDENCE) / (WHOLE - EVIDENCE)`` clipped to [0, 1]: none while the map explains less
than four fifths, all of it from five sixths on.

The map that is judged is the one fitted on the frames before (a prediction, as in Dawid's
prequential analysis, 1984), not the one fitted on the frame itself: on a small subject its
core covers one to nine cells, three colour values each, which twelve coefficients fitted
through the same pixels meet nearly whatever the difference is (a colour wheel or a grey
rocket misaligned by a torch flow on a 192x108 or 128x72 frame: ρ 5 to 98 frame after frame,
-1.6 to -13 dB without a cast). A drift is slow, so the map so far predicts the frame's change
nearly whole; a misregistration that changes from frame to frame it does not.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..kernels.blur import gaussian_blur
from .evidence import MAD_TO_SIGMA
from .tone import identity_map
from .whole import ROBUST_PASSES, TUKEY

#: Regularisation of ``A`` towards the identity, in colour variance units (a subject's
#: colours vary by 1e-3 to 1e-2 along their chroma; noise blurred by ``FIT_SIGMA`` leaves
#: about 5e-6), and of the residual similarity (in pixels at the subject's rim) towards none.
RIDGE = 1e-3
#: Gaussian sigma, in pixels, of the blur applied to both images before the fit.
FIT_SIGMA = 1.5
#: Fewer trusted pixels than this (weight summed): no map (the identity).
MIN_PIXELS = 64.0
#: Size in pixels of the cells on which :func:`explained_share` compares the map's change with
#: the keyframe's (a subject 60 pixels wide covers about 20 in its core) ...
EVIDENCE_CELL = 8
#: ... and the ratio ρ of the explained to the left squared difference, added up since the
#: shot's keyframe, up to which the share is nothing. First chosen on
#: tuning renderings (1, 3, 9, 23, 27, 31, 33, 35 and two at 2 s, a colour wheel and a rocket,
#: seeds 308 and 311), in the form ``max(0, 1 - EVIDENCE / ρ)`` first: per frame instead of
#: added up, 1.5 / 2 / 3 lost up to 0.47 / 0.25 / 0.10 dB without a cast on the first eight,
#: but 3 lost 0.43 and 0.56 dB on 308 and 311 (a few frames of few cells where the map seems
#: to explain all); added up, 2 lost 0.74 dB on 308, 3 0.14. Then the ramp: 308 -0.19, the
#: casts of 3, 9 and 27 +4.80, +4.97, +3.94 dB against +4.39, +4.64, +3.53 (ungated +4.99,
#: +5.15, +4.26). With the map so far judged (a prediction, see the module's docstring), on
#: the tuning renderings' casts (3, 5, 9, 21, 27, 31) and, without a cast, on 2-s renderings at
#: 192x108 and 128x72 of a colour wheel panning over the camera photograph and over chelsea,
#: zooming over the rocket, and a rocket tilting over the camera photograph (seeds 318, 307,
#: 311, 315), both paths: the ramp 3 -> 6 lost up to 1.32 dB without a cast on the device
#: path (307 at 128x72; 318 at 192x108 0.69, 315 0.44), 4 -> 8 and 4 -> 5 none (315 0.04);
#: the casts +4.55, +3.49, +4.78, +7.81, +3.65, +6.63 dB at 3 -> 6, 0.10-0.25 less at 4 -> 8,
#: 0.01-0.04 less at 4 -> 5.
EVIDENCE = 4.0
#: ... and from which it is whole.
WHOLE = 5.0
#: A channel of the frame within this of 0 or 1, blurred by ``FIT_SIGMA``, is saturated
#: (:func:`unsaturated`; a channel clipped at 1 under noise of 3/255 averages 0.995).
SATURATED = 0.01


def fit_subject_map(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor,
                    support: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine colour map from ``frame`` to ``reference`` (``(1, 3, H, W)``, aligned)
    where ``weight`` ``(1, 1, H, W)`` in [0, 1] trusts them.

    Returns ``(1, 12, 1, 1)`` coefficients of :func:`.tone.apply_colour_map` (``A`` 3x3
    row-major, then ``b``; the identity where less than ``MIN_PIXELS`` is trusted) and
    ``(1, 12, 1, 1)`` the mean (3) and covariance (3x3) of the colours it explains, for
    :func:`.tone.typical_colours` (it is applied to those: a part of the region the subject's
    colours do not cover, background inside the ellipse, keeps its own): those of the pixels
    ``support`` ``(1, 1, H, W)`` trusts (None: ``weight``'s) that the map brings onto
    ``reference`` within the fit's robust scale (Tukey's weight). The map is fitted in the
    subject's core only (a smooth background at the rim would pull it), but a subject's rim
    has colours of its own (a photograph's corners cut out in an ellipse: a table beside a
    cup: 3 to 4 % of the subject's pixels, gated under one half, with most of the cast's
    error); where the map brings them onto the keyframe as well, they are the subject's.
    """
    h, w = frame.shape[-2:]
    blurred = gaussian_blur(reference, FIT_SIGMA)
    x = gaussian_blur(frame, FIT_SIGMA).reshape(3, -1).T  # (n, 3)
    y = blurred.reshape(3, -1).T
    prior = weight.reshape(-1)
    total = prior.sum().clamp_min(1e-12)
    # the residual similarity's displacement fields (n, 2) x 4: two shifts, a scale and a
    # rotation about the subject's centre, in pixels at its rim
    ys, xs = torch.meshgrid(torch.arange(h, device=frame.device, dtype=frame.dtype),
                            torch.arange(w, device=frame.device, dtype=frame.dtype), indexing="ij")
    px, py = xs.reshape(-1), ys.reshape(-1)
    cx, cy = (prior * px).sum() / total, (prior * py).sum() / total
    rim = (2 * (prior * ((px - cx) ** 2 + (py - cy) ** 2)).sum() / total).sqrt().clamp_min(1.0)
    u, v = (px - cx) / rim, (py - cy) / rim
    one, zero = torch.ones_like(u), torch.zeros_like(u)
    fields = torch.stack([torch.stack([one, zero]), torch.stack([zero, one]),
                          torch.stack([u, v]), torch.stack([-v, u])])  # (4, 2, n)
    gy, gx = torch.gradient(blurred[0], dim=(1, 2))
    jac = (gx.reshape(3, 1, -1) * fields[:, 0] + gy.reshape(3, 1, -1) * fields[:, 1])  # (3, 4, n)
    eye = torch.eye(3, device=frame.device, dtype=frame.dtype)
    ridge = RIDGE * torch.eye(16, device=frame.device, dtype=frame.dtype)
    prior_unknowns = torch.cat([eye.reshape(9), torch.zeros(7, device=frame.device,
                                                           dtype=frame.dtype)])
    robust = torch.ones_like(prior)
    for _ in range(ROBUST_PASSES + 1):
        wn = prior * robust
        sw = wn.sum().clamp_min(1e-12)
        mx = (wn[:, None] * x).sum(0) / sw
        xc = x - mx
        # unknowns: A (9, row-major), b' (3), the similarity (4); per channel c the design
        # row is [xc in A's row c, 1 in b'_c, jac_c]
        normal = torch.zeros(16, 16, device=frame.device, dtype=frame.dtype)
        rhs = torch.zeros(16, device=frame.device, dtype=frame.dtype)
        design = []
        for c in range(3):
            d = torch.zeros(x.shape[0], 16, device=frame.device, dtype=frame.dtype)
            d[:, 3 * c:3 * c + 3] = xc
            d[:, 9 + c] = 1.0
            d[:, 12:] = jac[c].T
            design.append(d)
            normal = normal + (d * wn[:, None]).T @ d
            rhs = rhs + (d * wn[:, None]).T @ y[:, c]
        normal, rhs = normal / sw + ridge, rhs / sw + RIDGE * prior_unknowns
        beta = torch.linalg.solve_ex(normal, rhs)[0]  # solve's check would wait for the device
        r = torch.stack([design[c] @ beta - y[:, c] for c in range(3)], 1).norm(dim=1)
        spread = torch.where(prior > 0.5, r, float("nan")).nanmedian()
        scale = MAD_TO_SIGMA * torch.nan_to_num(spread, nan=0.0).clamp_min(1e-4)
        robust = (1 - (r / (TUKEY * scale)) ** 2).clamp_min(0) ** 2
    a = beta[:9].reshape(3, 3)
    b = beta[9:12] - a @ mx
    fitted = torch.cat([a.reshape(9), b])[None, :, None, None]
    wn = (prior if support is None else support.reshape(-1)) * robust
    sw = wn.sum().clamp_min(1e-12)
    mx = (wn[:, None] * x).sum(0) / sw
    cov = (wn[:, None] * (x - mx)).T @ (x - mx) / sw
    stats = torch.cat([mx, cov.reshape(9)])[None, :, None, None]
    return (torch.where(prior.sum() >= MIN_PIXELS, fitted, identity_map(1, 1, 1, frame.device)),
            stats)


def explained_change(frame: torch.Tensor, mapped: torch.Tensor, reference: torch.Tensor,
                     weight: torch.Tensor) -> torch.Tensor:
    """``(2,)``: the squared difference between ``frame`` and ``reference`` (``(1, 3, H, W)``,
    aligned) that the subject's map explains (``mapped`` is ``frame`` through it: the map
    fitted on the frames before, so that it predicts, see the module's docstring) and the one
    it leaves, summed over the means of the cells of ``EVIDENCE_CELL`` pixels that ``weight``
    ``(1, 1, H, W)`` mostly covers: ``|k - f|² - |k - m|²`` and ``|k - m|²`` (``f``, ``m``,
    ``k`` the cells' mean colours); zeros where no cell is covered."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / EVIDENCE_CELL)), max(1, round(w / EVIDENCE_CELL)))
    total = F.adaptive_avg_pool2d(weight, cells)

    def means(x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x * weight, cells) / total.clamp_min(1e-6)

    covered = (total > 0.5).float()
    f, m, k = means(frame), means(mapped), means(reference)
    left = (covered * (k - m) ** 2).sum()
    return torch.stack([(covered * (k - f) ** 2).sum() - left, left])


def explained_share(change: torch.Tensor) -> torch.Tensor:
    """0-d in [0, 1]: the share of the subject's correction to apply,
    ``(ρ - EVIDENCE) / (WHOLE - EVIDENCE)`` clipped, with ``ρ`` the ratio of the explained to
    the left squared difference ``change`` ``(2,)`` (:func:`explained_change`, added up over
    frames); 0 without any."""
    rho = change[0] / change[1].clamp_min(1e-12)
    return ((rho - EVIDENCE) / (WHOLE - EVIDENCE)).clamp(0, 1)


def unsaturated(frame: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)``: 1 where no channel of ``frame`` ``(1, 3, H, W)``, blurred by
    ``FIT_SIGMA``, is within ``SATURATED`` of 0 or 1, else 0.

    A cast that pushes a channel past the range is clipped there (a colour wheel's saturated
    colours: rendering 109 of ``benchmarks.bench_realign``, about half of its pixels), and a
    clipped value tells nothing of the map that the cast is: a censored sample (Tobin 1958),
    left out of the fit and of its evidence. Fitted through them, the map bends towards the
    identity and misses the rest of the subject (109 at frame 60: 2.35e-3 of squared error a
    pixel where the cast did not clip, 2.03e-3 with them left out; the noise's 0.35e-3).
    """
    blurred = gaussian_blur(frame, FIT_SIGMA)
    inside = (blurred > SATURATED) & (blurred < 1.0 - SATURATED)
    return inside.all(1, keepdim=True).to(frame.dtype)
