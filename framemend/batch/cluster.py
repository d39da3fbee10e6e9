"""Files submitted to a Dask distributed cluster, one task per file.

Every worker needs framemend installed (the same version as here) and the input and output
folders under the same paths (a shared file system): :meth:`DaskExecutor.connect` checks both
on every worker before anything runs and names the workers that fail. A worker plugin sizes
each worker's compute threads to its share of its host's cores and imports the chain's filters
once per worker. Tasks report their start and progress as Dask events (topic
``framemend-batch``), which give the progress bar and the per-file timeouts: a file past its
timeout is cancelled and its worker restarted by its nanny. A worker that dies mid-file is
Dask's to handle: the scheduler runs the task again elsewhere, up to its ``allowed-failures``
setting (3 by default), after which the file fails with ``KilledWorker``.
"""
from __future__ import annotations

import os
import queue
import time
import uuid

from distributed import CancelledError, Client, KilledWorker, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from .. import __version__
from .errors import BatchError
from .worker import clean_job, configure_threads, preload

TOPIC = "framemend-batch"
CANCEL_WAIT = 10.0  # seconds a timed-out task is given to leave the scheduler before its restart
PROGRESS_INTERVAL = 0.5


def _check_worker(in_dir: str, out_dir: str, version: str) -> str:
    """On a worker: what stops it from running the batch ("" when nothing does)."""
    import framemend

    problems = []
    if framemend.__version__ != version:
        problems.append(f"it has framemend {framemend.__version__}, this client {version}")
    if not os.path.isdir(in_dir):
        problems.append(f"it cannot see '{in_dir}'")
    if not os.access(out_dir, os.W_OK):
        problems.append(f"it cannot write into '{out_dir}'")
    return "; ".join(problems)


class _Setup(WorkerPlugin):
    """Dask worker plugin: threads sized to the worker's share of its host, filters imported."""

    def __init__(self, threads_by_host: dict[str, int], chain: str):
        self.threads_by_host, self.chain = threads_by_host, chain

    def setup(self, worker):
        host = worker.address.rsplit(":", 1)[0]
        default = max(1, (os.cpu_count() or 1) // worker.state.nthreads)
        configure_threads(self.threads_by_host.get(host, default))
        preload(self.chain)


_DEPTHS: set[bool] = set()  # in a Dask worker's process: the depths (Job.deep) of its files


def _remote(job, settings: dict, task) -> dict:
    """The Dask task: announce the file (and whether it is its worker process's first of its
    depth, whose time includes compiling the kernels), clean it with progress events."""
    w = get_worker()
    key = w.get_current_task()
    first = job.deep not in _DEPTHS
    _DEPTHS.add(job.deep)
    w.log_event(TOPIC, {"key": key, "kind": "started", "worker": w.address, "first": first})
    last = [0.0]

    def progress(frames: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            w.log_event(TOPIC, {"key": key, "kind": "progress", "frames": frames})

    return task(job, settings, None, progress)


def _stop(client, future, worker: str) -> None:
    """Cancel ``future`` and restart the worker whose thread still runs it, in that order: the
    cancel travels on the client's batched stream, so a restart sent at once reaches the
    scheduler first, which then runs the lost task again on another worker."""
    future.cancel()
    deadline = time.monotonic() + CANCEL_WAIT
    while (future.key in client.processing([worker]).get(worker, ())
           and time.monotonic() < deadline):
        time.sleep(0.05)
    client.restart_workers([worker], raise_for_error=False)


class DaskExecutor:
    """Run files on the cluster whose scheduler is at ``scheduler`` (``tcp://HOST:8786``)."""

    def __init__(self, scheduler: str, task=clean_job):
        self.scheduler, self.task = scheduler, task
        self.client = None

    def describe(self) -> str:
        return f"Dask scheduler {self.scheduler}"

    def connect(self, in_dir: str, out_dir: str) -> None:
        """Reach the scheduler and check every worker up front; :class:`BatchError` if not."""
        try:
            self.client = Client(self.scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise BatchError(f"cannot reach the Dask scheduler at {self.scheduler}: {e}") from None
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        if not info:
            self.close()
            raise BatchError(f"the Dask scheduler at {self.scheduler} has no workers")
        try:
            problems = self.client.run(_check_worker, in_dir, out_dir, __version__)
        except Exception as e:  # noqa: BLE001 - what a worker raises depends on its install
            self.close()
            raise BatchError("the Dask workers cannot run framemend (install it on every "
                               f"worker): {type(e).__name__}: {e}") from None
        bad = {addr: p for addr, p in problems.items() if p}
        if bad:
            self.close()
            raise BatchError("Dask workers cannot run this batch (they need framemend and the "
                               "folders under the same paths): "
                               + "; ".join(f"{a}: {p}" for a, p in sorted(bad.items())))

    def threads_by_host(self) -> dict[str, int]:
        """Each host's cores divided among the task threads of all its workers."""
        cores = self.client.run(os.cpu_count)
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        slots: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for addr, w in info.items():
            host = addr.rsplit(":", 1)[0]
            slots[host] = slots.get(host, 0) + w["nthreads"]
            host_cores[host] = cores.get(addr) or 1
        return {h: max(1, host_cores[h] // slots[h]) for h in slots}

    def run(self, jobs: list, settings: dict, timeout_of, events) -> None:
        """As :meth:`LocalExecutor.run`; jobs are submitted at once, the scheduler spreads them."""
        client = self.client
        client.register_plugin(_Setup(self.threads_by_host(), settings["chain"]),
                               name="framemend-batch")
        inbox: queue.Queue = queue.Queue()
        client.subscribe_topic(TOPIC, lambda event: inbox.put(event[1]))
        token = uuid.uuid4().hex[:8]
        futures: dict = {}  # task key -> (future, job)
        running: dict = {}  # task key -> (deadline, seconds allowed, worker), once started
        for i, job in enumerate(jobs):
            f = client.submit(_remote, job, settings, self.task, key=f"framemend-{token}-{i}",
                              pure=False)
            futures[f.key] = (f, job)
            f.add_done_callback(lambda f: inbox.put({"kind": "done", "key": f.key}))
        try:
            while futures:
                try:
                    msg = inbox.get(timeout=1.0)
                except queue.Empty:
                    msg = None
                # events are matched by task key: a batch before this one on the same cluster,
                # or a task Dask recomputes after its result was taken, sends events too
                key = msg["key"] if msg else None
                if key in futures and msg["kind"] != "done":
                    f, job = futures[key]
                    if msg["kind"] == "started":
                        allowed = timeout_of(job, msg["first"])
                        running[key] = (time.monotonic() + allowed, allowed, msg["worker"])
                        events.started(job, msg["worker"])
                    else:
                        events.progress(job, msg["frames"])
                elif key in futures:
                    f, job = futures.pop(key)
                    running.pop(key, None)
                    try:
                        result = f.result()
                    except KilledWorker:
                        result = {"ok": False, "retry": True,
                                  "reason": "its Dask worker died each time it was tried"}
                    except CancelledError:
                        continue
                    except Exception as e:  # noqa: BLE001 - a task's own failure, this file only
                        result = {"ok": False, "retry": True, "reason": f"{type(e).__name__}: {e}"}
                    events.finished(job, result)
                for key, (deadline, allowed, worker) in list(running.items()):
                    if time.monotonic() > deadline:
                        f, job = futures.pop(key)
                        del running[key]
                        _stop(client, f, worker)
                        events.finished(job, {"ok": False, "retry": True, "reason":
                                              f"timed out after {allowed:.0f} s "
                                              "(its Dask worker was restarted)"})
        finally:
            client.cancel([f for f, _ in futures.values()])
            client.unsubscribe_topic(TOPIC)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
