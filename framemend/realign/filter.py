"""Identity re-alignment: pull colour and tone that drift back to a keyframe, also after the
camera has left the keyframe's view.

For each frame ``t`` after a keyframe:

1. the correction of frame ``t-1`` (a coarse field of local affine colour maps) is carried onto
   frame ``t`` along the dense flow between the two frames (:mod:`.carry`), so content that
   enters the frame is corrected like the content it enters beside;
2. (``region=frame``) the keyframe is aligned onto frame ``t`` (step 4) and the whole frame's
   per-channel gain and offset from the carried-corrected frame to it, measured on the cells
   whose texture pins the alignment (:mod:`.whole`), is composed into the carried correction:
   a drift of generated video is mostly global, so it reaches what the keyframe does not show
   (content entering as the camera moves, sparse colours the local maps leave alone);
3. beyond the keyframe's footprint, the carried correction is updated so that frame ``t``
   matches the previous corrected frame wherever both see the same thing (flow trusted by a
   forward-backward check, Sundaram et al. 2010, and by local structure): a drift is slow, so
   what changes between two corrected frames is drift. Only local offsets are updated here; a
   change of contrast fitted against a warped frame would compound;
4. the keyframe is brought onto frame ``t`` in two steps: a similarity predicted from features
   tracked frame to frame (:mod:`framemend.stabilize.motion`), then the residual dense flow,
   with the same checks; a low-frequency local colour map fitted through the trusted pixels
   (:mod:`.tone`) moves the frame's colour and tone to the keyframe's, leaving its detail,
   motion and expression alone; it is applied to the colours it was fitted on (so an occluder
   keeps its own). The keyframe anchors the correction, so it does not accumulate error while
   the keyframe is in view; once less than ``KEY_VISIBLE`` of the frame still shows it, the
   corrected frame becomes the keyframe;
5. what is not drift stays: a frame whose colours differ from the previous one's by more
   than ``JUMP`` (a light switched on), or whose exposure changes faster than a drift can,
   measured on the whole frame (a fade, :mod:`.light`), keeps the correction carried so far
   (with a subject, its colour map too: else the keyframe it becomes carries the subject's
   drift, and the correction after it pulls back to that; and its subject moved by its
   motion before where the frame's own moves it far from there: that motion may come from
   the same failed flow) and becomes the keyframe; a scene cut starts a new keyframe;
6. optionally (``detail``) the aligned keyframe's fine texture is blended into trusted pixels,
   in the spirit of keyframe propagation (Jamriska et al., "Stylizing video by example",
   SIGGRAPH 2019);
7. with ``region=face`` (or a ``box``) all of this but step 2 happens inside the tracked
   subject's ellipse only, feathered (on the host path the subject's predicted similarity
   is refined by registering the keyframe's subject onto the frame, on the luma, then in
   colour jointly with a change of colour, so that the cast does not move it,
   :mod:`.register`, the
   residual flow is kept only where it raises the subject's correlation,
   :func:`align_keyframe`, and the frame's clipped colours are left out of the subject's
   map, :func:`.subject.unsaturated`); in
   place of step 2, one affine colour map over the subject (:mod:`.subject`), measured in
   the ellipse's core (``CORE``) against the aligned keyframe and composed frame after
   frame, is applied to the colours it explains over the subject's ellipse
   (``SUBJECT_REACH``), before the local maps; the keyframe is replaced once less than
   ``KEY_VISIBLE`` of the subject's tracked box is inside the frame;
8. no harm where nothing drifts (``region=frame``): the colour change of the same content
   between consecutive frames is measured (on textured cells: on a smooth ramp the flow's error
   reads as a change of colour) and added up since the keyframe, with a bound on its
   error, and the correction that comes out is shrunk towards nothing while that drift is not
   significant (:mod:`.evidence`); the correction itself keeps being followed underneath. A
   subject (``region=face``) covers too few cells for that statistic (on a 320x180 clip the
   bound outgrew a 25 % drift of a moving face within 48 frames); its correction is shrunk
   by how well its colour map, as fitted on the frames before, predicts the difference from
   the aligned keyframe on the means of the core's cells (:func:`.subject.explained_share`: a
   drift it predicts nearly whole, a misregistration in part or not at all), that evidence
   added up since the shot's keyframe (a jump adds none), the state again keeping the whole
   correction.

On the device path (frames on a GPU, :func:`framemend.cuda.host_kernels`) the same steps run
without waiting for the host (:mod:`.device`): the motion from the torch flow, the refit by
reweighted least squares, and the jump, the keyframe's visibility and the shrinkage as 0-d
tensors applied by selection.

Keyframes: the first frame of each shot, the frames the user names, or (``pick=sharp``) each
shot's first frame that is nearly as sharp as the sharpest of its opening frames.

Streaming: the filter keeps the current keyframe, the previous frame and its correction and
luma, and the drift measured so far; with ``pick=sharp`` also a shot's first ``CHOICE_FRAMES``
frames while it picks.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..chain.filter import PASS_SIDES, Filter
from ..chain.frames import Frame
from ..chain.registry import register
from ..cuda import host_kernels
from ..flow import backward_warp, estimate_flow, occlusion_mask
from ..kernels.blur import gaussian_blur
from ..kernels.colour import luma
from ..options.realign import BOX_PIXELS, CHOICE_FRAMES, SHARP_ENOUGH, RealignOptions
from ..stabilize import device as stabilize_device
from ..stabilize.device import inverse
from ..stabilize.face import box_mask, check_box, detect_face, stored_box
from ..stabilize.motion import analysis_luma, similarity_motion, subject_motion
from ..stabilize.warp import warp_affine
from . import device as twins
from .carry import area_down, carry_map, consecutive_flow
from .evidence import DriftEvidence, both_ways, colour_step
from .light import LIGHT_RATE, exposure_rate, exposure_step
from .register import analysis_rgb, register_subject
from .shift import global_shift
from .subject import explained_change, explained_share, fit_subject_map, unsaturated
from .tone import (apply_colour_map, compose_maps, fit_colour_map, identity_map,
                   typical_colours)
from .whole import fit_whole_map

#: The head around a detected face (which covers eyes to mouth): the face box scaled by this.
HEAD = 1.5
#: Flow and colour statistics are computed on frames at most this wide (the correction is smooth).
FLOW_WIDTH = 480
#: Mean absolute RGB difference of trusted correspondences is well under this (a drift is slow).
COLOUR_TOLERANCE = 0.15
#: Size in pixels of the cells of the colour maps (:func:`.tone.fit_colour_map`'s default).
CELL = 16
#: Change of colour between two consecutive input frames (:func:`_change`, [0, 1] units) above
#: which it is sudden, not drift (a drift of 25 % over 2 s at 8 fps changes 0.016 a frame).
JUMP = 0.04
#: On a jump frame, the share of the subject box's diagonal by which the frame's own motion
#: may move the box away from where its motion before moves it (:func:`_jump_region`;
#: measured: the failed frame of rendering 325 on the device path 0.21, its jump on the host
#: 0.004; the four jumps of a 128x72 colour wheel's device path, its tracking a few pixels
#: off anyway, 0.012-0.027).
JUMP_MOTION = 0.1
#: Fraction of the frame the keyframe must still cover; below it the corrected frame is the key.
KEY_VISIBLE = 0.5
#: Share of the subject ellipse's radius where its colour map is measured (:mod:`.subject`):
#: the rim shows background, aligned as the subject moves (a smooth sky there passes the
#: checks and pulls the map), and a drift of a face may fade towards it.
CORE = 0.7
#: Mahalanobis distance (in standard deviations of the subject's colours) at which the
#: subject's map has faded to exp(-1/2) (:func:`.tone.typical_colours`): far enough that a
#: subject of several colours (a cup, its coffee) is corrected whole (tuning seed 5: +2.2 dB at
#: 2, +3.7 at 5, +5.2 without), near enough that background inside a detected face's ellipse
#: keeps its colour (the face test's tone drift: +4.4 dB without).
SUBJECT_REACH = 5.0
#: ``eps`` of the frame-to-frame fit: so large that only the local offsets change (a change of
#: contrast fitted against a warped, slightly blurred frame would compound frame after frame).
OFFSET_ONLY = 1e3


def ellipse_mask(box: np.ndarray, height: int, width: int, feather: float = 0.15,
                 device=None) -> torch.Tensor:
    """``(1, 1, H, W)`` soft mask of the ellipse inscribed in ``box`` (2, 2) corners, feathered
    over ``feather`` of its radius."""
    (x0, y0), (x1, y1) = box
    ys = torch.arange(height, device=device, dtype=torch.float32)[:, None]
    xs = torch.arange(width, device=device, dtype=torch.float32)[None]
    r = torch.hypot((xs - (x0 + x1) / 2) / max((x1 - x0) / 2, 1.0),
                    (ys - (y0 + y1) / 2) / max((y1 - y0) / 2, 1.0))
    return ((1.0 - r) / feather + 0.5).clamp(0, 1)[None, None]


def align_keyframe(frame: torch.Tensor, key: torch.Tensor,
                   key_to_frame: np.ndarray | torch.Tensor,
                   window: tuple[int, int, int, int] | None = None,
                   core: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The keyframe warped onto ``frame``, where it is trusted, and the correspondence.

    Args:
        frame, key: ``(1, 3, H, W)`` float RGB.
        key_to_frame: (3, 3) similarity from keyframe pixels to frame pixels (tracked): an
            array, or a float64 tensor on the device path (:mod:`.device`).
        window: ``(y0, y1, x0, x1)``: the residual flow is estimated (and trusted) inside this
            part of the frame only, e.g. around the subject, so that the rest of the frame (a
            background the similarity does not fit) does not disturb it; None: everywhere.
        core: ``(1, 1, H, W)`` bool, a subject's core (host path): the residual flow is kept
            only where it raises the correlation of the aligned keyframe with ``frame`` there
            (:func:`_channel_correlation`), else the keyframe is brought by the similarity
            alone (trusted by its structure then). A brightness-constancy flow moves a smooth
            subject's keyframe to meet a cast that changes its brightness unevenly (a colour
            wheel whose red channel falls: rendering 109 of ``benchmarks.bench_realign`` at
            frame 45, its aligned keyframe 0.013 off the clean frame in squared error a pixel
            where the similarity alone is 0.0019 off), and the subject's map then reads less
            of the cast; on a rigid, weakly textured subject it costs accuracy as well
            (rendering 105).
    Returns:
        ``aligned`` ``(1, 3, H, W)``; ``trust`` ``(1, 1, H, W)`` in [0, 1]; ``to_key``
        ``(1, 2, H, W)``: the keyframe pixel each frame pixel shows, minus its own position.
    """
    _, _, h, w = frame.shape
    y0, y1, x0, x1 = (0, h, 0, w) if window is None else window
    on_device = torch.is_tensor(key_to_frame)
    to_key_sim = inverse(key_to_frame) if on_device else np.linalg.inv(key_to_frame)
    pre = warp_affine(key, to_key_sim[None])
    scale = min(1.0, FLOW_WIDTH / (x1 - x0))
    small = (lambda x: area_down(x, scale)) if scale < 1 else (lambda x: x)
    a, b = small(frame[..., y0:y1, x0:x1]), small(pre[..., y0:y1, x0:x1])
    fwd, bwd = estimate_flow(a, b, quality="medium"), estimate_flow(b, a, quality="medium")
    trust = (~occlusion_mask(fwd, bwd)).float()
    if scale < 1:
        fwd = F.interpolate(fwd, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False) / scale
        trust = F.interpolate(trust, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)
    if window is not None:
        fwd = F.pad(fwd, (x0, w - x1, y0, h - y1))
        trust = F.pad(trust, (x0, w - x1, y0, h - y1))
    ys, xs = torch.meshgrid(torch.arange(h, device=frame.device, dtype=torch.float32),
                            torch.arange(w, device=frame.device, dtype=torch.float32), indexing="ij")
    m = (to_key_sim.float() if on_device
         else torch.as_tensor(to_key_sim, dtype=torch.float32, device=frame.device))

    def resampled(px: torch.Tensor, py: torch.Tensor):
        """The keyframe resampled once at the similarity of the positions ``px``, ``py`` in
        the pre-warped keyframe (resampling it twice, the similarity then the flow, blurs its
        texture away from the frame's), the correspondence, and where it is inside."""
        kx = m[0, 0] * px + m[0, 1] * py + m[0, 2]
        ky = m[1, 0] * px + m[1, 1] * py + m[1, 2]
        to_key = torch.stack([kx - xs, ky - ys])[None]
        inside = ((kx >= 0) & (kx <= w - 1) & (ky >= 0) & (ky <= h - 1)).float()[None, None]
        return backward_warp(key, to_key), to_key, inside

    aligned, to_key, inside = resampled(xs + fwd[0, 0], ys + fwd[0, 1])
    trust = trust * inside * _same_structure(frame, aligned)
    if core is not None:
        rigid, to_key_rigid, inside_rigid = resampled(xs, ys)
        if _channel_correlation(frame, rigid, core) >= _channel_correlation(frame, aligned, core):
            return rigid, inside_rigid * _same_structure(frame, rigid), to_key_rigid
    return aligned, trust, to_key


def _channel_correlation(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor) -> float:
    """The mean over the channels of the zero-mean normalised correlation of ``a`` and ``b``
    (``(1, 3, H, W)``) over ``where`` ``(1, 1, H, W)`` bool: as ECC's (:mod:`.register`), but
    per channel, so that a cast's gain and offset of each channel do not change it."""
    weight = where.float()
    total = weight.sum().clamp_min(1e-6)
    da = a - (a * weight).sum((2, 3), keepdim=True) / total
    db = b - (b * weight).sum((2, 3), keepdim=True) / total
    products = (weight * da * db).sum((2, 3))
    norms = ((weight * da * da).sum((2, 3)) * (weight * db * db).sum((2, 3))).sqrt()
    return float((products / norms.clamp_min(1e-12)).mean())


def _same_structure(a: torch.Tensor, b: torch.Tensor, tolerance: float = 0.04) -> torch.Tensor:
    """``(1, 1, H, W)`` in [0, 1]: whether ``a`` and ``b`` show the same thing, judged on local
    luma structure (luma minus its blur), which a slow colour drift barely changes, and on colour
    (within ``COLOUR_TOLERANCE``, so that flat areas of different things do not match)."""
    ya, yb = luma(a), luma(b)
    diff = gaussian_blur((ya - gaussian_blur(ya, 2.0) - yb + gaussian_blur(yb, 2.0)) ** 2, 2.0)
    colour = gaussian_blur(a - b, 2.0).abs().mean(1, keepdim=True)
    return torch.exp(-diff / tolerance ** 2 - (colour / COLOUR_TOLERANCE) ** 2)


def _change(frame: torch.Tensor, reference: torch.Tensor, weight: torch.Tensor) -> float:
    """Median over the cells (``CELL`` pixels) that ``weight`` ``(1, 1, H, W)`` covers of the
    largest absolute mean difference of a channel between ``frame`` and ``reference`` (the
    median: a few cells where the flow failed do not make a sudden change)."""
    h, w = frame.shape[-2:]
    cells = (max(1, round(h / CELL)), max(1, round(w / CELL)))
    total = F.adaptive_avg_pool2d(weight, cells)
    diff = F.adaptive_avg_pool2d((frame - reference) * weight, cells) / total.clamp_min(1e-6)
    covered = total > 0.5
    if not covered.any():
        return 0.0
    return float(diff.abs().amax(1, keepdim=True)[covered].median())


def _inside(to_key: np.ndarray, h: int, w: int, device) -> torch.Tensor:
    """``(1, 1, H, W)``: 1 where the similarity ``to_key`` lands inside the keyframe."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    kx = to_key[0, 0] * xs + to_key[0, 1] * ys + to_key[0, 2]
    ky = to_key[1, 0] * xs + to_key[1, 1] * ys + to_key[1, 2]
    inside = (kx >= 0) & (kx <= w - 1) & (ky >= 0) & (ky <= h - 1)
    return torch.from_numpy(inside.astype(np.float32))[None, None].to(device)


def moved_box(box, similarity):
    """``box`` (2, 2) corners (an array, or a tensor on the device path) moved by
    ``similarity`` (3, 3): its centre mapped, its size scaled by the similarity's scale, its
    sides kept upright. Mapping the corners themselves would turn the box's diagonal with the
    subject's roll: a box rolled by 6 degrees narrows by 10 % one way and widens by 10 % the
    other, and the ellipse inscribed in it leaves part of a round subject out."""
    centre = box.mean(0)
    a = similarity[:2, :2]
    scale = abs(a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) ** 0.5
    return centre @ a.T + similarity[:2, 2] + scale * (box - centre)


def _carried_on(image: torch.Tensor, carried: torch.Tensor, region: torch.Tensor | None,
                subject: torch.Tensor) -> torch.Tensor:
    """A jump frame ``image`` ``(1, 3, H, W)`` (step 5): the correction carried so far, the
    map field ``carried``, and with a subject (its ellipse ``region`` ``(1, 1, H, W)``, None
    for the whole frame) its colour map ``subject`` too, over the ellipse and without its
    colour gate (a jump frame has no fit of its own); clamped to [0, 1]."""
    out = apply_colour_map(carried, image)
    if region is not None:
        out = image + region * (apply_colour_map(subject, out) - image)
    return out.clamp(0, 1)


def _jump_region(key_box, motion, last_motion, key_to_frame, h: int, w: int, device):
    """A jump frame's subject (step 5): its keyframe-to-frame similarity ``(3, 3)``, its
    ellipse ``(1, 1, H, W)`` there and the motion it moved by (arrays, or tensors on the
    device path). A change that reads as a jump is the light or a consecutive flow that failed
    (fast motion over grass: a misregistration of 0.14), and the frame's own ``motion``, from
    the same images, may have failed with it (the device path's torch flow on such a frame: a
    subject moving 8 px a frame fitted as +2 px); the keyframe the frame becomes would keep
    that error to the shot's end. Where ``motion`` moves the subject's box further than
    ``JUMP_MOTION`` of its diagonal from where the subject's ``last_motion`` moves it, the
    latter is taken."""
    own, before = motion @ key_to_frame, last_motion @ key_to_frame
    box_own, box_before = moved_box(key_box, own), moved_box(key_box, before)
    diagonal = ((box_before[1] - box_before[0]) ** 2).sum() ** 0.5
    far = abs(box_own - box_before).max() > JUMP_MOTION * diagonal
    if torch.is_tensor(far):
        predicted = torch.where(far, before, own)
        return (predicted, twins.ellipse_mask(moved_box(key_box, predicted), h, w),
                torch.where(far, last_motion, motion))
    predicted, kept = (before, last_motion) if far else (own, motion)
    return predicted, ellipse_mask(moved_box(key_box, predicted), h, w, device=device), kept


def _core(box):
    """The subject's core: ``box`` (2, 2) corners (an array or a tensor) shrunk by ``CORE``
    about its centre."""
    centre = box.mean(0)
    return centre + CORE * (box - centre)


def box_visible(box: np.ndarray, h: int, w: int) -> float:
    """The share of the area of ``box`` (2, 2) corners inside an ``h`` x ``w`` frame."""
    (x0, y0), (x1, y1) = np.sort(box, axis=0)
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    seen = max(min(x1, w) - max(x0, 0), 0) * max(min(y1, h) - max(y0, 0), 0)
    return seen / area


def _window(region: torch.Tensor, margin: int = 16) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)``: the bounding box of ``region`` ``(1, 1, H, W)`` > 0, widened by
    ``margin`` pixels; None when the region is empty."""
    ys = torch.nonzero(region[0, 0].amax(1) > 0)[:, 0]
    xs = torch.nonzero(region[0, 0].amax(0) > 0)[:, 0]
    if len(ys) == 0:
        return None
    h, w = region.shape[-2:]
    return (max(int(ys[0]) - margin, 0), min(int(ys[-1]) + 1 + margin, h),
            max(int(xs[0]) - margin, 0), min(int(xs[-1]) + 1 + margin, w))


def fit_similarity(to_key: torch.Tensor, weight: torch.Tensor, step: int = 4) -> np.ndarray | None:
    """(3, 3) similarity from frame to keyframe pixels fitted (RANSAC) to the trusted dense
    correspondence ``to_key`` ``(1, 2, H, W)``; None with too few trusted pixels."""
    _, _, h, w = to_key.shape
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    keep = weight[0, 0, ys, xs].cpu().numpy() > 0.5
    if keep.sum() < 20:
        return None
    src = np.stack([xs[keep], ys[keep]], 1).astype(np.float32)
    dst = src + to_key[0][:, ys[keep], xs[keep]].T.cpu().numpy()
    s, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    return None if s is None else np.vstack([s, [0.0, 0.0, 1.0]])


def realign_frame(frame: torch.Tensor, carried: torch.Tensor, key: torch.Tensor,
                  key_to_frame: np.ndarray | torch.Tensor,
                  previous: tuple[torch.Tensor, torch.Tensor],
                  region: torch.Tensor | None = None, detail: float = 0.0,
                  core: torch.Tensor | None = None, subject: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray | torch.Tensor | None,
                             torch.Tensor | None, torch.Tensor | None]:
    """Re-align ``frame`` ``(1, 3, H, W)``; see the module docstring.

    Args:
        carried: ``(1, 12, ch, cw)`` the previous frame's carried correction moved onto this
            frame (:func:`.carry.carry_map`; the identity after a keyframe).
        key: ``(1, 3, H, W)`` the keyframe.
        key_to_frame: tracked (3, 3) similarity from keyframe to frame pixels: an array, or
            a float64 tensor on the device path (:mod:`.device`: the whole map, the masks and
            the refit are then its twins, and no frame waits for the host).
        previous: the previous corrected frame warped onto this one ``(1, 3, H, W)`` and where
            that warp is trusted ``(1, 1, H, W)``.
        region: ``(1, 1, H, W)`` soft mask of where to correct (None: everywhere).
        core: with ``region``, ``(1, 1, H, W)`` bool: the subject's core, where its colour
            map is measured (:data:`CORE`).
        subject: with ``region``, ``(1, 12, 1, 1)`` the subject's colour map so far
            (:mod:`.subject`; the identity after a keyframe).
    Returns:
        the corrected ``(1, 3, H, W)`` in [0, 1]; the carried correction updated by this frame
        ``(1, 12, ch, cw)``; and ``key_to_frame`` refitted to the dense correspondence (None if
        it could not be; on the device path ``key_to_frame`` then), which keeps the tracking
        from drifting; with ``region``, the subject's colour map updated by this frame and the
        ``(2,)`` evidence of this frame that the map explains a change
        (:func:`.subject.explained_change`: the caller adds it up and shrinks what comes out,
        the state keeps the whole correction).
    """
    on_device = torch.is_tensor(key_to_frame)
    inside = (region > 0.5).float() if region is not None else torch.ones_like(frame[:, :1])
    base = apply_colour_map(carried, frame)
    # aligned as corrected so far: a drifted frame is trusted less
    pre = base if subject is None else apply_colour_map(subject, base)
    gate = explained = None  # with a subject, where its colour map applies, and the evidence

    def corrected(carried: torch.Tensor) -> torch.Tensor:  # the frame through the maps
        out = apply_colour_map(carried, frame)
        return out if gate is None else out + gate * (apply_colour_map(subject, out) - out)

    window = None if region is None or on_device else _window(region)
    aligned, trust, to_key = align_keyframe(pre, key, key_to_frame, window,
                                            None if on_device else core)
    weight = trust * inside
    if region is None:  # the whole frame's share of the correction, measured where the
        # keyframe is seen, is carried everywhere (new content included); the rest is local
        whole = (twins.fit_whole_map if on_device else fit_whole_map)(pre, aligned, weight)
        whole = whole.expand(-1, -1, *carried.shape[-2:])
        carried = compose_maps(whole, carried)
        pre = apply_colour_map(carried, frame)
    else:  # the subject's colours, changed as one (:mod:`.subject`), measured in its core
        # and applied to the colours it was measured on; on the host, in the subject's window
        # (the core is inside it, nothing outside weighs: 1920x1080 took 3x the time without)
        part = (...,) if window is None else (..., slice(*window[:2]), slice(*window[2:]))
        in_core = (trust * core.float())[part]
        if not on_device:  # a clipped channel tells nothing of the map (:mod:`.subject`)
            in_core = in_core * unsaturated(frame[part])
        step, seen = fit_subject_map(pre[part], aligned[part], in_core, weight[part])
        # the evidence: what the map so far (fitted on the frames before, ``pre``) predicts
        explained = explained_change(base[part], pre[part], aligned[part], in_core)
        subject = compose_maps(step, subject)
        mapped = apply_colour_map(subject, base)  # carried is unchanged: corrected(carried)
        gate = typical_colours(seen, mapped, reach=SUBJECT_REACH)
        pre = base + gate * (mapped - base)
    if previous is not None:  # learnt where the keyframe does not reach, which it corrects
        reference, trust_previous = previous
        h, w = frame.shape[-2:]
        beyond_key = 1.0 - (twins.inside(inverse(key_to_frame), h, w) if on_device
                            else _inside(np.linalg.inv(key_to_frame), h, w, frame.device))
        weight_previous = trust_previous * _same_structure(pre, reference) * inside * beyond_key
        step, _ = fit_colour_map(pre, reference, weight_previous, eps=OFFSET_ONLY)
        carried = compose_maps(step, carried)
        pre = corrected(carried)
    step, stats = fit_colour_map(pre, aligned, weight)
    out = apply_colour_map(step, pre)
    if detail > 0:
        soft = gaussian_blur(weight, 2.0)
        out = out + detail * soft * ((aligned - gaussian_blur(aligned, 1.5)) - (out - gaussian_blur(out, 1.5)))
    # The keyframe's colour map is smooth and applied to the colours it was fitted on, so an
    # object the keyframe does not show (an occluder, a disocclusion) keeps its own colour.
    out = pre + typical_colours(stats, pre) * (out - pre)
    if region is not None:
        out = frame + region * (out - frame)
    if on_device:
        return (out.clamp(0, 1), carried, twins.refit(to_key, weight, key_to_frame), subject,
                explained)
    refit = fit_similarity(to_key, weight)
    return (out.clamp(0, 1), carried, None if refit is None else np.linalg.inv(refit), subject,
            explained)


def sharpness(image: torch.Tensor) -> float:
    """Variance of the Laplacian of ``image``'s (``(3, H, W)``) analysis luma: higher is sharper."""
    luma, _ = analysis_luma(image)
    return float(cv2.Laplacian(luma, cv2.CV_32F).var())


@register
class Realign(Filter):
    """Pull a drifting subject's colour and tone back to keyframes (flow-guided, low-frequency)."""

    name = "realign"
    sides = PASS_SIDES
    fewest_frames = 2

    Options = RealignOptions

    def __init__(self, options, device="cpu"):
        super().__init__(options, device)
        check_box(self.name, options.box)
        self._index = 0
        self._key: torch.Tensor | None = None
        self._candidates: list[Frame] | None = None  # a shot's first frames, while picking
        self._faceless = 0  # frames passed unchanged as no face was found in them

    def push(self, frame: Frame) -> list[Frame]:
        t = self._index
        self._index += 1
        keys = self.options.keyframes
        if keys is None and self.options.pick == "sharp":
            out = self._pick_sharp() if frame.cut else []
            if frame.cut or t == 0:
                self._key, self._candidates = None, []
            if self._candidates is None:
                return out + [self._correct(frame)]
            self._candidates.append(frame)
            return out + (self._pick_sharp() if len(self._candidates) == CHOICE_FRAMES else [])
        if (t in keys) if keys is not None else (frame.cut or self._key is None):
            self._start_keyframe(frame)
            return [frame]
        if frame.cut:
            self._key = None
        return [self._correct(frame)]

    def flush(self) -> list[Frame]:
        return self._pick_sharp()

    def notes(self) -> list[str]:
        """Keyframes past the clip's end, and shots left unchanged as no face was found."""
        said, keys, frames = [], self.options.keyframes or (), self._index
        late = [k for k in keys if k >= frames]
        if late:
            what = ("nothing was corrected" if len(late) == len(keys)
                    else "not used")
            said.append(f"keyframes={'+'.join(map(str, late))} past the clip's {frames} "
                        f"frame{'s' * (frames != 1)} "
                        f"(0 to {frames - 1}): {what}")
        if self._faceless:
            what = ("nothing was corrected" if self._faceless == frames else
                    f"{self._faceless} of the {frames} frames passed unchanged (a shot is "
                    "corrected from its first frame with a face)")
            said.append(f"region=face found no face: {what}; name the subject with "
                        f"box=x0+y0+x1+y1 {BOX_PIXELS}")
        return said

    def _pick_sharp(self) -> list[Frame]:
        """Key the shot on its first candidate nearly as sharp as the sharpest (variance of the
        Laplacian, Pech-Pacheco et al. 2000; the earliest, as drift grows with time): the
        candidates before it pass unchanged, those after it are corrected."""
        frames, self._candidates = self._candidates or [], None
        if not frames:
            return []
        scores = np.array([sharpness(f.image) for f in frames])
        k = int(np.argmax(scores >= SHARP_ENOUGH * scores.max()))
        self._start_keyframe(frames[k])
        return frames[:k + 1] + [self._correct(f) for f in frames[k + 1:]]

    def _correct(self, frame: Frame) -> Frame:
        """``frame`` with the shot's correction carried onto it and refined against the
        keyframe and the previous corrected frame (unchanged in a shot without a keyframe)."""
        if self._key is None:  # before the first keyframe, or a new shot without one
            return frame
        if self._on_device:
            return self._correct_on_device(frame)
        image = frame.image[None].to(self.device)
        luma, scale = analysis_luma(image[0])
        last_motion = self._last_motion
        if self._box is None:
            m = similarity_motion(self._luma, luma, scale)
        else:  # a subject hidden for a moment keeps its last motion
            m = subject_motion(self._luma, luma, box_mask(self._box.ravel() / scale, *luma.shape),
                               scale)
        m = last_motion if m is None else m
        self._last_motion = m
        self._luma = luma
        h, w = image.shape[-2:]
        predicted = m @ self._key_to_frame
        region = core = None
        if self._box is not None:  # the keyframe's subject registered onto the frame
            predicted = register_subject(self._key_luma, luma, self._key_rgb, image[0],
                                         self._key_box, predicted, scale)
            box = moved_box(self._key_box, predicted)
            region = ellipse_mask(box, h, w, device=self.device)
            core = ellipse_mask(_core(box), h, w, device=self.device) > 0.5
        flow, trust, fwd, trust_fwd = consecutive_flow(self._previous[0], image)
        carried = carry_map(self._map, flow)
        previous = (backward_warp(self._previous[1], flow), trust)
        inside = torch.ones_like(trust) if region is None else (region > 0.5).float()
        warped, returned = backward_warp(self._previous[0], flow), backward_warp(image, fwd)
        change = _change(image, warped, trust * inside)
        light = float(self._exposure_rate(frame.time, image, warped, returned, trust, trust_fwd))
        sudden = change > JUMP or light > LIGHT_RATE
        if sudden:  # not a drift: a sudden change or a fade (light) stays, the correction
            # carries on
            if self._box is not None:  # the subject moved as before (:func:`_jump_region`)
                predicted, region, self._last_motion = _jump_region(
                    self._key_box, m, last_motion, self._key_to_frame, h, w, self.device)
            out = _carried_on(image, carried, region, self._subject)
            field, refit = carried, None
        else:
            if region is None:
                self._evidence.add(both_ways(
                    colour_step(image, warped, trust, CELL),
                    colour_step(returned, self._previous[0], trust_fwd, CELL)))
            out, field, refit, subject, explained = realign_frame(
                image, carried, self._key, predicted, previous, region, self.options.detail,
                core, self._subject)
            self._subject = subject
            if explained is not None:
                self._explained = self._explained + explained
        self._map = field
        self._previous = (image, out)
        self._key_to_frame = predicted if refit is None else refit
        if self._box is not None:
            self._box = moved_box(self._key_box, self._key_to_frame)
        if sudden or self._key_visible(h, w) < KEY_VISIBLE:
            # the keyframe has (mostly) left the frame, or no longer shows the light: the
            # corrected frame anchors what follows
            self._key, self._key_to_frame, self._key_luma = out, np.eye(3), luma
            if self._box is not None:
                self._key_box = self._box.copy()
                self._key_rgb = analysis_rgb(out[0], luma.shape)
        # the state (previous output, keyframe) keeps the whole correction: the drift keeps
        # being followed while it is not yet significant; what comes out is shrunk
        share = (self._evidence.shrinkage() if region is None
                 else float(explained_share(self._explained)))
        out = image + share * (out - image)
        return frame.replace(out[0].to(frame.image.device))

    def _correct_on_device(self, frame: Frame) -> Frame:
        """:meth:`_correct` on the device path (:mod:`.device`): the motion from the torch
        flow, the tracking state tensors there, and the decisions (a jump, the keyframe
        left behind, the shrinkage) 0-d tensors applied by selection: the frame is corrected
        as if it were no jump, and the jump's outcome chosen where it is one."""
        image = frame.image[None].to(self.device)
        luma, scale = stabilize_device.analysis_luma(image[0])
        if self._box is None:
            m = stabilize_device.camera_motion(self._luma, luma, scale)
        else:  # a subject hidden for a moment keeps its last motion
            m = stabilize_device.subject_motion(self._luma, luma, self._box, scale,
                                                self._last_motion)
        last_motion, self._last_motion = self._last_motion, m
        previous_luma, self._luma = self._luma, luma
        h, w = image.shape[-2:]
        predicted = m @ self._key_to_frame
        region = core = None
        if self._box is not None:
            box = moved_box(self._key_box, predicted)
            region = twins.ellipse_mask(box, h, w)
            core = twins.ellipse_mask(_core(box), h, w) > 0.5
        flow, trust, fwd, trust_fwd = consecutive_flow(self._previous[0], image)
        carried = carry_map(self._map, flow)
        previous = (backward_warp(self._previous[1], flow), trust)
        inside = torch.ones_like(trust) if region is None else (region > 0.5).float()
        warped, returned = backward_warp(self._previous[0], flow), backward_warp(image, fwd)
        light = self._exposure_rate(frame.time, image, warped, returned, trust, trust_fwd)
        jump = (twins.change(image, warped, trust * inside, CELL) > JUMP) | (light > LIGHT_RATE)
        if region is None:
            # a frame whose flow is not pinned is no evidence of drift (:mod:`.device`)
            shift = global_shift(previous_luma, luma) * scale
            pinned = (twins.follows(fwd, trust_fwd, shift, scale)
                      & twins.coherent(fwd, trust_fwd, self._previous[0], CELL))
            self._evidence.add(twins.both_ways(
                twins.colour_step(image, warped, trust, CELL),
                twins.colour_step(returned, self._previous[0], trust_fwd, CELL)),
                ~jump & pinned)
        out, field, refit, subject, explained = realign_frame(
            image, carried, self._key, predicted, previous, region, self.options.detail, core,
            self._subject)
        if subject is not None:
            self._subject = torch.where(jump, self._subject, subject)
            self._explained = self._explained + torch.where(jump, 0.0, explained)
        if self._box is not None:  # a jump: the subject moved as before (:func:`_jump_region`)
            predicted_jump, region_jump, motion = _jump_region(
                self._key_box, m, last_motion, self._key_to_frame, h, w, self.device)
            predicted = torch.where(jump, predicted_jump, predicted)
            region = torch.where(jump, region_jump, region)
            self._last_motion = torch.where(jump, motion, m)
        kept = _carried_on(image, carried, region, self._subject)  # a jump
        out = torch.where(jump, kept, out)
        self._map = torch.where(jump, carried, field)
        self._previous = (image, out)
        self._key_to_frame = torch.where(jump, predicted, refit)
        if self._box is not None:
            self._box = moved_box(self._key_box, self._key_to_frame)
        rekey = jump | (self._key_visible(h, w) < KEY_VISIBLE)
        self._key = torch.where(rekey, out, self._key)
        self._key_to_frame = torch.where(rekey, torch.eye(3, dtype=torch.float64,
                                                          device=image.device),
                                         self._key_to_frame)
        if self._box is not None:
            self._key_box = torch.where(rekey, self._box, self._key_box)
        share = (self._evidence.shrinkage() if region is None
                 else explained_share(self._explained))
        out = image + share * (out - image)
        return frame.replace(out[0].to(frame.image.device))

    def _key_visible(self, h: int, w: int) -> float | torch.Tensor:
        """The share of what the keyframe anchors that frame ``h`` x ``w`` still shows: of the
        frame, that the keyframe's similarity reaches; with a subject, of the subject's tracked
        box inside the frame (the subject travels across the frame while its keyframe still
        shows all of it). A 0-d tensor on the device path."""
        if self._box is not None:
            return (twins.box_visible if self._on_device else box_visible)(self._box, h, w)
        if self._on_device:
            return twins.inside(inverse(self._key_to_frame), h, w).mean()
        return float(_inside(np.linalg.inv(self._key_to_frame), h, w, "cpu").mean())

    def _exposure_rate(self, time: float, image: torch.Tensor, warped: torch.Tensor,
                       returned: torch.Tensor, trust: torch.Tensor, trust_fwd: torch.Tensor
                       ) -> torch.Tensor:
        """0-d: the rate of change of exposure (:func:`.light.exposure_rate`) from the previous
        frame to ``image`` (``(1, 3, H, W)``), measured both ways: on ``warped`` (the previous
        frame warped onto it, where ``trust``) and on ``returned`` (``image`` warped back onto
        the previous frame, where ``trust_fwd``); the clock moves on to ``time``."""
        seconds, self._time = time - self._time, time
        return exposure_rate(exposure_step(image, warped, trust),
                             exposure_step(returned, self._previous[0], trust_fwd), seconds)

    def _start_keyframe(self, frame: Frame) -> None:
        self._on_device = not host_kernels(self.device)  # asked each shot: tests force it
        self._key = frame.image[None].to(self.device)
        self._previous = (self._key, self._key)
        self._time = frame.time
        h, w = frame.image.shape[-2:]
        self._map = identity_map(1, max(1, round(h / CELL)), max(1, round(w / CELL)), self.device)
        self._subject = (identity_map(1, 1, 1, self.device) if self.options.region == "face"
                         else None)
        self._box = None
        self._explained = torch.zeros(2, device=self._key.device)  # :mod:`.subject`
        if self._on_device:
            self._luma, scale = stabilize_device.analysis_luma(self._key[0])
            self._key_to_frame = torch.eye(3, dtype=torch.float64, device=self._key.device)
            self._last_motion = self._key_to_frame
            self._evidence = twins.DriftEvidence(self._key.device)
        else:
            self._luma, scale = analysis_luma(frame.image)
            self._key_luma = self._luma  # the keyframe's, for :mod:`.register`
            self._key_to_frame = np.eye(3)
            self._last_motion = np.eye(3)
            self._evidence = DriftEvidence()
        if self.options.region == "face":
            found = self.options.box
            if found is not None:  # given as the picture is shown
                found = stored_box(found, self.display_rotation, w, h)
            else:  # found on the host, once a shot, on either path
                host_luma = self._luma if not self._on_device else analysis_luma(frame.image)[0]
                found = detect_face(host_luma, self.display_rotation)
                if found is None:  # no face: nothing to correct in this shot (:meth:`notes`)
                    self._faceless += 1
                    self._key = None
                    return
                face = np.array(found, np.float64).reshape(2, 2) * scale
                found = (face.mean(0) + HEAD * (face - face.mean(0))).ravel()
            self._box = np.array(found, np.float64).reshape(2, 2)
            if self._on_device:
                self._box = torch.as_tensor(self._box, device=self._key.device)
            else:
                self._key_rgb = analysis_rgb(self._key[0], self._luma.shape)  # :mod:`.register`
            self._key_box = self._box.clone() if self._on_device else self._box.copy()

