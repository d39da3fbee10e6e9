""":func:`clean_folder`: plan the batch from the manifest, run what is left, report.

The order of things, each step safe to interrupt: check the arguments and the chain; find the
files and fingerprint them; read the manifest and decide, per file, *done before*, *redo*,
*new* or *failed before* (a dry run stops here); take the folder's lock, remove the temporary
files of earlier killed runs; run the rest on the executor, recording each file in the manifest
when it starts and when it ends; write the report.
"""
from __future__ import annotations

import dataclasses
import glob as globlib
import numbers
import os
import signal
import sys
import threading
import time

from .errors import BatchError, BatchUsageError
from .jobs import (VIDEO_EXTENSIONS, Job, discover, fingerprint, image_sequence_note, probe,
                   stills_note)
from .manifest import LOCK, NAME, Manifest, lock_folder
from .report import BatchSummary, FileResult, write_report

TIMEOUT_START = 60.0           # seconds every file gets, whatever its length
TIMEOUT_PER_MPX_FRAME = 10.0   # and per megapixel of each frame: 3.5 s per 720x480 frame
UNKNOWN_FRAMES = 1000          # assumed when the container declares neither frames nor duration
# more for a worker's first file of each depth (8 bits, more), where numba compiles the chain's
# kernels for that pixel type if its cache is empty
# (a run before `framemend warmup`): on a 2-core machine at load 1-3, a batch of 8-frame 64x48
# files with 2 workers spent 71 s in each worker's first file with the default chain, 63 s with
# all six filters (the rest took 0.2-0.7 s); one process alone compiled in 43 s and 51 s. The
# first file got 60 s, was killed as "timed out", and its replacement compiled again. About
# 2.5 times the worst measured; a warm cache costs nothing, a first file that hangs is killed
# this much later. Each depth compiles its own: one process, the default chain, load 6-7, a
# 10-bit file after 8-bit ones took 21 s (15 s CPU), an 8-bit one after a 10-bit first 40 s
# (14 s CPU), where no allowance covered them (8-bit files of other chroma layouts: 0.2 s).
COMPILE_ALLOWANCE = 180.0


def file_timeout(job: Job, per_mpx_frame: float = TIMEOUT_PER_MPX_FRAME,
                 first: bool = False) -> float:
    """Seconds ``job`` may take before its worker is killed: scaled by frames x pixels, plus
    :data:`COMPILE_ALLOWANCE` when it is its worker's ``first`` file of its depth
    (:attr:`Job.deep`)."""
    frames = job.frames or (round(job.duration * 60) if job.duration else UNKNOWN_FRAMES)
    return (TIMEOUT_START + per_mpx_frame * frames * max(job.pixels, 1) / 1e6
            + COMPILE_ALLOWANCE * first)


def settings_key(chain: str, codec: str | None, crf: int | None, lossless: bool) -> str:
    """What decides an output's content besides its input: the chain with every option
    resolved (``denoise`` and ``denoise=sigma=auto`` are one chain) and the encoder options."""
    from ..chain.parser import build_chain

    steps = [f"{cls.name}:{sorted(dataclasses.asdict(opts).items())}" for cls, opts in build_chain(chain)]
    return repr((steps, codec, crf, lossless))


def local_layout(jobs: int | None, device: str | None, threads: int | None = None
                 ) -> tuple[int, int, list[str | None]]:
    """``(workers, threads per worker, devices)`` for this machine: one worker per GPU when torch
    sees CUDA devices and ``device`` allows them, else one per core; the cores shared out, at
    most ``threads`` each (``--threads``) (torch is imported to count GPUs only where a GPU
    driver is installed)."""
    from ..pipeline import gpu_driver, usable_cores

    cores = usable_cores()
    gpus = 0
    if device in (None, "cuda") and gpu_driver():
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    workers = jobs or gpus or cores
    share = max(1, cores // workers)
    return workers, min(share, threads or share), [f"cuda:{i}" for i in range(gpus)] or [device]


def remove_stale_temps(out_dir: str, jobs: list[Job]) -> int:
    """Delete what killed runs left: the writer's temporary files beside each output whose
    process is gone (:func:`framemend.video.writer.remove_stale_temps`) and the manifest's
    ``.framemend-batch.json.*.tmp``; returns how many."""
    from ..video.writer import remove_stale_temps as remove_writer_temps  # imports PyAV

    removed = sum(len(remove_writer_temps(j.dst)) for j in jobs
                  if os.path.isdir(os.path.dirname(j.dst)))
    for path in globlib.glob(os.path.join(globlib.escape(out_dir), NAME + ".*.tmp")):
        os.remove(path)
        removed += 1
    return removed


def _plan(jobs: list[Job], manifest: Manifest, settings: str, overwrite: bool
          ) -> tuple[list[FileResult], list[Job]]:
    """One :class:`FileResult` per job, and the jobs to run (status ``new`` or ``redone``)."""
    results, todo, owners = [], [], {}
    for job in jobs:
        res = FileResult(job.rel, job.out_rel, "new")
        results.append(res)
        if job.skip:
            res.status, res.note = "skipped", job.skip
            continue
        if job.out_rel in owners:
            res.status, res.note = "failed", f"its output '{job.out_rel}' is also the output of '{owners[job.out_rel]}'"
            continue
        owners[job.out_rel] = job.rel
        try:
            job.fingerprint = fingerprint(job.src)
        except OSError as e:
            res.status, res.note = "failed", f"cannot read '{job.src}': {e.strerror}"
            continue
        state, why = manifest.state(job, settings)
        if state == "foreign" and not overwrite:
            res.status, res.note = "failed", why
        elif state == "failed":
            res.status, res.note = "failed", why + " (failed before; the input is unchanged)"
        elif state == "done":
            res.status = "done before"  # its row as the run that made its output measured it
            record = manifest.files[job.rel]
            _measured(res, record)
            res.worker = record.get("worker", "")
        else:
            res.status, res.note = ("redone", why) if state == "redo" else ("new", "")
            todo.append(job)
    return results, todo


def _measured(res: FileResult, measured: dict) -> None:
    """Fill a file's row with what a run of it measured: a worker's result, or the manifest's
    record of it (:meth:`.Manifest.finished` keeps the same keys), so a resumed batch's report
    keeps the rows of the runs before it."""
    res.frames, res.frames_out = measured.get("frames_in"), measured.get("frames_out")
    res.seconds, res.cpu_seconds = measured.get("seconds"), measured.get("cpu_seconds")
    res.scores, res.warnings = measured.get("scores", {}), measured.get("warnings", [])


class _Progress:
    """The executor's events: manifest records, the progress bar, per-file lines."""

    def __init__(self, results: list[FileResult], manifest: Manifest, settings: str,
                 todo: list[Job], bar: bool, verbose: bool):
        self.results = {r.input: r for r in results}
        self.manifest, self.settings, self.verbose, self.want_bar = manifest, settings, verbose, bar
        self.done_frames: dict[str, int] = {}
        self.finished_files: set[str] = set()
        self.files = len(todo)
        self.bar = None

    def start_bar(self, todo: list[Job]) -> None:
        """Frames done of the total the containers declare (files that declare none add
        theirs as they finish), with the files done and an ETA."""
        if self.want_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=sum(j.frames or 0 for j in todo), unit="frame", file=sys.stderr,
                            dynamic_ncols=True, smoothing=0.05, desc=f"0/{self.files} files")

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def started(self, job: Job, where: str) -> None:
        self.manifest.started(job)
        self.progress(job, 0)  # a retried file starts again from nothing
        self.results[job.rel].worker = where

    def progress(self, job: Job, frames: int) -> None:
        if self.bar is not None:
            self.bar.update(frames - self.done_frames.get(job.rel, 0))
        self.done_frames[job.rel] = frames

    def finished(self, job: Job, result: dict) -> None:
        res = self.results[job.rel]
        if "frames_in" in result:
            if self.bar is not None:
                self.bar.total += result["frames_in"] - (job.frames or 0)
            self.progress(job, result["frames_in"])
        _measured(res, result)
        if result["ok"]:
            self.manifest.finished(job, self.settings, result, res.worker)
            if self.verbose:
                self.say(f"{res.status:>8}  {job.rel} -> {job.out_rel}: {res.frames} "
                         f"frame{'s' * (res.frames != 1)} in, "
                         f"{res.frames_out} out, {res.seconds:.1f} s ({res.worker})")
        else:
            self.manifest.failed(job, self.settings, result["reason"], result["retry"])
            res.status, res.note = "failed", result["reason"]
            self.say(f"framemend: failed {job.rel}: {result['reason']}")
        self.finished_files.add(job.rel)
        if self.bar is not None:
            self.bar.set_description(f"{len(self.finished_files)}/{self.files} files")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_not_in_a_worker() -> None:
    """RuntimeError where a spawned worker is importing the caller's script (the check
    multiprocessing makes before it starts a process): a call outside ``if __name__ ==
    "__main__":`` ran again in each worker, met the caller's lock and said only that the workers
    died at start."""
    import multiprocessing as mp  # noqa: PLC0415

    if getattr(mp.current_process(), "_inheriting", False):
        raise RuntimeError('clean_folder() was called again as a worker process imported the '
                           'calling script: call it under if __name__ == "__main__":')


def _check_folders(in_dir: str, out_dir: str) -> None:
    if not os.path.isdir(in_dir):
        raise BatchUsageError(f"input '{in_dir}' is not a folder")
    file_like = os.path.exists(out_dir) and not os.path.isdir(out_dir)
    if file_like or (not os.path.exists(out_dir) and out_dir.lower().endswith(VIDEO_EXTENSIONS)):
        # a folder of frames given to make one video: say what framemend reads
        note = image_sequence_note(in_dir)
        if note:
            raise BatchUsageError(note)
    if file_like:
        raise BatchUsageError(f"input is a folder, so output '{out_dir}' must be a folder too")
    if not os.path.exists(out_dir) and out_dir.lower().endswith(VIDEO_EXTENSIONS):
        raise BatchUsageError(f"input is a folder, so output '{out_dir}' would be made a folder "
                              f"named like a video: name a folder (or make it first)")
    if os.path.abspath(out_dir) == os.path.abspath(in_dir):
        raise BatchUsageError("output folder is the input folder: choose another")
    existing = out_dir  # the folder itself, or the nearest folder above it that exists
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BatchUsageError(f"output folder '{out_dir}' " + (
            "is not writable" if existing == out_dir
            else f"cannot be made: '{existing}' is not writable"))


def _check_report(report: str, out_dir: str, overwrite: bool, dry_run: bool) -> None:
    """The report is written after the work: a path it cannot go to, or a file that exists and
    that no run of this batch wrote (unless ``overwrite``), is refused before. The output
    folder itself is a place it can go to when the run makes it (``-o out --report
    out/r.csv`` of a first run was refused: "its folder does not exist")."""
    folder = os.path.dirname(os.path.abspath(report))
    if os.path.isdir(report):
        raise BatchUsageError(f"--report '{report}' is a folder: name a file (.json or .csv)")
    if not os.path.isdir(folder) and (dry_run or folder != out_dir):
        made = " (a dry run makes no output folder)" if folder == out_dir else ""
        raise BatchUsageError(f"--report '{report}': its folder '{folder}' does not exist{made}")
    if os.path.abspath(report) in (os.path.join(out_dir, NAME), os.path.join(out_dir, LOCK)):
        # the report was written over the batch's record: the next run knew no output
        raise BatchUsageError(f"--report '{report}' is the batch's own record: name another file")
    if os.path.exists(report) and not overwrite and not Manifest(out_dir).owns_report(report):
        raise BatchError(f"--report '{report}' exists and no run of this batch wrote it (use "
                         "-y/--overwrite, or overwrite=True in Python, to replace it)")


def _check_encoder(jobs: list[Job], codec: str | None, crf: int | None, lossless: bool) -> None:
    """BatchUsageError where no file's output could be encoded with ``codec``, ``crf`` and
    ``lossless`` (an unknown codec, a CRF outside every encoder's range): each file failed
    alone once the workers had started, and was recorded as failed. Where some outputs'
    containers take them, those files run and the others fail alone, as before."""
    from ..video.containers import SettingsError, choose_codec

    if codec is None and crf is None and not lossless:
        return
    first = None
    for dst in {os.path.splitext(job.dst)[1].lower(): job.dst for job in jobs}.values():
        for depth in (8, 16):  # a deep source may take another encoder (.webm: AV1)
            try:
                choose_codec(dst, codec, lossless, crf, depth)
                return
            except SettingsError as e:
                first = first or e
    raise BatchUsageError(str(first))


def _check_device(device: str | None) -> None:
    """BatchUsageError for a device the local workers cannot have, before any file is sent to
    one: each file failed with it, marked as the input's fault, so a re-run with another
    device skipped them all as "failed before"."""
    from ..pipeline import check_cuda, check_device
    from ..video import VideoError

    try:
        check_device(device)
        if device not in (None, "auto", "cpu"):
            check_cuda(device)
    except VideoError as e:  # SettingsError too
        raise BatchUsageError(str(e)) from None


def _sigterm_as_interrupt():
    """While the batch runs in the main thread, SIGTERM stops it as Ctrl-C does; returns the
    handler to put back."""
    from ..interrupts import raising

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, raising(KeyboardInterrupt))


def clean_folder(in_dir: str, out_dir: str, chain: str | None = None, *, jobs: int | None = None,
                 glob: str | None = None, recursive: bool = False, dry_run: bool = False,
                 report: str | None = None, score: bool = False, executor: str = "local",
                 scheduler: str | None = None, device: str | None = None,
                 codec: str | None = None, crf: int | None = None, lossless: bool = False,
                 overwrite: bool = False, timeout: float = TIMEOUT_PER_MPX_FRAME,
                 threads: int | None = None, progress: bool = False, verbose: bool = False,
                 task=None) -> BatchSummary:
    """Clean every video under ``in_dir`` into ``out_dir`` (same relative paths), resumably.

    Local workers are spawned processes that import the calling script: a script calls this
    under ``if __name__ == "__main__":`` (a RuntimeError in each worker says so otherwise).

    Args:
        chain: filter chain, a list of filters or a preset's name (default: the ``default``
            preset), as for :func:`framemend.clean`.
        jobs: local worker processes (default: one per core, or one per GPU).
        glob: shell pattern for the files to take (default: every video extension); matched on
            the name, or on the relative path when it holds a ``/``.
        recursive: walk the whole tree (default: ``in_dir``'s own files).
        dry_run: decide what would run and return that; nothing is written.
        report: write a per-file report there, CSV for ``.csv``, JSON otherwise.
        score: add temporal-consistency scores of each input and output to the report (each
            clip is then read whole into memory once more).
        executor: ``local`` (worker processes) or ``dask`` (``scheduler`` = ``tcp://HOST:8786``;
            workers need framemend and the folders under the same paths).
        device, codec, crf, lossless: as for :func:`framemend.clean`.
        overwrite: replace outputs, and the report, that exist but that no run of this batch
            wrote.
        timeout: seconds per megapixel of each frame a file may take (plus 60 s, and
            :data:`COMPILE_ALLOWANCE` for a worker's first of each depth, 8 bits or more)
            before its worker is killed and
            the file fails.
        threads: at most this many compute threads per local worker (default: the cores
            shared out among the workers).
        progress, verbose: a progress bar on stderr; a line per finished file.
        task: the per-file function run by the workers (default
            :func:`framemend.batch.worker.clean_job`; tests pass faulty ones).

    Returns:
        :class:`BatchSummary`: a :class:`FileResult` per file, ``exit_code``, ``str()`` the
        summary line ("40 files: 12 done before, 3 redone, 22 new, 3 failed in 81.0 s"),
        ``notes`` (a ``glob`` that took only still images: each is a one-frame clip).

    Raises:
        BatchUsageError: bad folders or executor options; OptionError: a bad chain;
        BatchError: the report exists and no run of this batch wrote it, the output folder is
        busy, the workers cannot start, or the Dask cluster cannot be reached or its workers
        cannot run framemend.
    """
    from ..presets import chain_of
    from .worker import clean_job

    _check_not_in_a_worker()
    t0 = time.monotonic()
    chain = chain_of(chain)
    in_dir, out_dir = os.path.abspath(in_dir), os.path.abspath(out_dir)
    _check_folders(in_dir, out_dir)
    if report:
        report = os.fspath(report)  # a pathlib.Path too
        _check_report(report, out_dir, overwrite, dry_run)
    if executor not in ("local", "dask"):
        raise BatchUsageError(f"unknown executor '{executor}' (local or dask)")
    for name, value in (("jobs", jobs), ("threads", threads)):
        # jobs below 1: no worker would ever take the files, a hang; 2.5 met range()'s
        # TypeError; threads=0 meant "the default" without a word, where --threads 0 is refused
        if value is not None and (not isinstance(value, numbers.Integral) or value < 1
                                  or isinstance(value, bool)):  # True: one worker, no word
            raise BatchUsageError(f"--{name} {value}: needs a whole number, at least 1")
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):  # "10": '>' failed
        raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
    if glob is not None and not isinstance(glob, str):
        raise TypeError(f"glob must be a pattern such as '*.mp4', got {glob!r}")
    if not timeout > 0:  # NaN never timed out; below 0, every file at once (inf: never)
        raise BatchUsageError(f"--timeout {timeout:g}: needs seconds above 0")
    if executor == "local":
        _check_device(device)
    if (executor == "dask") != (scheduler is not None):
        raise BatchUsageError("--executor dask needs --scheduler tcp://HOST:8786, and only it does")
    settings = settings_key(chain, codec, crf, lossless)  # validates the chain
    found = discover(in_dir, out_dir, glob, recursive)
    if not found:
        note = image_sequence_note(in_dir) if glob is None else None
        raise BatchUsageError(note or f"folder '{in_dir}' holds no " + (
            f"files matching '{glob}'" if glob else "videos") + (
            " (add --recursive for its subfolders)" if not recursive and glob is None else ""))
    _check_encoder(found, codec, crf, lossless)
    if dry_run:
        summary = BatchSummary(_plan(found, Manifest(out_dir), settings, overwrite)[0], dry_run=True)
    else:
        os.makedirs(out_dir, exist_ok=True)
        lock = lock_folder(out_dir)
        try:
            manifest = Manifest(out_dir)
            results, todo = _plan(found, manifest, settings, overwrite)
            summary = BatchSummary(results)
            if todo:
                remove_stale_temps(out_dir, found)
                if executor == "dask":
                    ex = _dask(scheduler, task or clean_job, in_dir, out_dir)
                else:
                    from .local import LocalExecutor

                    workers, per_worker, devices = local_layout(jobs, device, threads)
                    ex = LocalExecutor(min(workers, len(todo)), per_worker, devices,
                                       task or clean_job)
                summary.where = ex.describe()
                run_settings = {"chain": chain, "device": device, "codec": codec, "crf": crf,
                                "lossless": lossless, "score": score}
                events = _Progress(results, manifest, settings, todo, progress, verbose)
                summary.interrupted = _execute(ex, todo, run_settings,
                                               lambda job, first: file_timeout(job, timeout, first),
                                               events)
                if not (summary.interrupted and executor == "dask"):  # no task is writing now
                    remove_stale_temps(out_dir, found)  # those of workers that died in this run
            if report:
                manifest.wrote_report(report)  # a re-run may replace it
        finally:
            lock.close()
    summary.notes = [note for note in [stills_note(in_dir, found, glob)] if note]
    summary.seconds = time.monotonic() - t0
    if report:
        write_report(report, summary)
    return summary


def _dask(scheduler: str, task, in_dir: str, out_dir: str):
    try:
        from .cluster import DaskExecutor
    except ModuleNotFoundError as e:
        raise BatchError(f"--executor dask needs {e.name}: pip install 'framemend[batch]'") from None
    ex = DaskExecutor(scheduler, task)
    ex.connect(in_dir, out_dir)
    return ex


def _execute(ex, todo: list[Job], run_settings: dict, timeout_of, events: _Progress) -> bool:
    """Run ``todo`` on ``ex``; True when interrupted (SIGINT or SIGTERM), the files it did not
    finish marked ``left``. A file whose output folder cannot be made (a file in its place)
    fails alone, before any worker starts."""
    runnable = []
    for job in todo:
        probe(job)
        folder = os.path.dirname(job.dst)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            events.finished(job, {"ok": False, "retry": True,
                                  "reason": f"cannot make the folder '{folder}': {e.strerror}"})
            continue
        runnable.append(job)
    events.start_bar(runnable)
    previous = _sigterm_as_interrupt()
    try:
        ex.run(runnable, run_settings, timeout_of, events)
        return False
    except KeyboardInterrupt:
        for r in events.results.values():
            if r.input not in events.finished_files and r.status in ("new", "redone"):
                r.status, r.note = "left", "interrupted before it finished"
        return True
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        events.close()
        if hasattr(ex, "close"):
            ex.close()
