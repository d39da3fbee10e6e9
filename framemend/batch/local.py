"""Worker processes on this machine: started once, fed one file at a time, replaced when they die.

Each worker is a ``spawn``ed process that sizes its threads, imports the pipeline and the
chain's filters once, then cleans the files it is sent, reporting progress (frames decoded) and
a result over its pipe. The coordinator waits on every pipe and every process at once, so:

- a worker that dies (segfault, out-of-memory kill) fails only the file it held; a fresh
  worker takes its place;
- a file that runs past its timeout gets its worker killed (SIGKILL) and replaced;
- the workers die with the coordinator, however it dies (Linux ``PR_SET_PDEATHSIG``;
  elsewhere a thread watching the parent), so a killed batch leaves no process writing;
- on SIGINT/SIGTERM the coordinator sends each worker SIGTERM, which interrupts its file:
  the writer removes its temporary file and nothing is left under the output's name.

Workers ignore SIGINT themselves (a Ctrl-C reaches the whole process group): the coordinator
decides what stops.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import wait

from ..interrupts import raising
from .errors import BatchError
from .worker import clean_job, configure_threads, preload

PROGRESS_INTERVAL = 0.25  # seconds between a worker's progress messages
STOP_GRACE = 10.0         # seconds a stopping worker gets to remove its temporary file
START_FAILURES = 3        # workers dying before they are ready, in a row, before giving up


def _die_with_parent(parent: int) -> None:
    """End this process when the coordinator ends, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    else:
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _serve(conn, parent: int, threads: int, device: str | None, settings: dict, task) -> None:
    """A worker's life: set up once, then one file per message until told to stop (None)."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, raising(KeyboardInterrupt))  # not lost in numba's compiler
    lock = threading.Lock()

    def send(*msg):
        with lock:
            conn.send(msg)

    try:
        configure_threads(threads)
        preload(settings["chain"])
        send("ready", None, None)
        while (job := conn.recv()) is not None:
            last = [0.0]

            def progress(frames: int) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_INTERVAL:
                    last[0] = now
                    send("progress", job.rel, frames)

            send("result", job.rel, task(job, settings, device, progress))
    except KeyboardInterrupt:  # SIGTERM: the file is abandoned
        _exit_now()
    except (EOFError, BrokenPipeError):
        return


def _exit_now() -> None:
    """End a worker whose file was interrupted as the CLI ends (``cli.run``), without tearing
    the interpreter down: that run's decoder and encoder are left for the OS
    (``pipeline._LEFT_FOR_EXIT``), and the teardown would free them while their threads, and
    OpenCV's and numba's pools, may still run ("terminate called without an active exception"
    from a batch's Ctrl-C)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"the worker process was killed by {signal.Signals(-exitcode).name}"
    return f"the worker process died (exit code {exitcode})"


class _Worker:
    def __init__(self, ctx, index: int, device: str | None, threads: int, settings: dict, task):
        self.index, self.device = index, device
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, name=f"framemend-worker-{index}", daemon=True,
                                args=(child, os.getpid(), threads, device, settings, task))
        self.proc.start()
        child.close()
        self.ready = False
        self.job = None
        self.deadline = self.allowed = 0.0
        # the depths (Job.deep) of the files it has run: a file of another may still compile
        self.depths: set[bool] = set()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


class LocalExecutor:
    """``workers`` processes with ``threads`` compute threads each; worker ``i`` runs on
    ``devices[i % len(devices)]`` (``[None]``: the default device). ``task(job, settings,
    device, progress)`` cleans one file (:func:`~framemend.batch.worker.clean_job`)."""

    def __init__(self, workers: int, threads: int, devices: list[str | None] = (None,),
                 task=clean_job):
        self.workers, self.threads, self.devices, self.task = workers, threads, list(devices), task

    def describe(self) -> str:
        return f"{self.workers} local worker(s) x {self.threads} thread(s)"

    def run(self, jobs: list, settings: dict, timeout_of, events) -> None:
        """Clean ``jobs``, each killed after ``timeout_of(job, first)`` seconds (``first``: its
        worker's first file of its depth); ``events.started(job, where)``,
        ``events.progress(job, frames)`` and ``events.finished(job, result)`` are called from
        this thread as things happen."""
        ctx = mp.get_context("spawn")
        pending = deque(jobs)

        def start(index: int) -> _Worker:
            return _Worker(ctx, index, self.devices[index % len(self.devices)], self.threads,
                           settings, self.task)

        workers = [start(i) for i in range(min(self.workers, len(jobs)))]
        failed_starts = 0
        interrupted = True
        try:
            while pending or any(w.job for w in workers):
                for w in workers:
                    if w.ready and w.job is None and pending:
                        w.job = pending.popleft()
                        w.allowed = timeout_of(w.job, w.job.deep not in w.depths)
                        w.deadline = time.monotonic() + w.allowed
                        events.started(w.job, f"worker {w.index}")
                        try:
                            w.conn.send(w.job)
                        except OSError:
                            pass  # it just died: its sentinel says so below
                busy = [w.deadline for w in workers if w.job]
                timeout = min(1.0, max(0.0, min(busy) - time.monotonic())) if busy else 1.0
                ready = set(wait([w.conn for w in workers] + [w.proc.sentinel for w in workers],
                                 timeout))
                for w in list(workers):
                    why = None
                    if w.conn in ready or w.proc.sentinel in ready:
                        if self._drain(w, events):
                            continue
                        w.proc.join(5)
                        why = _death(w.proc.exitcode)
                        if not w.ready:
                            failed_starts += 1
                            if failed_starts >= START_FAILURES:
                                raise BatchError(f"worker processes die at start: {why}")
                    elif w.job and time.monotonic() > w.deadline:
                        why = f"timed out after {w.allowed:.0f} s (the worker was killed)"
                    else:
                        continue
                    w.kill()
                    if w.job:
                        events.finished(w.job, {"ok": False, "reason": why, "retry": True})
                    workers.remove(w)
                    if pending:
                        workers.append(start(w.index))
            interrupted = False
        finally:
            self._stop(workers, interrupted)

    @staticmethod
    def _drain(w: _Worker, events) -> bool:
        """Handle every message waiting on ``w``'s pipe; False when the worker is gone."""
        try:
            while w.conn.poll():
                kind, _, payload = w.conn.recv()
                if kind == "ready":
                    w.ready = True
                elif kind == "progress" and w.job:
                    events.progress(w.job, payload)
                elif kind == "result":
                    job, w.job = w.job, None
                    w.depths.add(job.deep)
                    events.finished(job, payload)
        except (EOFError, OSError):
            return False
        return w.proc.is_alive()

    @staticmethod
    def _stop(workers: list[_Worker], interrupted: bool) -> None:
        """Idle workers are told to exit; on an interruption busy ones get SIGTERM (their file
        is abandoned and its temporary output removed); any left after the grace period are
        killed."""
        for w in workers:
            try:
                if w.job is None or not interrupted:
                    w.conn.send(None)
                elif w.proc.is_alive():
                    os.kill(w.proc.pid, signal.SIGTERM)
            except (OSError, BrokenPipeError):
                pass
        end = time.monotonic() + STOP_GRACE
        for w in workers:
            w.proc.join(max(0.0, end - time.monotonic()))
            w.kill()
