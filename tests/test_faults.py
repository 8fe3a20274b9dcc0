"""Faults to survive (DESIGN §2, §8, §10): a reader never sees an error or a mix of versions while
publishes happen; two publishers serialise; a killed publish leaves `current` as it was and the next
run cleans up; two runs of one cycle do not both proceed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, write_config
from orchestration.config import load_config
from orchestration.publish import clean_leftovers, current_version, publish, versions

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04", "breaks": []}


def fake_build(path: Path, cycle_id: str, n: int) -> Path:
    con = duckdb.connect(str(path))
    con.execute(f"create table tier_distribution as select '{cycle_id}' as cycle_id, 'reading' as subject, "
                f"'ALL' as school_id, 'ALL' as grade, {n} as n_students, false as suppressed")
    con.execute(f"create table student_tiers as select '{cycle_id}' as cycle_id, 'k' || i as student_key, "
                f"1 as tier from range({n * 1000}) t(i)")
    con.close()
    return path


@pytest.fixture
def cfg(tmp_path):
    c = load_config(write_config(tmp_path, YEAR, publish={"retention": 10}))
    c.landing.mkdir(parents=True)
    return c


def rows(cycle, n):
    return [{"cycle_id": cycle.id, "run_id": f"r{n}", "source_file": "x.csv", "rows_read": n}]


def test_reader_in_a_loop_never_sees_an_error_or_a_mix_of_versions(cfg, tmp_path):
    c = cfg.cycles[0]
    publish(cfg, c, fake_build(tmp_path / "b0.duckdb", c.id, 1), cfg.landing, rows(c, 1))
    reader = textwrap.dedent(f"""
        import duckdb, json, time, sys
        seen, errors, mixed = set(), 0, 0
        end = time.time() + 60
        while time.time() < end:
            try:
                con = duckdb.connect('{cfg.published}/current/marts_aggregate.duckdb', read_only=True)
                n = con.execute("select n_students from tier_distribution").fetchone()[0]
                runs = {{r[0] for r in con.execute("select run_id from cycle_audit").fetchall()}}
                con.close()
                seen.add(n)
                if runs != {{f"r{{n}}"}}:
                    mixed += 1
            except Exception as e:
                errors += 1
                print(repr(e), file=sys.stderr)
            if open('{tmp_path}/stop').read() if __import__('os').path.exists('{tmp_path}/stop') else False:
                break
        print(json.dumps({{"seen": sorted(seen), "errors": errors, "mixed": mixed}}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        for n in (2, 3, 4):
            publish(cfg, c, fake_build(tmp_path / f"b{n}.duckdb", c.id, n), cfg.landing, rows(c, n))
            time.sleep(0.3)
    finally:
        (tmp_path / "stop").write_text("1")
    out, err = proc.communicate(timeout=90)
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["errors"] == 0, err
    assert doc["mixed"] == 0
    assert doc["seen"][-1] == 4 and set(doc["seen"]) <= {1, 2, 3, 4}


def test_killed_publish_leaves_current_and_the_next_run_recovers(cfg, tmp_path):
    c = cfg.cycles[0]
    publish(cfg, c, fake_build(tmp_path / "b0.duckdb", c.id, 1), cfg.landing, rows(c, 1))
    before = os.readlink(cfg.published / "current")
    build = fake_build(tmp_path / "big.duckdb", c.id, 3000)
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from orchestration.config import load_config
        from orchestration.publish import publish
        cfg = load_config({str(cfg.path)!r})
        c = cfg.cycles[0]
        publish(cfg, c, __import__('pathlib').Path({str(build)!r}), cfg.landing, [{{"cycle_id": c.id, "run_id": "rk"}}])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and not list(cfg.published.rglob(".v*.tmp-*/parquet/*.parquet")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.readlink(cfg.published / "current") == before
    con = duckdb.connect(str(cfg.published / "current" / "marts_aggregate.duckdb"), read_only=True)
    assert con.execute("select n_students from tier_distribution").fetchone()[0] == 1
    con.close()
    # the next publish cleans the leftovers and succeeds without manual steps (the lock died with it)
    v = publish(cfg, c, fake_build(tmp_path / "b2.duckdb", c.id, 2), cfg.landing, rows(c, 2))
    assert current_version(cfg) == v and not list(cfg.published.rglob(".v*.tmp-*"))


def test_second_publisher_refuses_or_waits(cfg, tmp_path):
    from orchestration.publish import PublishError, publish_lock
    c = cfg.cycles[0]
    with publish_lock(cfg):
        with pytest.raises(PublishError, match="another run is publishing"):
            publish(cfg, c, fake_build(tmp_path / "b.duckdb", c.id, 1), cfg.landing, rows(c, 1), wait=False)
    assert versions(cfg) == []


def test_two_runs_of_one_cycle_at_once_the_second_refuses(cfg):
    from orchestration.cli import cycle_lock
    c = cfg.cycles[0]
    with cycle_lock(cfg, c.id):
        with pytest.raises(RuntimeError, match="already running"):
            with cycle_lock(cfg, c.id):
                pass


def test_stale_landing_work_folder_is_removed(cfg):
    c = cfg.cycles[0]
    stale = cfg.landing / f".tmp-{c.id}-999999"
    stale.mkdir(parents=True)
    (cfg.inbox / c.id / "sis").mkdir(parents=True)
    from sources.landing import land_cycle
    land_cycle(cfg, c.id)
    assert not stale.exists()
