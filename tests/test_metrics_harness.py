"""The benchmark harness: one table from every bench module's rows, failures isolated."""
import sys
import types

from benchmarks import run as harness


def test_table_puts_the_shared_columns_first_and_keeps_the_rest():
    rows = [{"pass": "denoise", "clip": "pan", "method": "input", "fps": 1234.5, "psnr": 22.1},
            {"pass": "denoise", "clip": "pan", "method": "ffmpeg hqdn3d=4", "psnr": 27.25,
             "warp_error": 0.000123, "extra": "x"}]
    text = harness.table(rows).splitlines()
    assert text[0].split() == ["pass", "clip", "method", "psnr", "warp_error", "fps", "extra"]
    assert "1.230e-04" in text[3] and "1234.5" in text[2] and text[3].endswith("x")
    md = harness.table(rows, markdown=True).splitlines()
    assert md[0].startswith("| pass |") and md[1].startswith("|---|") and len(md) == 4


def test_a_failing_benchmark_becomes_a_row_and_the_others_still_run(monkeypatch):
    good = types.ModuleType("benchmarks.bench_good")
    good.run = lambda quick=False: [{"pass": "good", "method": "m", "quick": quick}]
    bad = types.ModuleType("benchmarks.bench_bad")

    def broken(quick=False):
        raise RuntimeError("boom")

    bad.run = broken
    monkeypatch.setitem(sys.modules, "benchmarks.bench_good", good)
    monkeypatch.setitem(sys.modules, "benchmarks.bench_bad", bad)
    rows, seconds = harness.run_parts(["bad", "good"], quick=True)
    assert rows[0]["method"] == "ERROR" and "boom" in rows[0]["error"]
    assert rows[1] == {"pass": "good", "method": "m", "quick": True}
    assert set(seconds) == {"bad", "good"}
