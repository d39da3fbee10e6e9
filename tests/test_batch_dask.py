"""Folder batches on a Dask cluster (a LocalCluster of two worker processes): a worker killed
mid-batch loses no file, and workers that cannot run the batch are named before anything runs."""
import json
import os
import signal
import threading
import time

import pytest

pytest.importorskip("distributed")
from distributed import Client, LocalCluster, get_worker  # noqa: E402

from framemend import clean_folder  # noqa: E402
from framemend.batch import BatchError  # noqa: E402
from framemend.batch import cluster as batch_cluster  # noqa: E402
from framemend.batch import run as batch_run  # noqa: E402
from framemend.batch.worker import clean_job  # noqa: E402
from test_batch import assert_like_single_file, leftovers, make_depths, make_tree  # noqa: E402


def slow_clean(job, settings, device=None, progress=None):
    """The real task, a second slower, so that a worker can be killed while files are running."""
    time.sleep(1.0)
    return clean_job(job, settings, device, progress)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as c:
        yield c


def test_a_worker_killed_mid_batch_loses_no_file(cluster, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    names = [f"clip{i}.mp4" for i in range(6)]
    make_tree(src, names)
    killed = {}

    def kill_one_worker_when_a_file_is_done():
        with Client(cluster.scheduler_address) as client:
            pids = client.run(os.getpid)
            manifest = out / ".framemend-batch.json"
            deadline = time.time() + 120
            while time.time() < deadline:
                if manifest.exists():
                    states = [r["state"] for r in json.loads(manifest.read_text())["files"].values()]
                    if states.count("done") >= 1:
                        break
                time.sleep(0.05)
            killed["done"] = states.count("done")
            os.kill(sorted(pids.values())[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one_worker_when_a_file_is_done)
    killer.start()
    s = clean_folder(src, out, "denoise", executor="dask", scheduler=cluster.scheduler_address,
                     task=slow_clean)
    killer.join()
    assert 1 <= killed["done"] < len(names), killed
    assert s.exit_code == 0 and s.count("new") == len(names), [(f.input, f.note) for f in s.failed]
    assert "Dask" in s.where
    for name in names:
        assert_like_single_file(src / name, out / name, tmp_path, "denoise")
    assert leftovers(out) == []
    with Client(cluster.scheduler_address) as client:
        assert len(client.scheduler_info()["workers"]) == 2  # the nanny restarted the killed one


def test_workers_that_cannot_run_the_batch_are_named_up_front(cluster, tmp_path, monkeypatch):
    src = tmp_path / "src"
    make_tree(src, ["a.mp4"])
    monkeypatch.setattr(batch_cluster, "__version__", "0.0.0")
    with pytest.raises(BatchError, match="it has framemend .*, this client 0.0.0"):
        clean_folder(src, tmp_path / "out", "denoise", executor="dask",
                     scheduler=cluster.scheduler_address)
    assert not (tmp_path / "out" / "a.mp4").exists()


def hanging_clean(job, settings, device=None, progress=None):
    """The real task, except that ``hang*`` files never finish."""
    if job.rel.startswith("hang"):
        time.sleep(600)
    return clean_job(job, settings, device, progress)


def test_a_hanging_file_times_out_alone(cluster, tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    names = ["hang.mp4", "ok0.mp4", "ok1.mp4"]
    make_tree(src, names)
    monkeypatch.setattr(batch_run, "TIMEOUT_START", 10.0)
    monkeypatch.setattr(batch_run, "COMPILE_ALLOWANCE", 0.0)  # hang.mp4 is a worker's first
    s = clean_folder(src, out, "denoise", executor="dask", scheduler=cluster.scheduler_address,
                     task=hanging_clean)
    assert [(f.input, f.note.split(" (")[0]) for f in s.failed] == [("hang.mp4", "timed out after 10 s")]
    for name in names[1:]:
        assert_like_single_file(src / name, out / name, tmp_path, "denoise")
    with Client(cluster.scheduler_address) as client:  # no worker runs the timed-out task again
        running = client.run(lambda dask_worker: list(dask_worker.active_threads.values()))
        assert not any(running.values()), running


def test_a_workers_first_file_of_each_depth_gets_the_compile_allowance(cluster, tmp_path,
                                                                      monkeypatch):
    """Each worker process's first file of a depth (8 bits, more) is given
    :data:`~framemend.batch.run.COMPILE_ALLOWANCE`; only the 10-bit files are checked, as the
    cluster's workers have run 8-bit files of the tests before."""
    given = []
    timeout = batch_run.file_timeout
    monkeypatch.setattr(batch_run, "file_timeout", lambda job, per, first: (
        given.append((job.rel, first)) or timeout(job, per, first)))
    make_depths(tmp_path / "in")
    s = clean_folder(tmp_path / "in", tmp_path / "out", "identity", executor="dask",
                     scheduler=cluster.scheduler_address)
    assert s.exit_code == 0
    worker = {f.input: f.worker for f in s.files}
    deep = [(worker[rel], first) for rel, first in given if "10" in rel]
    for w in set(w for w, _ in deep):  # a worker's first 10-bit file only
        assert [first for v, first in deep if v == w] == [True] + [False] * (
            sum(v == w for v, _ in deep) - 1), given


def clean_among_foreign_events(job, settings, device=None, progress=None):
    """The real task, after sending the events that a task of an earlier batch on the same
    cluster, or one Dask recomputes after its result was taken, sends while this batch runs."""
    w = get_worker()
    w.log_event(batch_cluster.TOPIC, {"key": "framemend-0ld-0", "kind": "started",
                                      "worker": w.address})
    w.log_event(batch_cluster.TOPIC, {"key": "framemend-0ld-0", "kind": "progress", "frames": 1})
    return clean_job(job, settings, device, progress)


def test_events_of_other_tasks_are_ignored(cluster, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    names = ["a.mp4", "b.mp4"]
    make_tree(src, names)
    s = clean_folder(src, out, "denoise", executor="dask", scheduler=cluster.scheduler_address,
                     task=clean_among_foreign_events)
    assert s.exit_code == 0 and s.count("new") == len(names), [(f.input, f.note) for f in s.failed]
    for name in names:
        assert_like_single_file(src / name, out / name, tmp_path, "denoise")
