"""The older vendor layouts the reference extracts do not include, from small fixtures written to the
real headers (tests/fixtures/layouts/): the legacy NWEA MAP Comprehensive Data File (`MeasurementScale`
/ `Discipline`, no state ID or quintile, M/D/YYYY dates, a "combined" file that repeats its header
at each term) and the i-Ready Diagnostic 2021-22 layout (no Norming Window or roster columns,
"Reading Comprehension: …" domains). Each test pins the exact rows, levels and the canonical skills
the seeds map their domains to.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb

from conftest import write_roster

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "layouts"
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
YEAR_2021 = {"id": "2021-22", "first_day": "2021-08-16", "last_day": "2022-06-03", "breaks": []}
IDS = ["0605000", "0605001"]


def land(district, names):
    c = district(YEAR_2021)
    cycle = c.cycles[-1]
    inbox = c.inbox / cycle.id
    sid = write_roster(inbox / "sis", IDS)
    (inbox / "screener").mkdir(parents=True)
    for n in names:
        shutil.copy(FIXTURES / n, inbox / "screener" / n)
    (inbox / "_READY").write_text("2022-06-05")
    from sources.landing import land_cycle
    return sid, land_cycle(c, cycle.id)


def rows(res, table, sql):
    return duckdb.sql(sql.replace("from t", f"from read_parquet('{res.landing_dir / (table + '.parquet')}')")).fetchall()


def seed(name: str) -> list[dict]:
    with open(SEEDS / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def skills(vendor: str, domains) -> dict[str, str | None]:
    cw = {(r["vendor"], r["subject"], r["domain"].lower()): r["skill"] or None for r in seed("skill_crosswalk.csv")}
    return {d: cw[(vendor, s, d.lower())] for s, d in domains}


def levels(vendor: str, scope: str, labels) -> dict[str, int]:
    vl = {(r["vendor"], r["scope"], r["label"]): int(r["performance_level"]) for r in seed("vendor_levels.csv")}
    return {lab: vl[(vendor, scope, lab)] for lab in labels}


def test_legacy_map_combined_file(district):
    sid, res = land(district, ["map_legacy_CombinedAssessmentResults.csv"])
    f = res.files[[r.source_file for r in res.files].index("screener/map_legacy_CombinedAssessmentResults.csv")]
    assert (f.layout, f.layout_variant) == ("nwea_map_cdf", "nwea_map_cdf_legacy")
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (6, 5, 1)
    assert f.quarantined_by_reason == {"malformed_row": 1}
    assert f.id_match["column"] == "StudentID" and f.id_match["rate"] == 1.0     # leading zeros kept
    q = duckdb.sql(f"select line, reason, detail from read_parquet('{res.landing_dir / 'quarantine.parquet'}')").fetchall()
    assert q == [(5, "malformed_row", "repeated header row")]
    got = rows(res, "screener_results", 'select student_id, vendor, subject, "window", cast(test_date as varchar), '
                                        "scale_score, percentile, vendor_level, layout from t order by all")
    a, b = sid["0605000"], sid["0605001"]
    assert got == [
        (a, "nwea_map", "math", "BOY", "2021-09-15", 201.0, 61.0, None, "nwea_map_cdf_legacy"),
        (a, "nwea_map", "reading", "BOY", "2021-09-14", 192.0, 38.0, None, "nwea_map_cdf_legacy"),
        (a, "nwea_map", "reading", "MOY", "2022-01-18", 197.0, 45.0, None, "nwea_map_cdf_legacy"),
        (b, "nwea_map", "math", "MOY", "2022-01-19", 176.0, 8.0, None, "nwea_map_cdf_legacy"),
        (b, "nwea_map", "other", "BOY", "2021-09-16", 188.0, 22.0, None, "nwea_map_cdf_legacy")]
    doms = rows(res, "screener_domains", "select student_id, subject, cast(test_date as varchar), domain, domain_score, "
                                         "domain_level_label from t order by all")
    assert len(doms) == 4 + 4 + 1 + 4 + 4
    assert (b, "math", "2022-01-19", "Statistics and Probability", 172.0, "Low") in doms
    assert (b, "other", "2021-09-16", "Writing: Plan, Organize, Develop, Revise, Research", 185.0, "Low") in doms
    # every reading/math goal maps to a canonical skill, every adjective to a level
    rm = sorted({(s, d) for _, s, _, d, _, _ in doms if s != "other"})
    assert skills("nwea_map", rm) == {
        "Foundational Skills": "phonics", "Informational Text: Key Ideas and Details": "comprehension_informational",
        "Literary Text: Key Ideas and Details": "comprehension_literature",
        "Vocabulary: Acquisition and Use": "vocabulary", "Geometry": "geometry",
        "Operations and Algebraic Thinking": "algebraic_thinking", "Statistics and Probability": "measurement_data",
        "The Real and Complex Number Systems": "number_operations"}
    assert levels("nwea_map", "domain", {lab for *_, lab in doms}) == {"Low": 1, "LoAvg": 2, "Avg": 3, "HiAvg": 4}


def test_iready_2021_22_ela_and_math(district):
    sid, res = land(district, ["iready_2021_diagnostic_results_ela.csv", "iready_2021_diagnostic_results_math.csv"])
    reps = {r.source_file.split("/")[-1]: r for r in res.files if r.folder == "screener"}
    for name, n in (("iready_2021_diagnostic_results_ela.csv", 3), ("iready_2021_diagnostic_results_math.csv", 1)):
        r = reps[name]
        assert (r.layout, r.layout_variant) == ("iready_diagnostic", "iready_diagnostic_2021"), name
        assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (n, n, 0), name
        assert r.id_match["column"] == "Student ID" and r.id_match["rate"] == 1.0
    a, b = sid["0605000"], sid["0605001"]
    got = rows(res, "screener_results", 'select student_id, subject, "window", cast(test_date as varchar), grade, '
                                        "scale_score, percentile, vendor_level, layout from t order by all")
    # no Norming Window: the window follows from the completion date's month
    assert got == [
        (a, "reading", "BOY", "2021-09-09", "K", 362.0, 31.0, "1 Grade Level Below", "iready_diagnostic_2021"),
        (b, "math", "BOY", "2021-09-10", "3", 431.0, 33.0, "1 Grade Level Below", "iready_diagnostic_2021"),
        (b, "reading", "BOY", "2021-09-08", "3", 452.0, 12.0, "2 Grade Levels Below", "iready_diagnostic_2021"),
        (b, "reading", "MOY", "2022-01-13", "3", 478.0, 24.0, "1 Grade Level Below", "iready_diagnostic_2021")]
    doms = rows(res, "screener_domains", "select student_id, subject, cast(test_date as varchar), domain, domain_score, "
                                         "domain_level_label from t order by all")
    assert len(doms) == 7 * 3 + 4
    assert (b, "reading", "2022-01-13", "Reading Comprehension: Literature", 489.0, "Early On Grade Level") in doms
    assert (b, "reading", "2021-09-08", "Phonological Awareness", None, "Tested Out") in doms
    assert (a, "reading", "2021-09-09", "Reading Comprehension: Literature", None, "Not Assessed") in doms
    assert skills("iready", sorted({(s, d) for _, s, _, d, _, _ in doms})) == {
        "Phonological Awareness": "phonological_awareness", "Phonics": "phonics",
        "High-Frequency Words": "high_frequency_words", "Vocabulary": "vocabulary",
        "Reading Comprehension: Overall": None, "Reading Comprehension: Literature": "comprehension_literature",
        "Reading Comprehension: Informational Text": "comprehension_informational",
        "Number and Operations": "number_operations", "Algebra and Algebraic Thinking": "algebraic_thinking",
        "Measurement and Data": "measurement_data", "Geometry": "geometry"}
    labels = {lab for *_, lab in doms} - {"Not Assessed"}
    assert levels("iready", "domain", labels) == {
        "2 Grade Levels Below": 1, "1 Grade Level Below": 2, "Early On Grade Level": 3, "Mid or Above Grade Level": 4,
        "Tested Out": 4}
    # the name columns ("Zoë Muñoz", "Nguyễn") are not loaded from a screener file: reported as unknown
    assert "Last Name" in reps["iready_2021_diagnostic_results_ela.csv"].unknown_columns
