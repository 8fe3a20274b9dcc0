"""The generated district delivers every layout the issue names, and landing reads each as planted.

A 600-student, 4-school district has one school per screener profile (screeners.PROFILES): MAP
2021+ CDF with DIBELS 8 for K–2 reading, i-Ready 2025-26, Star Reading with Star Math in the
canonical screener layout, and a school on legacy exports (i-Ready 2021-22, the MAP `MeasurementScale`
CDF); the fourth school's reading tutoring comes from Acme Tutors through its YAML mapping. Landing
one cycle must report all of those layouts, keep rows read = loaded + quarantined for every file, and
quarantine exactly the planted bad rows with their reason codes and nothing else. The absences-only
option lands to the same attendance table as the daily feed, and (slow) publishes end to end with
tier counts and minutes equal to the truth.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conftest import cli  # noqa: E402
from orchestration.config import load_config  # noqa: E402
from orchestration.generator import generate  # noqa: E402
from sources.landing import land_cycle, read_manifest  # noqa: E402

YEAR = "2025-26"
CYCLE = f"{YEAR}-C5"          # after MOY: the legacy combined file repeats its header once
EXPECTED_LAYOUTS = {
    "screener/AssessmentResults.csv": ("nwea_map_cdf", "nwea_map_cdf_2021"),
    "screener/CombinedAssessmentResults.csv": ("nwea_map_cdf", "nwea_map_cdf_legacy"),
    "screener/diagnostic_results_ela.csv": ("iready_diagnostic", "iready_diagnostic_2025"),
    "screener/diagnostic_results_math.csv": ("iready_diagnostic", "iready_diagnostic_2025"),
    "screener/diagnostic_results_ela_2021-2022.csv": ("iready_diagnostic", "iready_diagnostic_2021"),
    "screener/diagnostic_results_math_2021-2022.csv": ("iready_diagnostic", "iready_diagnostic_2021"),
    "screener/BM_Student_Summary_DIBELS8.csv": ("dibels8_benchmark", None),
    "screener/SR.csv": ("star_reading", None),
    "screener/SR_Dashboard_Standards_v2.csv": ("star_dashboard_standards", None),
    "screener/star_math_screener_results.csv": ("screener_results", None),
    "screener/star_math_screener_domains.csv": ("screener_domains", None),
    "tutoring/acme_sessions_export.csv": ("mapping:acme_tutors", None),
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    out = tmp_path_factory.mktemp("layouts")
    truth = generate(600, 4, 7, out, school_year=YEAR, only_cycle=CYCLE)
    config = load_config(out / "config.yml")
    return config, truth, land_cycle(config, CYCLE)


def test_every_layout_of_the_issue_is_delivered_and_recognised(landed):
    config, truth, res = landed
    got = {f.source_file: (f.layout, f.layout_variant) for f in res.files}
    assert {k: got.get(k) for k in EXPECTED_LAYOUTS} == EXPECTED_LAYOUTS
    assert all(f.error is None for f in res.files), [f.error for f in res.files if f.error]
    manifest = json.loads((config.landing / CYCLE / "manifest.json").read_text())
    names = {f["layout_variant"] or f["layout"] for f in manifest["files"]}
    assert names >= {"nwea_map_cdf_2021", "nwea_map_cdf_legacy", "iready_diagnostic_2025", "iready_diagnostic_2021",
                     "dibels8_benchmark", "star_reading", "star_dashboard_standards", "screener_results",
                     "screener_domains", "mapping:acme_tutors", "datas_sessions", "attendance_daily"}
    assert truth["screener_sources"] == {
        "org-0001": {"reading": ["dibels8", "map_2021"], "math": ["map_2021"]},
        "org-0002": {"reading": ["iready_2025"], "math": ["iready_2025"]},
        "org-0003": {"reading": ["star_reading"], "math": ["star_math"]},
        "org-0004": {"reading": ["iready_2021", "map_legacy"], "math": ["iready_2021", "map_legacy"]}}
    # the config names the mapping of the Acme feed
    assert {"name": "acme_tutors", "folder": "tutoring", "pattern": "acme_sessions_export.csv",
            "mapping": "acme_tutors"} in config.raw["sources"]
    acme = next(f for f in res.files if f.source_file == "tutoring/acme_sessions_export.csv")
    assert acme.feed == "acme_tutors" and acme.mapping.endswith("config/mappings/acme_tutors.yml")


def test_rows_read_are_loaded_or_quarantined_and_only_planted_rows_are_quarantined(landed):
    config, truth, res = landed
    planted = truth["bad_rows"][CYCLE]
    assert planted["screener/CombinedAssessmentResults.csv"] == {"malformed_row": 1}
    assert planted["tutoring/acme_sessions_export.csv"]["malformed_row"] == 1       # the cut-off last line
    for f in res.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined, f.source_file
        expected = {r: n for r, n in planted.get(f.source_file, {}).items() if n}
        assert f.quarantined_by_reason == expected, f.source_file
        assert f.secondary_quarantined == 0, f.source_file
    # per vendor, one result per tested student × subject × window: every row the files hold landed
    scr = duckdb.sql(f"select vendor, count(*) from read_parquet('{res.landing_dir / 'screener_results.parquet'}') "
                     "group by 1 order by 1").fetchall()
    assert [v for v, _ in scr] == ["dibels8", "iready", "nwea_map", "star"]
    q = duckdb.sql(f"select source_file, line, reason, detail from read_parquet('{res.landing_dir / 'quarantine.parquet'}') "
                   "where source_file like 'screener/%'").fetchall()
    assert q == [("screener/CombinedAssessmentResults.csv", q[0][1], "malformed_row", "repeated header row")]


def test_star_math_in_the_canonical_layout_keeps_null_percentiles_and_reports_the_extra_column(landed):
    config, truth, res = landed
    f = next(f for f in res.files if f.source_file == "screener/star_math_screener_results.csv")
    assert f.unknown_columns == ["source_system"]
    rows = duckdb.sql(f"select count(*), count(percentile), count(vendor_level) from read_parquet("
                      f"'{res.landing_dir / 'screener_results.parquet'}') where vendor = 'star' and subject = 'math'"
                      ).fetchall()[0]
    assert rows[0] == f.rows_loaded and 0 < rows[0] - rows[1] < 0.05 * rows[0] and rows[2] == rows[0]


def test_the_absences_only_feed_lands_the_same_attendance_as_the_daily_feed(landed, tmp_path):
    config, _, res = landed
    generate(600, 4, 7, tmp_path, school_year=YEAR, only_cycle=CYCLE, attendance_feed="absences_only")
    other = load_config(tmp_path / "config.yml")
    assert other.raw["attendance"] == {"feed": "absences_only"}
    folder = other.inbox / CYCLE / "sis"
    assert (folder / "daily_absences.csv").is_file() and not (folder / "attendance.csv").exists()
    res2 = land_cycle(other, CYCLE)
    f = next(f for f in res2.files if f.source_file == "sis/daily_absences.csv")
    assert f.layout == "mapping:district_absences" and f.rows_quarantined == 0
    assert res2.derived["attendance_present_filled"] > 5 * f.rows_loaded
    cols = "student_id, school_id, attendance_date, status"
    a, b = (f"select {cols} from read_parquet('{r.landing_dir / 'attendance.parquet'}')" for r in (res, res2))
    assert duckdb.sql(f"select count(*) from ({a})").fetchall() == duckdb.sql(f"select count(*) from ({b})").fetchall()
    assert duckdb.sql(f"select count(*) from ({a} except all {b})").fetchall() == [(0,)]


@pytest.mark.slow
def test_absences_only_district_with_every_layout_publishes_the_truth(tmp_path):
    """End to end through the CLI: all four screener profiles and the absences-only feed, one cycle;
    tier counts (DIBELS by level, the rest by percentile) and minutes per student equal the truth."""
    r = cli("generate", "--students", "600", "--schools", "4", "--seed", "11", "--out", str(tmp_path),
            "--school-year", YEAR, "--attendance-feed", "absences_only")
    assert r.returncode == 0, r.stderr
    config = load_config(tmp_path / "config.yml")
    for c in config.cycles[1:]:
        shutil.rmtree(config.inbox / c.id)
    r = cli("run", "--config", str(config.path), "--all", timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    truth = json.loads((tmp_path / "truth.json").read_text())
    cur = config.published / "current"
    with duckdb.connect(str(cur / "marts_aggregate.duckdb"), read_only=True) as con:
        for c in config.cycles[:1]:
            for subject, counts in truth["cycles"][c.id]["tier_counts"].items():
                row = con.execute("select n_tier1, n_tier2, n_tier3 from tier_distribution where cycle_id = ? and "
                                  "subject = ? and school_id = 'ALL' and grade = 'ALL'", [c.id, subject]).fetchone()
                assert row == (counts["1"], counts["2"], counts["3"]), (c.id, subject)
            compared = 0
            for school, by in truth["cycles"][c.id]["tier_counts_by_school"].items():
                for subject, counts in by.items():
                    row = con.execute("select n_tier1, n_tier2, n_tier3, suppressed from tier_distribution where "
                                      "cycle_id = ? and subject = ? and school_id = ? and grade = 'ALL'",
                                      [c.id, subject, school]).fetchone()
                    if row[3]:          # withheld by complementary suppression (DESIGN §9)
                        continue
                    assert row[:3] == (counts["1"], counts["2"], counts["3"]), (c.id, school, subject)
                    compared += 1
            assert compared >= 4, c.id
    with duckdb.connect(str(cur / "marts_restricted.duckdb"), read_only=True) as con:
        for c in config.cycles[:1]:
            for subject, minutes in truth["cycles"][c.id]["minutes_attended"].items():
                got = dict(con.execute("select student_id, minutes_attended from student_dosage where cycle_id = ? "
                                       "and subject = ? and minutes_attended > 0", [c.id, subject]).fetchall())
                assert got == minutes, (c.id, subject)
    for c in config.cycles[:1]:
        m = read_manifest(config, c.id)
        assert all(f.rows_read == f.rows_loaded + f.rows_quarantined for f in m.files)
        assert any(f.source_file == "sis/daily_absences.csv" and f.layout == "mapping:district_absences"
                   for f in m.files)
