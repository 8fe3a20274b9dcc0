"""The benchmark's own arithmetic (bench/run.py, bench/curve.py): landing rows/s per table, the
process-tree RSS, the growth exponent, and the one-screen table of a committed result."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


run, curve = _load("run"), _load("curve")


def test_table_rates_count_read_and_write_seconds_of_each_table():
    landing = SimpleNamespace(
        rows_loaded={"attendance": 1_000_000, "screener_results": 1_000, "screener_domains": 4_000, "terms": 7},
        stage_seconds={"read sis/attendance.csv": 1.5, "table attendance": 0.5, "read screener/map.csv": 1.0,
                       "table screener_results": 0.25, "table screener_domains": 1.0},
        files=[SimpleNamespace(source_file="sis/attendance.csv", tables=["attendance"]),
               SimpleNamespace(source_file="screener/map.csv", tables=["screener_domains", "screener_results"])])
    rates = {r["table"]: r for r in run.table_rates(landing)}
    assert [r["table"] for r in run.table_rates(landing)][0] == "attendance"       # biggest first
    assert rates["attendance"]["rows_per_second"] == 500_000
    # a file feeding two tables counts for both
    assert rates["screener_results"]["read_seconds"] == rates["screener_domains"]["read_seconds"] == 1.0
    assert rates["screener_results"]["rows_per_second"] == 800
    assert rates["screener_domains"]["rows_per_second"] == 2_000
    assert rates["terms"]["rows_per_second"] is None                                 # no timing, no rate


def test_rss_tree_includes_children():
    import subprocess
    import sys
    import time
    alone = run.rss_tree(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "b = bytearray(200 * 2**20); import time; time.sleep(30)"])
    try:
        deadline = time.time() + 20
        while time.time() < deadline and run.rss_tree(os.getpid()) < alone + 150 * 2**20:
            time.sleep(0.1)
        assert run.rss_tree(os.getpid()) >= alone + 150 * 2**20
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("b", [0.5, 1.0, 1.3])
def test_exponent_recovers_a_power_law(b):
    xs = [35_000, 120_000, 350_000]
    assert curve.exponent(xs, [3.0 * x ** b for x in xs]) == pytest.approx(b)


def test_committed_results_print_on_one_screen(capsys):
    doc = json.loads((ROOT / "bench" / "results" / "demo.json").read_text())
    run.print_table(doc)
    out = capsys.readouterr().out.splitlines()
    assert len(out) <= 24
    assert any(line.startswith("dbt_build") for line in out)
    assert any(line.startswith("landing rows/s: attendance") for line in out)
