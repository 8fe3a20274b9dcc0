"""Every gate check can fail: each GX expectation (and its SQL twin for big tables) on a hand-built
landed table, and each gate-2 check on a hand-built build database (DESIGN §8)."""
from __future__ import annotations

import duckdb
import pytest

from expectations import suites
from expectations.gate2 import run_gate2
from expectations.suites import Expectation, run_suite
from conftest import write_config
from orchestration.config import load_config

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04", "breaks": []}

BAD_TABLES = {
    "not_null": ("select * from (values ('a', 1), (null, 2)) t(k, v)", Expectation("not_null", "t", ("k",)), 1),
    "in_set": ("select * from (values ('attended'), ('maybe'), ('maybe')) t(s)",
               Expectation("in_set", "t", ("s",), value_set=("attended", "student_absent")), 2),
    "between": ("select * from (values (30), (300), (-5)) t(m)", Expectation("between", "t", ("m",), min=0, max=240), 2),
    "unique": ("select * from (values ('x', 1), ('x', 1), ('y', 2)) t(k, d)", Expectation("unique", "t", ("k", "d")), 2),
    "columns": ("select 1 as a, 2 as extra", Expectation("columns", "t", ("a", "b")), 1),
}


@pytest.mark.parametrize("engine", ["great_expectations", "sql"])
@pytest.mark.parametrize("kind", sorted(BAD_TABLES))
def test_each_expectation_fails_on_a_bad_table(kind, engine, monkeypatch):
    monkeypatch.setattr(suites, "GX_MAX_ROWS", 10_000 if engine == "great_expectations" else 0)
    sql, exp, failing = BAD_TABLES[kind]
    con = duckdb.connect()
    con.execute(f"create table t as {sql}")
    (res,) = run_suite(con, "t", "t", [exp], "gate1")
    assert res.engine == engine and not res.success and res.blocking
    if kind != "columns":
        assert res.failed_count == failing
    assert res.fix


@pytest.mark.parametrize("engine", ["great_expectations", "sql"])
def test_a_good_table_passes_every_kind(engine, monkeypatch):
    monkeypatch.setattr(suites, "GX_MAX_ROWS", 10_000 if engine == "great_expectations" else 0)
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('a', 'attended', 30), ('b', 'student_absent', 45)) t(k, s, m)")
    exps = [Expectation("columns", "t", ("k", "s", "m")), Expectation("not_null", "t", ("k",)),
            Expectation("in_set", "t", ("s",), value_set=("attended", "student_absent")),
            Expectation("between", "t", ("m",), min=0, max=240), Expectation("unique", "t", ("k",))]
    assert all(r.success for r in run_suite(con, "t", "t", exps, "gate1"))


def build_db(path, *, pct_sum=100.0, small_n=None, leak=False, minutes_out=90, cycle_id="2026-27-C1"):
    con = duckdb.connect(str(path))
    con.execute(f"""create table tier_distribution as select '{cycle_id}' as cycle_id, 'reading' as subject, 'ALL' as school_id,
        'ALL' as grade, {small_n or 40} as n_students, 20 as n_tier1, 10 as n_tier2, 10 as n_tier3,
        {pct_sum - 50.0} as pct_tier1, 25.0 as pct_tier2, 25.0 as pct_tier3, 'top_heavy' as pyramid_shape,
        false as suppressed {", 'stu-1' as student_id" if leak else ""}""")
    con.execute(f"""create table student_dosage as select '{cycle_id}' as cycle_id, 'k1' as student_key, 's1' as student_id,
        'reading' as subject, {minutes_out} as minutes_attended, 0.5 as dosage_attainment, 1.0 as attendance_rate""")
    con.close()


@pytest.fixture
def gate2_env(tmp_path):
    cfg = load_config(write_config(tmp_path, YEAR))
    cycle = cfg.cycles[0]
    landing = tmp_path / "landing"
    landing.mkdir()
    duckdb.execute(f"copy (select 's1' as student_id, 'reading' as subject, timestamp '{cycle.start} 10:00' as "
                   f"session_start, 90 as session_duration, 'attended' as attendance_status) to "
                   f"'{landing / 'sessions.parquet'}' (format parquet)")
    return cfg, cycle, landing


@pytest.mark.parametrize("damage,check", [
    ({"pct_sum": 97.0}, "tier_distribution.shares_sum_to_100"),
    ({"small_n": 7}, "tier_distribution.small_cells_suppressed"),
    ({"leak": True}, "tier_distribution.no_student_identifiers"),
    ({"minutes_out": 60}, "reconciliation.minutes_in_equal_out"),
])
def test_each_gate2_check_fails_on_purpose(gate2_env, tmp_path, damage, check):
    cfg, cycle, landing = gate2_env
    good = tmp_path / "good.duckdb"
    build_db(good)
    assert run_gate2(cfg, cycle, good, landing, []).passed
    bad = tmp_path / "bad.duckdb"
    build_db(bad, **damage)
    out = run_gate2(cfg, cycle, bad, landing, [])
    assert not out.passed
    assert check in {r.check for r in out.errors}


def test_a_failing_dbt_node_fails_gate2(gate2_env, tmp_path):
    cfg, cycle, landing = gate2_env
    db = tmp_path / "b.duckdb"
    build_db(db)
    out = run_gate2(cfg, cycle, db, landing, [{"node": "test.x.unique_grain_student_dosage", "status": "fail",
                                               "failures": 3, "message": "3 rows"}])
    assert not out.passed and out.errors[0].failed_count == 3 and out.errors[0].engine == "dbt"
