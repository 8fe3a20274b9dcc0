"""Accountability and the questions leaders ask (issue #10): the state test input, the priority
setting, the weekly watchlist's calendar, and the generator's planted facts behind the recovery
tests (tests/test_recovery.py checks the marts recover them; tests/test_end_to_end.py runs
`run --as-of`)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_config, write_roster

YEAR = {"id": "2025-26", "first_day": "2025-08-18", "last_day": "2026-06-05", "breaks": []}
LOCAL_IDS = [f"{100 + i:06d}" for i in range(1, 21)]


def _config(tmp_path, **extra):
    from orchestration.config import load_config
    tmp_path.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(tmp_path, YEAR, **extra))


# ------------------------------------------------------------------------------- configuration
def test_priority_is_validated_and_reaches_dbt(tmp_path):
    from orchestration.config import ConfigError, dbt_vars
    c = _config(tmp_path, priority={"subject": "reading", "grades": [3, "k"]})
    assert c.priority == {"subject": "reading", "grades": ["3", "K"]}
    v = dbt_vars(c, c.cycles[0], tmp_path)
    assert (v["priority_subject"], v["priority_grades"], v["state_min_n"]) == ("reading", ["3", "K"], 10)
    none = _config(tmp_path / "none")
    assert dbt_vars(none, none.cycles[0], tmp_path)["priority_subject"] is None
    with pytest.raises(ConfigError, match="priority.subject"):
        _config(tmp_path / "bad1", priority={"subject": "science"})
    with pytest.raises(ConfigError, match="priority.grades"):
        _config(tmp_path / "bad2", priority={"subject": "math", "grades": ["13"]})
    # the state's minimum n never goes below the privacy minimum
    strict = _config(tmp_path / "strict", accountability={"state_min_n": 5}, privacy={"min_n": 12})
    assert dbt_vars(strict, strict.cycles[0], tmp_path)["state_min_n"] == 12


# ------------------------------------------------------------------------------- weekly calendar
def test_weekly_cycle_cuts_the_cycle_at_the_date(tmp_path):
    from orchestration.config import ConfigError
    from orchestration.weekly import WEEKLY_MARTS, weekly_cycle, weekly_dbt_args, weekly_folder
    c = _config(tmp_path)
    c2 = c.cycles[1]
    day = c2.start + dt.timedelta(days=9)
    w = weekly_cycle(c, day)
    assert (w.id, w.start, w.as_of) == (c2.id, c2.start, day)
    assert weekly_folder(c, w) == c.published / c2.id / "weekly" / day.isoformat()
    args = weekly_dbt_args(c, w, tmp_path)
    assert args[:3] == ["build", "--select", f"+{WEEKLY_MARTS[0]}"] and f"+{WEEKLY_MARTS[1]}" in args
    vars_ = json.loads(args[args.index("--vars") + 1])
    assert (vars_["cycle_id"], vars_["as_of_date"], vars_["cycle_start"]) == (c2.id, day.isoformat(), c2.start.isoformat())
    with pytest.raises(ConfigError, match="--cycle"):
        weekly_cycle(c, c2.end)
    with pytest.raises(ConfigError, match="--as-of"):
        weekly_cycle(c, dt.date(2030, 1, 1))


# ------------------------------------------------------------------------------- state test input
def test_a_state_file_lands_through_the_yaml_mapping(tmp_path):
    """config/mappings/state_staar.yml: a STAAR-style file (spring year, performance labels, 0/1
    indicator, state IDs) lands as canonical state_assessment rows."""
    from sources.landing import land_cycle
    c = _config(tmp_path)
    inbox = c.inbox / c.cycles[1].id
    write_roster(inbox / "sis", LOCAL_IDS, school="org-1")
    (inbox / "sis" / "staar.csv").write_text(
        "Student State ID,Test Administration Year,Test Subject,Tested Grade,Scale Score,Performance Level,"
        "Meets Grade Level\n"
        f"{LOCAL_IDS[0]},2025,Reading Language Arts,04,1573,Meets Grade Level,1\n"
        f"{LOCAL_IDS[1]},2025,Mathematics,05,1402,Approaches Grade Level,0\n"
        f"{LOCAL_IDS[2]},2025,Mathematics,05,1402,Levels Unknown,0\n")
    (inbox / "_READY").write_text("2025-11-12")
    res = land_cycle(c, c.cycles[1].id)
    f = next(x for x in res.files if x.source_file == "sis/staar.csv")
    assert f.layout == "mapping:state_staar" and (f.rows_loaded, f.rows_quarantined) == (2, 1), f
    assert f.quarantined_by_reason == {"bad_number": 1}, f.quarantined_by_reason   # a label the mapping lacks
    import duckdb
    rows = duckdb.sql(f"select subject, school_year, grade, achievement_level, proficient from "
                      f"read_parquet('{res.landing_dir / 'state_assessment.parquet'}') order by 1").fetchall()
    assert rows == [("math", "2025", "5", 2, False), ("reading", "2025", "4", 3, True)], rows


def test_generated_state_results_follow_ability_and_the_cut_scores():
    from orchestration.config import Config
    from orchestration.generator import population, screeners, state_tests, tutoring
    from orchestration.generator.school_calendar import Calendar, config_dict
    schools = population.make_schools(5, 4)
    cal = Calendar.from_config(Config(config_dict("2025-26", schools.district_name), Path("config.yml")))
    pupils = population.make_students(5, 3000, schools, 2025)
    scr = screeners.simulate(5, pupils, schools, cal)
    tutoring.simulate(5, pupils, schools, cal, scr, 0.2)
    res = state_tests.simulate(5, pupils, scr)
    prior = res["prior"]
    assert set(np.unique(prior["grade"])) == set(range(3, 8))            # last year's grade 3–7
    theta = pupils.theta[prior["subject"], prior["student"]]
    assert np.corrcoef(theta, prior["score"])[0, 1] > 0.8
    for g in range(3, 8):
        k = prior["grade"] == g
        cuts = state_tests.cut_scores(g)
        expect = 1 + sum((prior["score"][k] >= c).astype(int) for c in cuts)
        assert (prior["level"][k] == expect).all()
    share = (prior["level"] >= state_tests.PROFICIENT_LEVEL).mean()
    assert 0.3 < share < 0.7, share
    cur = res["current"]
    assert set(np.unique(cur["grade"])) == set(range(3, 9))


def test_planted_accountability_facts_are_in_the_truth(tmp_path):
    from orchestration.generator import generate
    truth = generate(900, 4, 11, tmp_path, school_year="2025-26")
    p = truth["planted"]
    assert p["high_no_show_school_id"] in {f"org-{i:04d}" for i in range(1, 5)}
    assert p["high_no_show_school_id"] != p["inverted_school_id"]
    assert p["tutor_type_effect"]["teacher"] != p["tutor_type_effect"]["vendor"]
    assert all(p["plateauing_students"][s] for s in ("reading", "math")), p["plateauing_students"]
    est = truth["cycles"]["2025-26-C7"]["estimands"]
    for s in ("reading", "math"):
        by = est[s]["by_tutor_type"]
        assert sum(v["n_treated"] for v in by.values()) == est[s]["n_treated"], by
    st = truth["state_assessment"]
    assert st["proficient_level"] == 3 and set(st["results"]) == {"2024-25", "2025-26"}
    # this year's state results arrive with the last cycle only
    inbox = tmp_path / "data" / "inbox"
    years = {c.name: sorted({line.split(",")[1] for line in (c / "sis" / "state_assessment.csv").read_text().splitlines()[1:]})
             for c in inbox.iterdir()}
    assert years["2025-26-C1"] == ["2024-25"] and years["2025-26-C7"] == ["2024-25", "2025-26"], years
