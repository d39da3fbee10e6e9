"""Folder batches on local worker processes: bad files isolated, resume from the manifest,
a changed input redone alone, a SIGKILLed batch finished by the next run, crashing and hanging
workers failing only their file."""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from framemend import clean_folder
from framemend.batch import BatchError
from framemend.batch import run as batch_run
from framemend.pipeline import usable_cores
from framemend.batch.worker import clean_job
from framemend.cli import main
from framemend.cli_score import score
from fuzz_corpus import write_audio_only
from framemend.metrics import psnr
from framemend.pipeline import clean_file
from framemend.video import read_video, write_video
from media import make_video, moving_frames

CHAIN = "deflicker,denoise"
CLI = [sys.executable, "-m", "framemend.cli"]
GOOD = ["a0.mp4", "a1.mp4", "b.mkv", "sub/c0.mp4", "sub/deeper/c1.mov"]
BAD = {"notes.mp4": "not a video", "cut.mkv": "frames before it", "sub/sound.mkv": "no video stream"}


def make_tree(root, names=GOOD, frames=8, seed=0) -> None:
    """Good clips (64x48, gradients with a moving square, flicker-free) and the three bad files."""
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make_video(str(path), moving_frames(frames, 64, 48, seed=seed + i), 24)


def make_bad(root) -> None:
    (root / "notes.mp4").write_text("a text file named like a video")
    full = str(root / "full.tmp.mkv")
    write_video(full, moving_frames(40), 24, lossless=True)
    data = open(full, "rb").read()
    os.remove(full)
    (root / "cut.mkv").write_bytes(data[: len(data) // 2])
    write_audio_only(str(root / "sub" / "sound.mkv"))


def leftovers(root) -> list[str]:
    """Temporary files anywhere under ``root`` (the writer's ``.part`` and the manifest's ``.tmp``)."""
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files
            if ".part" in f or f.endswith(".tmp")]


def assert_like_single_file(src, dst, tmp_path, chain=CHAIN, lossless=False) -> None:
    """The batch's output has the input's frame count and the content a single-file clean gives
    (the same chain and codec; worker thread counts may change rounding, not the picture)."""
    ref = str(tmp_path / ("ref" + os.path.splitext(str(dst))[1]))
    clean_file(str(src), ref, chain, overwrite=True, lossless=lossless)
    got, want = read_video(str(dst))[0], read_video(ref)[0]
    assert got.shape == want.shape == read_video(str(src))[0].shape
    assert psnr(got, want) > 45


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    make_tree(root)
    make_bad(root)
    return root


def test_bad_files_listed_rerun_does_nothing_changed_input_redone(tree, tmp_path):
    out = tmp_path / "out"
    s = clean_folder(tree, out, CHAIN, recursive=True, jobs=2, report=str(tmp_path / "r.json"))
    assert s.exit_code == 1 and s.count("new") == len(GOOD)
    assert {f.input: f.note for f in s.failed}.keys() == BAD.keys()
    for f in s.failed:
        assert BAD[f.input] in f.note, f.note
    for name in GOOD:
        assert_like_single_file(tree / name, out / name, tmp_path)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 1 and report["counts"]["failed"] == 3
    assert {f["input"] for f in report["files"] if f["status"] == "failed"} == BAD.keys()
    stamps = {n: os.stat(out / n).st_mtime_ns for n in GOOD}

    again = clean_folder(tree, out, CHAIN, recursive=True, jobs=2, report=str(tmp_path / "r.csv"))
    assert again.exit_code == 1 and again.count("done before") == len(GOOD) and again.where == ""
    assert all("failed before" in f.note for f in again.failed)
    assert (tmp_path / "r.csv").read_text().count("failed before") == 3
    assert {n: os.stat(out / n).st_mtime_ns for n in GOOD} == stamps

    for name in BAD:
        os.remove(tree / name)
    changed = GOOD[3]
    make_video(str(tree / changed), moving_frames(8, 64, 48, seed=77), 24)
    plan = clean_folder(tree, out, CHAIN, recursive=True, dry_run=True)
    assert [(f.input, f.status, f.note) for f in plan.files if f.status != "done before"] == \
        [(changed, "redone", "the input changed")]
    last = clean_folder(tree, out, CHAIN, recursive=True, jobs=2, score=True)
    assert last.exit_code == 0 and last.count("redone") == 1 and last.count("done before") == len(GOOD) - 1
    scores = next(f.scores for f in last.files if f.input == changed)
    for side, path in (("input", tree / changed), ("output", out / changed)):
        want = score(read_video(str(path))[0])[0]
        assert scores[side] == pytest.approx(want, rel=1e-6)
    assert_like_single_file(tree / changed, out / changed, tmp_path)
    assert {n: os.stat(out / n).st_mtime_ns for n in GOOD if n != changed} == \
        {n: t for n, t in stamps.items() if n != changed}
    assert clean_folder(tree, out, "denoise", recursive=True, dry_run=True).count("redone") == len(GOOD)
    assert leftovers(out) == []


def test_a_workers_first_file_is_not_timed_with_the_compiling(tmp_path, monkeypatch):
    """With numba's cache empty (a first run before ``framemend warmup``; a fresh worktree) a
    worker compiled the filters' kernels inside its first file's time: 41-42 s for two 8-frame
    64x48 files on a loaded machine, where a small file gets 60 s; the file was killed as
    "timed out" (``test_bad_files_listed...`` failed once so). A worker's first file is given
    :data:`~framemend.batch.run.COMPILE_ALLOWANCE` more; here 5 s a file otherwise, which the
    compiling (about 20 s) overruns and the second file, compiled for, does not."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))  # the worker's cache: empty
    monkeypatch.setattr(batch_run, "TIMEOUT_START", 5.0)
    make_tree(tmp_path / "in", GOOD[:2])
    s = clean_folder(tmp_path / "in", tmp_path / "out", CHAIN, jobs=1)
    assert s.exit_code == 0 and s.count("new") == 2, [f.note for f in s.files]


def make_depths(root) -> list[str]:
    """8-bit and 10-bit files in turn, named in the order a batch takes them."""
    names = ["a8.mp4", "b10.mkv", "c8.mp4", "d10.mkv"]
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        make_video(str(root / name), moving_frames(4, 32, 24), 24,
                   pix_fmt="yuv420p10le" if "10" in name else "yuv420p")
    return names


def test_a_workers_first_file_of_each_depth_gets_the_compile_allowance(tmp_path, monkeypatch):
    """numba compiles the kernels for uint16 pixels apart: a 10-bit file after 8-bit ones
    compiled 21 s more (the default chain, load 7) with no allowance, as a file after the
    first. Each worker's first file of each depth gets it now."""
    given = []
    timeout = batch_run.file_timeout
    monkeypatch.setattr(batch_run, "file_timeout", lambda job, per, first: (
        given.append((job.rel, first)) or timeout(job, per, first)))
    names = make_depths(tmp_path / "in")
    s = clean_folder(tmp_path / "in", tmp_path / "out", "identity", jobs=1)
    assert s.exit_code == 0
    assert given == list(zip(names, [True, True, False, False]))


def test_sigkill_half_way_then_rerun_finishes_only_the_rest(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    names = [f"clip{i}.mp4" for i in range(8)]
    make_tree(src, names, frames=24)
    manifest = out / ".framemend-batch.json"
    proc = subprocess.Popen(CLI + ["clean", str(src), "-o", str(out), "-f", "denoise", "--jobs", "1",
                                   "-q"], stderr=subprocess.PIPE)
    done, partial, deadline, workers = 0, [], time.time() + 120, []
    while not (done >= 2 and partial) and time.time() < deadline and proc.poll() is None:
        workers = workers or psutil.Process(proc.pid).children(recursive=True)
        if manifest.exists():
            states = [r["state"] for r in json.loads(manifest.read_text())["files"].values()]
            done = states.count("done")
        partial = leftovers(out)  # a file being written
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert 2 <= done < len(names) and partial, "the batch was not killed half-way through a file"
    psutil.wait_procs(workers, timeout=10)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    for name in os.listdir(out):  # whatever is under a final name is complete
        if name.endswith(".mp4") and not name.startswith("."):
            assert read_video(str(out / name))[0].shape[0] == 24

    rerun = subprocess.run(CLI + ["clean", str(src), "-o", str(out), "-f", "denoise", "--jobs", "2"],
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    finished = json.loads(manifest.read_text())["files"]
    assert all(r["state"] == "done" for r in finished.values()) and len(finished) == len(names)
    summary = rerun.stderr.strip().splitlines()[-1]
    before = int(summary.split(" done before")[0].rsplit(" ", 1)[1])
    assert before >= done and f"{len(names) - before} new" in summary, summary
    assert leftovers(tmp_path) == []
    for name in names:
        assert_like_single_file(src / name, out / name, tmp_path, "denoise")


def faulty_clean(job, settings, device=None, progress=None):
    """A task whose worker crashes on ``crash*`` files and hangs on ``hang*`` files."""
    if job.rel.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if job.rel.startswith("hang"):
        time.sleep(600)
    return clean_job(job, settings, device, progress)


def test_crashing_and_hanging_workers_fail_only_their_file(tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    # lossless output: framemend's H.264 files of these 64x48 clips differ from run to run
    # (46-100 dB between two runs of one process: identical YUV frames into x264, not yet
    # explained), as much as two chains' outputs differ (43 dB); FFV1's do not
    names = ["crash.mkv", "hang.mkv", "ok0.mkv", "ok1.mkv", "ok2.mkv"]
    make_tree(src, names)
    monkeypatch.setattr(batch_run, "TIMEOUT_START", 15.0)
    monkeypatch.setattr(batch_run, "COMPILE_ALLOWANCE", 0.0)  # hang.mkv is a worker's first
    t0 = time.monotonic()
    s = clean_folder(src, out, "denoise", jobs=2, task=faulty_clean, lossless=True)
    reasons = {f.input: f.note for f in s.failed}
    assert reasons.keys() == {"crash.mkv", "hang.mkv"}, reasons
    assert "SIGSEGV" in reasons["crash.mkv"] and "timed out" in reasons["hang.mkv"]
    assert time.monotonic() - t0 < 120
    for name in names[2:]:
        assert_like_single_file(src / name, out / name, tmp_path, "denoise", lossless=True)
    assert leftovers(out) == []
    retried = clean_folder(src, out, "denoise", jobs=2, lossless=True)  # crashes and timeouts are tried again
    assert retried.exit_code == 0 and retried.count("new") == 2 and retried.count("done before") == 3


def torn_down_task(job, settings, device=None, progress=None):
    """A task that marks its worker's interpreter teardown (an atexit handler writing
    ``job.dst``), says it started, and runs until its worker is stopped."""
    import atexit  # noqa: PLC0415

    atexit.register(lambda: open(job.dst, "w").close())
    progress(1)
    time.sleep(600)


def test_an_interrupted_worker_ends_without_tearing_its_interpreter_down(tmp_path):
    """A worker stopped mid-file (SIGTERM: the batch's Ctrl-C) returned into multiprocessing's
    normal exit, whose teardown freed the abandoned run's decoder and encoder (left for the OS,
    ``pipeline._LEFT_FOR_EXIT``) while their threads could still run; under load a worker
    printed "terminate called without an active exception". It now ends as the CLI does
    (``os._exit``): no atexit handler, no teardown."""
    import multiprocessing  # noqa: PLC0415
    import types  # noqa: PLC0415

    from framemend.batch import local  # noqa: PLC0415

    job = types.SimpleNamespace(rel="a.mp4", dst=str(tmp_path / "torn_down"))
    worker = local._Worker(multiprocessing.get_context("spawn"), 0, None, 1,
                           {"chain": "identity"}, torn_down_task)
    try:
        assert worker.conn.poll(120) and worker.conn.recv()[0] == "ready"
        worker.conn.send(job)
        assert worker.conn.poll(60) and worker.conn.recv()[0] == "progress"
        os.kill(worker.proc.pid, signal.SIGTERM)
        worker.proc.join(60)
    finally:
        worker.kill()
    assert worker.proc.exitcode == 0 and not os.path.exists(job.dst)


def test_usage_errors_and_a_busy_folder(tree, tmp_path, capsys):
    from framemend.batch import BatchError, BatchUsageError
    from framemend.batch.manifest import lock_folder

    with pytest.raises(BatchUsageError, match="is the input folder"):
        clean_folder(tree, tree, CHAIN)
    # `clean DIR -o x.mp4` made a folder named x.mp4 (a file's name was meant); one made
    # beforehand is taken
    code = main(["clean", str(tree), "-o", str(tmp_path / "x.MP4"), "-q"])
    assert code == 2 and f"output '{tmp_path / 'x.MP4'}' would be made a folder named like a " \
        "video" in capsys.readouterr().err
    assert not (tmp_path / "x.MP4").exists()
    (tmp_path / "x.MP4").mkdir()
    assert clean_folder(tree, tmp_path / "x.MP4", CHAIN, glob="a0.mp4", dry_run=True).files
    with pytest.raises(BatchUsageError, match="needs --scheduler"):
        clean_folder(tree, tmp_path / "o", CHAIN, executor="dask")
    with pytest.raises(BatchUsageError, match="no files matching"):
        clean_folder(tree, tmp_path / "o", CHAIN, glob="*.webm")
    (tmp_path / "busy").mkdir()
    held = lock_folder(str(tmp_path / "busy"))
    with pytest.raises(BatchError, match="another framemend batch"):
        clean_folder(tree, tmp_path / "busy", CHAIN)
    held.close()
    plan = clean_folder(tree, tmp_path / "o", CHAIN, glob="a*.mp4", dry_run=True)
    assert [(f.input, f.status) for f in plan.files] == [("a0.mp4", "new"), ("a1.mp4", "new")]
    assert not (tmp_path / "o").exists()
    code = main(["clean", str(tree / "a0.mp4"), "-o", str(tmp_path / "o.mp4"), "--jobs", "2"])
    assert code == 2 and "--jobs applies to folders" in capsys.readouterr().err


def test_batch_passes_on_what_each_file_run_says(tmp_path, capsys):
    """What `framemend clean FILE` warns of (here: 4:4:4 for an odd-sized RGB source,
    a 16-bit source written at 10 bits) a batch said of no file: it is said, with the file's
    name, and kept in its result, and in a CSV report's warnings column (the JSON report's
    only, before)."""
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "r.csv"
    src.mkdir()
    write_video(str(src / "odd.mkv"), moving_frames(3, 35, 21), 12, lossless=True)
    write_video(str(src / "deep.mkv"), moving_frames(3, 48, 32).astype("uint16") * 257, 12,
                lossless=True)
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "--jobs", "1", "-q",
                 "--report", str(report)]) == 0
    err = capsys.readouterr().err
    assert "framemend: warning: odd.mkv: 35x21 is odd-sized" in err
    assert "framemend: warning: deep.mkv: libx264 writes 10 bits: the 16-bit source" in err
    with open(report, newline="") as f:
        said = {row["input"]: row["warnings"].splitlines() for row in csv.DictReader(f)}
    assert said["odd.mkv"][0].startswith("35x21 is odd-sized") and len(said["odd.mkv"]) == 1
    assert said["deep.mkv"][0].startswith("libx264 writes 10 bits: the 16-bit source")


def test_a_rerun_keeps_the_report_rows_of_the_files_done_before(tmp_path, capsys):
    """A batch run again (resumed after a stop, or with files added) rewrites its report: the
    files done before had empty rows there, their frames, times, scores and warnings lost (those
    of an interrupted 1000-file ``--score`` run among them). Their rows are now the first run's,
    status ``done before``; their warnings are not said again."""
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "r.csv"
    src.mkdir()
    write_video(str(src / "odd.mkv"), moving_frames(4, 35, 21), 12, lossless=True)
    make_tree(src, ["a0.mp4"], frames=4)
    cmd = ["clean", str(src), "-o", str(out), "-f", "identity", "--jobs", "1", "-q", "--score",
           "--report", str(report)]

    def rows() -> dict:
        with open(report, newline="") as f:
            return {row["input"]: row for row in csv.DictReader(f)}

    assert main(cmd) == 0
    first = rows()
    assert "35x21 is odd-sized" in capsys.readouterr().err
    make_tree(src, ["b.mp4"], frames=4, seed=5)
    assert main(cmd) == 0
    assert "odd-sized" not in capsys.readouterr().err  # said by the run that made it
    again = rows()
    for name, row in first.items():
        assert row["status"] == "new" and row["frames"] == "4" and row["output_flicker"] != ""
        assert again[name] == row | {"status": "done before"}
    assert again["b.mp4"]["status"] == "new" and again["b.mp4"]["output_flicker"] != ""
    said = {f.input: f.warnings for f in clean_folder(str(src), str(out), "identity").files}
    assert said["odd.mkv"] == first["odd.mkv"]["warnings"].splitlines() != []


def test_a_file_where_an_output_folder_goes_fails_that_file_only(tmp_path):
    """``OUT/sub`` is a file: ``sub/c0.mp4`` cannot be written, ``a0.mp4`` still is, and the
    next run (the file moved away) does ``sub/c0.mp4`` alone."""
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, ["a0.mp4", "sub/c0.mp4"], frames=3)
    out.mkdir()
    (out / "sub").write_text("in the way")
    s = clean_folder(str(src), str(out), "identity", recursive=True, jobs=1)
    status = {f.input: (f.status, f.note) for f in s.files}
    assert status["a0.mp4"] == ("new", "")
    assert status["sub/c0.mp4"][0] == "failed" and "cannot make the folder" in status["sub/c0.mp4"][1]
    assert s.exit_code == 1 and (out / "a0.mp4").is_file()
    (out / "sub").unlink()
    again = clean_folder(str(src), str(out), "identity", recursive=True, jobs=1)
    assert [(f.input, f.status) for f in again.files] == [("a0.mp4", "done before"),
                                                        ("sub/c0.mp4", "new")]


def test_a_file_with_an_extension_no_writer_knows_is_not_redone(tmp_path):
    """With ``glob='*'``, ``notes.txt`` goes to ``notes.txt``, which no writer takes: it was
    marked for retrying ("cannot write" read as the output folder's fault) and redone on every
    run. It fails once; the next run says it failed before and tries it no more."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "notes.txt").write_text("not a video")
    first = clean_folder(str(src), str(out), "identity", glob="*", jobs=1)
    assert [(f.input, f.status) for f in first.files] == [("notes.txt", "failed")]
    assert "unknown extension '.txt'" in first.files[0].note
    again = clean_folder(str(src), str(out), "identity", glob="*", jobs=1)
    assert [(f.input, f.status) for f in again.files] == [("notes.txt", "failed")]
    assert "failed before" in again.files[0].note and again.exit_code == 1


def test_score_on_one_and_two_frame_clips(tmp_path):
    """``--score``: a one-frame clip is cleaned and said not scored (its worker died in scoring,
    so it failed as "the worker process died"); a two-frame clip's report leaves out what needs
    three frames (its NaN made the JSON report invalid JSON)."""
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "r.json"
    for name, n in (("one.mp4", 1), ("two.mp4", 2)):
        make_tree(src, [name], frames=n)
    s = clean_folder(str(src), str(out), "identity", jobs=1, score=True, report=str(report))
    files = json.loads(report.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the report"))["files"]
    one, two = files
    assert (one["status"], one["scores"]) == ("new", {}) and "not scored" in one["warnings"][0]
    assert two["status"] == "new" and "jitter" not in two["scores"]["output"]
    assert two["scores"]["output"]["flicker"] >= 0 and s.exit_code == 0


@pytest.mark.parametrize("text", ["", "[1, 2]", '{"format": 1}', "{not json"])
def test_an_unreadable_batch_record_is_one_line(tmp_path, capsys, text):
    """A damaged ``.framemend-batch.json`` (emptied, edited) is a one-line error, exit 1 (was a
    JSONDecodeError / AttributeError traceback)."""
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, ["a0.mp4"], frames=2)
    out.mkdir()
    (out / ".framemend-batch.json").write_text(text)
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the batch record" in err


def test_a_report_path_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys):
    """``--report`` in a missing folder, or naming a folder: usage error, nothing cleaned (was a
    traceback after every file was done, the summary and the exit code lost). Naming the
    batch's record: the report was written over it, and the next run knew no output."""
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, ["a0.mp4"], frames=2)
    for report, says in ((tmp_path / "no" / "r.json", "does not exist"), (tmp_path, "is a folder")):
        assert main(["clean", str(src), "-o", str(out), "-f", "identity", "--report", str(report)]) == 2
        assert says in capsys.readouterr().err
    assert not out.exists()
    out.mkdir()
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "--report",
                 str(out / ".framemend-batch.json")]) == 2
    assert "is the batch's own record" in capsys.readouterr().err and os.listdir(out) == []


def test_a_report_in_the_output_folder_a_first_run_makes_is_written(tmp_path, capsys):
    """`-o out --report out/r.csv`, out not made yet, was refused ("its folder does not
    exist") though the run makes that folder before it writes the report; now the report is
    written there beside the outputs. A dry run, which makes no folder, still refuses it."""
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, ["a0.mp4", "b.mkv"], frames=2)
    argv = ["clean", str(src), "-o", str(out), "-f", "identity", "--report", str(out / "r.csv")]
    assert main(argv + ["--dry-run"]) == 2
    assert "does not exist (a dry run makes no output folder)" in capsys.readouterr().err
    assert not out.exists()
    assert main(argv) == 0
    with open(out / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["status"] for r in rows) == ["new", "new"]
    assert (out / "a0.mp4").exists() and (out / "b.mkv").exists()


def test_a_report_that_exists_is_replaced_only_when_this_batch_wrote_it(tmp_path, capsys):
    """``--report notes.csv`` replaced the user's file without a word (every other writer
    refuses one without -y). A file no run of this batch wrote is refused before the work, one
    line, exit 1; -y replaces it; a re-run replaces its own report without -y."""
    src, out, report = tmp_path / "in", tmp_path / "out", tmp_path / "notes.csv"
    make_tree(src, ["a0.mp4"], frames=2)
    report.write_text("the user's own notes")
    cmd = ["clean", str(src), "-o", str(out), "-f", "identity", "--report", str(report)]
    assert main(cmd) == 1
    assert capsys.readouterr().err == (
        f"framemend: error: --report '{report}' exists and no run of this batch wrote it "
        "(use -y/--overwrite, or overwrite=True in Python, to replace it)\n")
    assert report.read_text() == "the user's own notes" and not out.exists()
    with pytest.raises(BatchError, match="no run of this batch wrote it"):
        clean_folder(src, out, "identity", dry_run=True, report=report)
    assert main(cmd + ["-y"]) == 0 and report.read_text().startswith("input,output,status,")
    report.write_text("stale")
    assert main(cmd) == 0 and "a0.mp4,a0.mp4,done before," in report.read_text()
    other = tmp_path / "other"  # another batch's record does not own it
    assert main(["clean", str(src), "-o", str(other), "-f", "identity", "--report",
                 str(report)]) == 1 and not other.exists()


def test_another_folders_batch_into_the_same_output_folder_replaces_nothing(tmp_path, capsys):
    """``clean day1 -o out`` then ``clean day2 -o out``, both with a ``clip_00001.mp4`` (as a
    generator numbers each session's clips): the second replaced day1's cleaned clip, "redone:
    the input changed". It fails now, the output kept, unless --overwrite; the same folder
    moved (its files unchanged) is still done."""
    out = tmp_path / "out"
    for day, seed in (("day1", 1), ("day2", 2)):
        make_tree(tmp_path / day, ["clip_00001.mp4"], frames=3, seed=seed)
    assert main(["clean", str(tmp_path / "day1"), "-o", str(out), "-f", "identity", "-q"]) == 0
    made = (out / "clip_00001.mp4").read_bytes()
    assert main(["clean", str(tmp_path / "day2"), "-o", str(out), "-f", "identity", "-q"]) == 1
    assert (f"clip_00001.mp4: output '{out / 'clip_00001.mp4'}' was made from "
            f"'{tmp_path / 'day1' / 'clip_00001.mp4'}', not from this input (use --overwrite to "
            "replace it)") in capsys.readouterr().err
    assert (out / "clip_00001.mp4").read_bytes() == made
    os.rename(tmp_path / "day1", tmp_path / "moved")
    assert clean_folder(tmp_path / "moved", out, "identity").files[0].status == "done before"
    again = clean_folder(tmp_path / "day2", out, "identity", overwrite=True)
    assert again.files[0].status == "new" and (out / "clip_00001.mp4").read_bytes() != made


def test_the_api_takes_paths_for_its_folders_and_report(tmp_path):
    """``clean_folder(Path, Path, report=Path)`` writes its CSV (was an AttributeError on
    ``Path.lower`` after the work)."""
    src = tmp_path / "in"
    make_tree(src, ["a0.mp4"], frames=2)
    report = tmp_path / "r.csv"
    clean_folder(src, tmp_path / "out", "identity", dry_run=True, report=report)
    assert report.read_text().splitlines()[1].startswith("a0.mp4,a0.mp4,new,")


def test_the_api_takes_a_presets_name_as_its_chain(tmp_path):
    """``clean_folder(..., chain="smooth")`` (the CLI's ``--preset smooth``) was "unknown filter
    'smooth'"; a run with the preset's own chain after it is "done before"."""
    from framemend.presets import PRESETS

    src = tmp_path / "in"
    make_tree(src, ["a0.mp4"], frames=2)
    clean_folder(src, tmp_path / "out", "identity,identity")
    assert clean_folder(src, tmp_path / "out", ["identity", "identity"],
                        dry_run=True).count("done before") == 1
    plan = clean_folder(src, tmp_path / "o2", "smooth", dry_run=True)
    assert plan.count("new") == 1 and PRESETS["smooth"].startswith("deboil")


@pytest.mark.parametrize("timeout", ["nan", "-5", "0"])
def test_a_timeout_that_is_not_seconds_above_0_is_a_usage_error(tmp_path, capsys, timeout):
    """``--timeout nan`` never timed a file out and ``-5`` could time every file out at once;
    both ran without a word."""
    src = tmp_path / "in"
    make_tree(src, ["a0.mp4"], frames=2)
    assert main(["clean", str(src), "-o", str(tmp_path / "o"), "--timeout", timeout, "--dry-run"]) == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.parametrize("option", [dict(jobs=0), dict(jobs=-1), dict(jobs=2.5),
                                    dict(threads=0)])
def test_the_api_refuses_jobs_below_1(tmp_path, option):
    """``clean_folder(jobs=-1)`` started no worker and waited for one for ever (``jobs=0`` took
    one per core where the CLI refuses ``--jobs 0``); ``jobs=2.5`` met range()'s TypeError,
    ``threads=0`` was taken as the default without a word."""
    src = tmp_path / "in"
    make_tree(src, ["a0.mp4"], frames=2)
    with pytest.raises(batch_run.BatchUsageError, match="needs a whole number, at least 1"):
        clean_folder(str(src), str(tmp_path / "o"), "identity", **option)


def test_ctrl_c_with_q_says_so_and_a_rerun_finishes_the_rest(tmp_path):
    """SIGINT to a ``-q`` batch half-way: exit 130 with one line saying it was interrupted and
    what is left (``-q`` made it silent, where a single file's Ctrl-C is said), no temporary
    file, and the next run cleans only the files not finished."""
    src, out = tmp_path / "src", tmp_path / "out"
    names = [f"clip{i}.mp4" for i in range(6)]
    make_tree(src, names, frames=24)
    manifest = out / ".framemend-batch.json"
    proc = subprocess.Popen(CLI + ["clean", str(src), "-o", str(out), "-f", "denoise", "--jobs", "1",
                                   "-q"], stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    done, deadline = 0, time.time() + 120
    while done < 1 and time.time() < deadline and proc.poll() is None:
        if manifest.exists():
            done = [r["state"] for r in json.loads(manifest.read_text())["files"].values()].count("done")
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    line = err.decode().strip()
    assert "\n" not in line and "interrupted with" in line and "run again" in line, line
    assert leftovers(out) == []
    finished = [r for r in json.loads(manifest.read_text())["files"].values() if r["state"] == "done"]
    assert 1 <= len(finished) < len(names)
    again = clean_folder(str(src), str(out), "denoise", jobs=1)
    assert again.count("done before") == len(finished)
    assert again.count("new") == len(names) - len(finished) and again.exit_code == 0


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nothing may be written in: its mode 0o555, and where that does not bind (root)
    the immutable attribute; skipped where neither does."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if os.access(folder, os.W_OK):
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("no way to make a folder read-only here")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_read_only_output_folder_is_a_usage_error(tmp_path, read_only_folder, capsys):
    """A traceback (PermissionError from making the folder, or from its lock file)."""
    src = tmp_path / "in"
    make_tree(src, names=["a.mp4"], frames=2)
    for out, says in [(read_only_folder, f"output folder '{read_only_folder}' is not writable"),
                      (read_only_folder / "new", f"output folder '{read_only_folder / 'new'}' "
                                                 f"cannot be made: '{read_only_folder}' is not "
                                                 f"writable")]:
        assert main(["clean", str(src), "-o", str(out), "-f", "identity", "-q"]) == 2
        assert says in capsys.readouterr().err


def test_a_batch_record_that_cannot_be_written_stops_the_batch_in_one_line(tmp_path, capsys,
                                                                           monkeypatch):
    """A full output disk (tried on a 64 KiB tmpfs) made the record's save an OSError
    traceback out of the coordinator. The batch now stops with one line, exit 1, nothing
    partial left; the next run, with room, cleans what was not recorded done."""
    import errno

    from framemend.batch import manifest

    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, names=["a.mp4", "b.mp4"], frames=2)
    saves = []
    real = manifest.atomic_write

    def full_after_one(path, text):
        saves.append(path)
        if len(saves) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, text)

    monkeypatch.setattr(manifest, "atomic_write", full_after_one)
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "-q", "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert err == (f"framemend: error: cannot write the batch record '{out}/.framemend-batch.json' "
                   "(No space left on device): the batch stopped; run it again once it can be "
                   "written\n")
    assert leftovers(out) == []
    monkeypatch.setattr(manifest, "atomic_write", real)
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a.mp4", "b.mp4"]


def test_threads_caps_each_workers_threads(tmp_path, monkeypatch):
    """``--threads N`` with a folder was dropped: each worker took the cores shared out (all of
    them with ``--jobs 1``)."""
    import framemend.batch.local
    import framemend.pipeline

    seen = []

    class Recording:
        def __init__(self, workers, threads, devices, task):
            seen.append(threads)

        def describe(self):
            return "recording"

        def run(self, jobs, settings, timeout_of, events):
            pass

    monkeypatch.setattr(framemend.batch.local, "LocalExecutor", Recording)
    monkeypatch.setattr(framemend.pipeline, "limit_threads", lambda n: None)  # this process's
    src = tmp_path / "in"
    make_tree(src, names=["a.mp4"], frames=2)
    main(["clean", str(src), "-o", str(tmp_path / "out"), "-f", "identity", "-q", "--jobs", "1",
          "--threads", "1"])
    assert seen == [1]
    assert batch_run.local_layout(1, "cpu")[1] == usable_cores()  # uncapped: all of them


def test_a_device_the_workers_cannot_have_is_refused_before_the_work(tmp_path, capsys):
    """``--device cuda`` where torch sees no such GPU failed every file "for good" (as if the
    inputs were at fault), so a re-run with ``--device cpu`` skipped them all as "failed
    before"; a worker that meets it (a Dask worker without a GPU) now fails its file for a
    retry."""
    from framemend.batch.jobs import Job
    from framemend.batch.worker import clean_job

    src = tmp_path / "in"
    make_tree(src, ["a0.mp4"], frames=2)
    with pytest.raises(batch_run.BatchUsageError, match="--device cuda:99: "):
        clean_folder(src, tmp_path / "out", "identity", device="cuda:99")
    assert main(["clean", str(src), "-o", str(tmp_path / "out"), "-f", "identity",
                 "--device", "cuda:99"]) == 2
    assert "--device cuda:99: " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    job = Job(rel="a0.mp4", src=str(src / "a0.mp4"), dst=str(tmp_path / "o.mp4"), out_rel="o.mp4")
    result = clean_job(job, {"chain": "identity"}, device="cuda:99")
    assert not result["ok"] and result["retry"] and result["reason"].startswith("--device")


def test_a_folder_of_frames_is_told_how_to_make_it_a_video(tmp_path, capsys):
    """A folder of PNG frames (what diffusers and ComfyUI save) given to make one video: "input
    is a folder, so output 'out.mp4' would be made a folder named like a video" or "holds no
    videos", neither saying why. Now one line: framemend reads videos, and the ffmpeg command
    that makes the frames one."""
    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"frame_{i:04d}.png"), moving_frames(1, 8, 8)[0])
    (tmp_path / "taken.mp4").write_bytes(b"")
    for out in ("out.mp4", "outdir", "taken.mp4"):
        code = main(["clean", str(frames), "-o", str(tmp_path / out), "-q"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "holds 3 images and no video" in err and "not image sequences" in err
        assert f"-pattern_type glob -i '{frames / '*.png'}'" in err
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "outdir").exists()
    # a folder of animations (ComfyUI's animated WebP) is not one of frames: each is a clip
    from PIL import Image

    clips = tmp_path / "clips"
    clips.mkdir()
    images = [Image.fromarray(f) for f in moving_frames(3, 48, 32)]
    images[0].save(clips / "a.webp", save_all=True, append_images=images[1:], duration=40)
    code = main(["clean", str(clips), "-o", str(tmp_path / "clips.mp4"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "holds 1 animated image(s)" in err and "image sequences" not in err, err
    assert "-o OUT_FOLDER" in err and f"framemend clean '{clips / 'a.webp'}' -o OUT.mp4" in err


def test_a_glob_that_takes_still_images_says_each_is_a_one_frame_clip(tmp_path, capsys):
    """``clean FOLDER --glob '*.png'`` over still frames cleaned each as a one-frame clip without
    a word; now said once, with the ffmpeg command that makes the frames one video. A glob of
    videos says nothing of the kind."""
    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"frame_{i:04d}.png"), moving_frames(1, 64, 48, seed=i)[0])
    make_video(str(frames / "clip.mp4"), moving_frames(4, 64, 48), 24)
    said = (f"framemend: warning: --glob '*.png' takes 3 still image(s): each is cleaned as a "
            f"one-frame clip, where no filter sees what changes between frames; to clean them "
            f"as one video, make the frames one first, e.g. ffmpeg -framerate 24 -pattern_type "
            f"glob -i '{frames / '*.png'}' -c:v ffv1 frames.mkv (at their frame rate), then "
            f"framemend clean frames.mkv -o OUT\n")
    for dry in (["--dry-run"], []):
        code = main(["clean", str(frames), "-o", str(tmp_path / "out"), "--glob", "*.png",
                     "-f", "identity", "-q", "--jobs", "1", *dry])
        err = capsys.readouterr().err
        assert code == 0 and err.count(said) == 1, err
    for i in range(3):  # as before: each a one-frame clip
        assert len(read_video(str(tmp_path / "out" / f"frame_{i:04d}.mkv"))[0]) == 1
    assert main(["clean", str(frames), "-o", str(tmp_path / "videos"), "--glob", "*.mp4",
                 "-f", "identity", "-q", "--dry-run"]) == 0
    assert "still image" not in capsys.readouterr().err


def test_a_folder_batch_takes_animated_webp_and_apng_as_name_mkv(tmp_path, capsys):
    """A folder batch skipped animated WebP and APNG (ComfyUI's SaveAnimatedWEBP, previews)
    without a word: not in the video extensions, and an output keeping its input's extension
    no writer takes. Each is now cleaned into NAME.mkv, every frame; one beside a video of its
    name (c.webp beside c.mp4) is skipped and the summary says so and why; a still PNG is left
    alone; a re-run finds them done."""
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    images = [Image.fromarray(f) for f in moving_frames(5, 48, 32)]
    images[0].save(src / "a.webp", save_all=True, append_images=images[1:], duration=40, lossless=True)
    images[0].save(src / "b.png", save_all=True, append_images=images[1:], duration=40)  # APNG
    images[0].save(src / "c.webp", save_all=True, append_images=images[1:], duration=40)
    images[0].save(src / "still.png")
    make_video(str(src / "c.mp4"), moving_frames(4, 48, 32), 24)
    out = tmp_path / "out"
    code = main(["clean", str(src), "-o", str(out), "-f", "identity"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["a.mkv", "b.mkv", "c.mp4"]
    for name in ("a.mkv", "b.mkv"):
        assert read_video(str(out / name))[0].shape == (5, 32, 48, 3)
    assert ("framemend: 1 of 4 skipped:\n  c.webp: not taken: its output would be 'c.mkv', "
            "named like 'c.mp4' beside it; clean it alone, e.g. framemend clean "
            f"'{src / 'c.webp'}' -o OUT.mkv") in err
    assert "4 files: 0 done before, 0 redone, 3 new, 0 failed, 1 skipped" in err
    assert main(["clean", str(src), "-o", str(out), "-f", "identity"]) == 0
    assert "4 files: 3 done before, 0 redone, 0 new, 0 failed, 1 skipped" in capsys.readouterr().err
    report = tmp_path / "report.json"
    assert main(["clean", str(src), "-o", str(out), "-f", "identity", "--report", str(report)]) == 0
    counts = json.loads(report.read_text())["counts"]  # the skipped one counted there too
    assert counts["skipped"] == 1 and sum(counts.values()) == 4


def test_one_file_is_counted_as_one():
    """The summary line said ``1 files: ...``."""
    from framemend.batch.report import BatchSummary, FileResult

    one = [FileResult("a.mp4", "o/a.mp4", "new")]
    assert str(BatchSummary(one, seconds=1.0)).startswith("1 file: 0 done before, 0 redone, 1 new")
    assert str(BatchSummary(one, dry_run=True)).startswith("1 file: would run 1 new")
    assert str(BatchSummary(one * 2)).startswith("2 files: ")


def test_an_encoder_setting_no_output_takes_is_refused_before_the_work(tree, tmp_path):
    """--crf 99 or --codec xx failed every file alone, after the workers started, and each was
    recorded as failed; a setting some outputs take still runs (--crf 55: WebM's VP9 takes
    it, H.264 does not)."""
    from framemend.batch import BatchUsageError

    for settings, words in [(dict(crf=99), "--crf 99 is out of range for libx264"),
                            (dict(codec="xx"), "unknown video encoder 'xx'")]:
        with pytest.raises(BatchUsageError, match=words):
            clean_folder(tree, tmp_path / "o", "identity", jobs=1, **settings)
        assert not (tmp_path / "o").exists()
    (tmp_path / "w").mkdir()
    for name in ("a.mp4", "b.webm"):
        write_video(str(tmp_path / "w" / name), moving_frames(3, 64, 48), 24)
    summary = clean_folder(tmp_path / "w", tmp_path / "o", "identity", jobs=1, crf=55)
    assert [r.status for r in summary.files] == ["failed", "new"]


def test_a_script_calling_clean_folder_unguarded_is_told_to_guard_it(tmp_path):
    """The workers are spawned: each imports the caller's script again, and a call that is not
    under ``if __name__ == "__main__":`` ran there too. It met the caller's lock ("another
    framemend batch is writing"), then "worker processes die at start", with no word of why."""
    src, out = tmp_path / "src", tmp_path / "out"
    make_tree(src, ["a.mp4"], frames=4)
    script = tmp_path / "unguarded.py"
    script.write_text("import sys\nimport framemend\nframemend.clean_folder("
                      "sys.argv[1], sys.argv[2], chain='identity', jobs=1)\n")
    run = subprocess.run([sys.executable, str(script), str(src), str(out)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode != 0
    assert "if __name__ == \"__main__\":" in run.stderr, run.stderr
    assert "another framemend batch" not in run.stderr, run.stderr



@pytest.mark.parametrize("option, error, says", [
    ({"timeout": "10"}, TypeError, "timeout must be a number of seconds, got '10'"),
    ({"glob": ["*.mp4"]}, TypeError, "glob must be a pattern such as '*.mp4', got ['*.mp4']"),
    ({"jobs": True}, ValueError, "--jobs True: needs a whole number, at least 1"),
])
def test_clean_folder_options_of_another_type_are_refused_in_one_line(tmp_path, option, error,
                                                                      says):
    """timeout="10" met "'>' not supported between instances of 'str' and 'int'", a list of
    globs a TypeError from inside the file search, and jobs=True ran one worker without a
    word."""
    make_tree(tmp_path / "src", ["a.mp4"], frames=4)
    with pytest.raises(error, match=re.escape(says)):
        clean_folder(tmp_path / "src", tmp_path / "out", chain="identity", **option)
    assert not (tmp_path / "out").exists()
