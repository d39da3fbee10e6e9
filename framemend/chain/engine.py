"""The streaming engine: decode, filter and encode run concurrently, memory bounded by windows.

Three stages joined by bounded queues: a decode thread (PyAV, scene-cut flags; on a GPU each
frame's upload is started there), the filter chain in the calling thread, and an encode thread.
Each filter holds only its declared window, and each queue at most ``queue_size`` frames, so
memory does not grow with the video's length.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable, Iterator

from .filter import Filter
from .frames import Frame
from .scenecut import SceneCutDetector

_END = object()


@dataclass
class RunStats:
    frames_in: int = 0
    frames_out: int = 0
    seconds: float = 0.0


class _Stage(threading.Thread):
    """A daemon thread that records the first exception it meets."""

    def __init__(self, target: Callable[[], None], name: str):
        super().__init__(target=self._guarded, name=name, daemon=True)
        self._work = target
        self.error: BaseException | None = None

    def _guarded(self):
        try:
            self._work()
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            self.error = e


def output_rate(filters: list[Filter], rate: Fraction) -> Fraction:
    """The chain's nominal output frame rate for an input rate."""
    for f in filters:
        rate = f.output_rate(rate)
    return rate


def _raw(frame: Frame) -> None:
    frame.raw  # noqa: B018 - the property converts the decoded picture to raw pixels


def _run_filters(filters: list[Filter], frames: Iterable[Frame],
                 warn: Callable[[str], None] | None = None) -> Iterator[Frame]:
    """Push frames through every filter in order, then flush them in order. Each output frame
    goes down the whole chain before the next is made (:meth:`Filter.emit`), so a filter
    completing many frames at once (a scene cut, the end) holds one of them at a time.
    Once all are out, ``warn(message)`` is told what the filters did not do
    (:func:`said_of_run`), from the shots each filter was given (:class:`Shots`)."""
    shots = [Shots() for _ in filters]

    def through(outputs: Iterable[Frame], done: int) -> Iterator[Frame]:
        """``outputs`` of the first ``done`` filters through the rest."""
        for fr in outputs:
            if done and not filters[done - 1].preserves_geometry:
                fr.aux = {}
            if done == len(filters):
                yield fr
            else:
                f = filters[done]  # a duck-typed filter may have only push and flush
                shots[done].add(fr)
                yield from through(getattr(f, "emit", f.push)(fr), done + 1)

    for frame in frames:
        yield from through([frame], 0)
    for i, f in enumerate(filters):
        yield from through(getattr(f, "emit_rest", f.flush)(), i + 1)
    if warn is not None:
        for message in said_of_run(filters, shots):
            warn(message)


class Shots:
    """The shots of the frames one filter was given, as their cut flags (``Frame.cut``) mark
    them: ``lengths`` of each shot in order, ``starts`` their first frame's (index, time)."""

    def __init__(self):
        self.lengths: list[int] = []
        self.starts: list[tuple[int, float]] = []
        self.frames = 0

    def add(self, frame: Frame) -> None:
        if frame.cut or not self.lengths:
            self.lengths.append(0)
            self.starts.append((self.frames, frame.time))
        self.lengths[-1] += 1
        self.frames += 1


# the short shots a note names before it counts the rest
SHOTS_NAMED = 3


def said_of_run(filters: list[Filter], shots: list[Shots]) -> list[str]:
    """What a run through ``filters`` did not do that the user asked for: the filters given
    fewer frames than they change anything in (:attr:`Filter.fewest_frames`: those that
    compare frames, given one; deflicker's and stabilize's modes that fit a line through each
    frame's neighbours, given two), in the whole input or, where it holds several shots, in a
    shot (each filter works within a shot: a 2-frame shot after a cut is left as it is by
    ``deflicker`` as a 2-frame clip is), and each filter's :meth:`Filter.notes`
    (``realign: keyframes=50 is past the clip's 12 frames...``). ``shots``: per filter, the
    shots of the frames it was given. A duck-typed filter without these says nothing."""
    said = []
    whole = [(f, s) for f, s in zip(filters, shots) if len(s.lengths) == 1
             and s.frames < getattr(f, "fewest_frames", 1)]
    alone = list(dict.fromkeys(f.name for f, s in whole if s.frames == 1))
    if alone:
        said.append(f"the input has one frame: {', '.join(alone)} "
                    f"work{'s' * (len(alone) == 1)} from what changes between frames and had "
                    "nothing to compare it with")
    for f, s in whole:
        if s.frames > 1:
            said.append(f"{f.name}: {_mode(f)}works from {f.fewest_frames} frames or more, the "
                        f"input has {s.frames}: nothing was corrected")
    for i, (f, s) in enumerate(zip(filters, shots)):
        if len(s.lengths) > 1:
            short = [(start, n) for start, n in zip(s.starts, s.lengths)
                     if n < getattr(f, "fewest_frames", 1)]
            if short:
                said.append(_short_shots(f, short, _counts_kept(filters[:i])))
    for f in filters:
        said += [f"{f.name}: {note}" for note in getattr(f, "notes", list)()]
    return said


def _mode(f: Filter) -> str:
    """``mode=auto `` for a filter with a mode option, else nothing."""
    mode = getattr(getattr(f, "options", None), "mode", None)
    return f"mode={mode} " if mode else ""


def _counts_kept(before: list[Filter]) -> bool:
    """Whether the filters ``before`` one pass on as many frames as they take (none changes
    the rate), so that its n-th frame is the input's n-th."""
    rate = Fraction(30)
    return all(f.output_rate(rate) == rate for f in before if hasattr(f, "output_rate"))


def _short_shots(f: Filter, short: list[tuple[tuple[int, float], int]], by_index: bool) -> str:
    """The note of the shots, ``((first index, first time), length)`` each, too short for
    ``f``: named by their frames (from 0) where ``by_index``, else by their first frame's time
    (a rate-changing filter before ``f`` numbers its frames otherwise)."""
    def named(start: tuple[int, float], n: int) -> str:
        if not by_index:
            return f"the frame at {start[1]:.3f} s" if n == 1 else \
                f"the {n} frames from {start[1]:.3f} s"
        return f"frame {start[0]}" if n == 1 else f"frames {start[0]}-{start[0] + n - 1}"

    names = [named(start, n) for start, n in short[:SHOTS_NAMED]]
    more = len(short) - len(names)
    if more:
        listed = f"{', '.join(names)} and {more} more"
    else:
        listed = " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
    one = len(short) == 1 and short[0][1] == 1
    what = ("a shot of its own" if len(short) == 1 and one else
            "a shot of their own" if len(short) == 1 else "shots of their own")
    return (f"{f.name}: {_mode(f)}works from {f.fewest_frames} frames of a shot or more: "
            f"{listed}, {what} between scene cuts, {'was' if one else 'were'} left as "
            f"{'it is' if one else 'they are'}")


def run_stream(frames: Iterable[Frame], filters: list[Filter], write: Callable[[Frame], None],
               detect_cuts: bool = True, queue_size: int = 2,
               on_input: Callable[[], None] | None = None,
               prepare: Callable[[Frame], object] | None = None,
               warn: Callable[[str], None] | None = None) -> RunStats:
    """Stream ``frames`` through ``filters`` into ``write``, each stage in its own thread.

    ``queue_size``: frames each queue holds. Two: the filters are the slowest stage by far
    (1920x1080 default chain: 0.4 s of CPU per frame; decode and encode alone, the identity
    chain, 0.09 s of wall per frame), so the decoded queue stays full and a longer one only
    holds more frames (6 MB each at 1920x1080, 25 MB at 3840x2160), as does the encoder's
    when the last frames of a window come out at once.
    ``on_input`` is called once per decoded frame (progress). ``prepare``, when given, is called
    on each output frame in the filter thread and ``write`` gets what it returns: the queue to
    the encoder then holds that (a writer's integer pixels take a quarter of the memory of a
    float frame: at 3840x2160, 100 MB less per queued frame). ``warn(message)`` is told, at
    the end, what the filters did not do (:func:`said_of_run`). Exceptions from any stage are
    re-raised here; a KeyboardInterrupt (or SIGTERM raised as one) stops the stages and
    propagates within 0.2 s, though a stage may still be finishing its frame.
    """
    stats = RunStats()
    decoded: queue.Queue = queue.Queue(queue_size)
    filtered: queue.Queue = queue.Queue(queue_size)
    stop = threading.Event()
    reader = next((f for f in filters if f.reads_pixels), None)  # the first that reads pixels
    detector = SceneCutDetector() if detect_cuts and reader is not None else None
    # the decode thread makes the pixels the first reader takes (raw, or a tensor: on a GPU its
    # upload started, Frame.stage), so colour conversion and the copy run beside the filters;
    # one that reads YUV planes takes the decoded picture
    convert = None if reader is None else (_raw if reader.reads_raw else Frame.stage)
    # (a duck-typed filter written before reads_yuv has no such flag: it reads no planes)
    planes = reader is not None and getattr(reader, "reads_yuv", False)

    def put(q: queue.Queue, item, consumer: threading.Thread | None = None) -> bool:
        """Put unless the run is stopping or the queue's consumer has died."""
        while not stop.is_set() and (consumer is None or consumer.is_alive()):
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode():
        try:
            for frame in frames if detector is None else detector.mark(frames):
                if convert is not None and not (planes and frame.yuv is not None):
                    convert(frame)
                stats.frames_in += 1
                if not put(decoded, frame):
                    return
        finally:
            put(decoded, _END)

    def get(q: queue.Queue):
        """The next item, or _END once the run is stopping (checked every 0.1 s, so a stop
        (Ctrl-C, SIGTERM, a failed stage) is noticed by a stage waiting on an empty queue)."""
        while not stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return _END

    def encode():
        while True:
            item = get(filtered)
            if item is _END or stop.is_set():
                return
            write(item)
            stats.frames_out += 1

    def source() -> Iterator[Frame]:
        while True:
            item = get(decoded)
            if item is _END:
                return
            if on_input:
                on_input()
            yield item

    decoder, encoder = _Stage(decode, "framemend-decode"), _Stage(encode, "framemend-encode")
    decoder.start()
    encoder.start()
    wait = 5.0  # for a stage to finish the frame it holds
    try:
        for out in _run_filters(filters, source(), warn):
            if decoder.error or encoder.error:
                break
            item = out if prepare is None else prepare(out)
            # the frame's own pixels (a float frame of the last filter: 25 MB at 1920x1080) go
            # now, not once the chain has made the next frame
            del out
            if not put(filtered, item, encoder):
                break
        put(filtered, _END, encoder)
        encoder.join()
    except BaseException as e:
        stop.set()
        if isinstance(e, KeyboardInterrupt):
            # A user or a scheduler is waiting for the process to end: a stage still inside
            # one frame's decode or encode (x264 at 1080p: up to 2 s) is left to finish alone.
            wait = 0.2
        raise
    finally:
        stop.set()
        decoder.join(timeout=wait)
        encoder.join(timeout=wait)
    for stage in (decoder, encoder):
        if stage.error is not None:
            raise stage.error
    return stats
