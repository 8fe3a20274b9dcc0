"""The synthetic district generator behind ``tutoring-impact generate``.

``generate()`` writes ``<out>/config.yml``, one year-to-date delivery per cycle under
``<out>/data/inbox/<cycle_id>/{sis,screener,tutoring}/`` with a ``_READY`` marker holding the
delivery date (cycle end + 2 days), and ``<out>/truth.json`` (what was planted; see ``truth.py``).

Everything is drawn from ``numpy.random.default_rng`` streams derived from the seed and a purpose
label, so the same seed and school year give byte-identical files, and one cycle's delivery is the
same whether it is written alone (``only_cycle``) or with the others. The whole year is simulated
first (vectorised over students and session rows); each delivery keeps what is dated ≤ its end.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from orchestration.config import Config

from . import population, screeners, sis, state_tests, truth, tutoring
from .school_calendar import Calendar, config_dict, default_school_year, start_year
from .tutoring_files import MAPPED_PROVIDERS, tutor_roster, write_tutoring
from .writers import write_csv

__all__ = ["generate", "default_school_year"]


def _write_config(path: Path, raw: dict, seed: int) -> None:
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Synthetic district written by tutoring-impact generate (seed {seed}).\n" + text,
                    encoding="utf-8")


def _repeat_header_at_term_changes(cols: dict[str, pa.Array], header: tuple[str, ...]) -> tuple[list, int]:
    """A "combined" CDF is the term files concatenated: each later term starts with the header again
    (a row landing quarantines as malformed_row). Returns the columns and the number of repeats."""
    term = cols["TermName"].dictionary_encode().indices.to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(term[1:] != term[:-1]) + 1 if len(term) else np.zeros(0, dtype=np.int64)
    n = len(term)
    idx = np.insert(np.arange(n), starts, n)              # index n = the header row
    out = [pa.concat_arrays([cols[h], pa.array([h], pa.string())]).take(pa.array(idx)) for h in header]
    return out, int(len(starts))


def _write_screeners(folder: Path, scr: screeners.Screening, students: population.Students,
                     schools: population.Schools, cal: Calendar, roster: sis.Roster, end_day: int,
                     school_year: str) -> dict[str, dict[str, int]]:
    """Write one delivery's screener/ folder, a file per source that measures anyone this year;
    returns the planted bad rows per file (the legacy combined file's repeated headers)."""
    present = {name: bool((scr.source == k).any()) for k, name in enumerate(screeners.SOURCES)}
    titles = sis.class_titles(roster)
    teachers = sis.teacher_names(roster)
    reading_title, reading_teacher = titles.take(roster.class_of[0]), teachers.take(roster.c_teacher[roster.class_of[0]])
    bad: dict[str, dict[str, int]] = {}
    if present["map_2021"]:
        cols = screeners.map_table(scr, students, schools, cal, end_day, school_year)
        write_csv(folder / "AssessmentResults.csv", screeners.MAP_HEADER,
                  [cols[c] for c in screeners.MAP_HEADER], style="quoted")
    if present["map_legacy"]:
        cols = screeners.map_table(scr, students, schools, cal, end_day, school_year, "map_legacy")
        body, repeats = _repeat_header_at_term_changes(cols, screeners.MAP_LEGACY_HEADER)
        write_csv(folder / "CombinedAssessmentResults.csv", screeners.MAP_LEGACY_HEADER, body)
        if repeats:
            bad["screener/CombinedAssessmentResults.csv"] = {"malformed_row": repeats}
    for source, names, headers, kw in (
            ("iready_2025", ("diagnostic_results_ela.csv", "diagnostic_results_math.csv"),
             (screeners.IREADY_ELA_HEADER, screeners.IREADY_MATH_HEADER), dict(bom=True, eol="\r\n")),
            ("iready_2021", ("diagnostic_results_ela_2021-2022.csv", "diagnostic_results_math_2021-2022.csv"),
             (screeners.IREADY_2021_ELA_HEADER, screeners.IREADY_2021_MATH_HEADER), {})):
        if not present[source]:
            continue
        for s in (0, 1):
            if not (scr.source[s] == screeners.SOURCES.index(source)).any():
                continue
            cls = roster.class_of[s]
            cols = screeners.iready_table(scr, students, schools, cal, end_day, school_year, s,
                                          titles.take(cls), teachers.take(roster.c_teacher[cls]), source)
            write_csv(folder / names[s], headers[s], [cols[c] for c in headers[s]], **kw)
    if present["dibels8"]:
        cols = screeners.dibels_table(scr, students, schools, cal, end_day, school_year, reading_title,
                                      reading_teacher)
        write_csv(folder / "BM_Student_Summary_DIBELS8.csv", screeners.DIBELS_HEADER,
                  [cols[c] for c in screeners.DIBELS_HEADER])
    if present["star_reading"]:
        sr, std = screeners.star_tables(scr, students, schools, cal, end_day, school_year, reading_title,
                                        reading_teacher)
        write_csv(folder / "SR.csv", screeners.STAR_HEADER, [sr[c] for c in screeners.STAR_HEADER])
        write_csv(folder / "SR_Dashboard_Standards_v2.csv", screeners.STAR_STANDARDS_HEADER,
                  [std[c] for c in screeners.STAR_STANDARDS_HEADER], style="minimal")
    if present["star_math"]:
        res, dom = screeners.star_math_tables(scr, students, cal, end_day)
        write_csv(folder / "star_math_screener_results.csv", screeners.CANONICAL_RESULTS_HEADER,
                  [res[c] for c in screeners.CANONICAL_RESULTS_HEADER])
        write_csv(folder / "star_math_screener_domains.csv", screeners.CANONICAL_DOMAINS_HEADER,
                  [dom[c] for c in screeners.CANONICAL_DOMAINS_HEADER], style="minimal")
    return bad


def generate(students: int, schools: int, seed: int, out: Path, school_year: str | None = None,
             effect_sd: float = 0.20, only_cycle: str | None = None, attendance_feed: str = "daily") -> dict:
    """Write a synthetic district to ``out`` and return its truth (also written to truth.json).

    students, schools: district size (schools ≥ 1; ≥ 4 gives elementary and middle schools);
    seed: any non-negative integer; school_year: like "2025-26", default the last finished one;
    effect_sd: the planted tutoring effect at adequate dosage, in SD of the observed score, for
    vendor tutors (× tutoring.TYPE_EFFECT by the tutor's type: teachers 1.75, community partners 0.5);
    only_cycle: write just that cycle's delivery (e.g. "2025-26-C7");
    attendance_feed: "daily" (a row per student per school day) or "absences_only" (the SIS's
    daily-absences export; the config then says ``attendance: {feed: absences_only}``).
    """
    if students < 1 or schools < 1:
        raise ValueError("students and schools must be ≥ 1")
    if effect_sd < 0:
        raise ValueError("effect_sd must be ≥ 0")
    if attendance_feed not in ("daily", "absences_only"):
        raise ValueError("attendance_feed must be daily or absences_only")
    out = Path(out)
    sy = school_year or default_school_year()
    y = start_year(sy)
    school_list = population.make_schools(seed, schools)
    raw = config_dict(sy, school_list.district_name)
    # feeds read through a shipped YAML mapping, named so detection never has to guess
    raw["sources"] = [{"name": mapping, "folder": "tutoring", "pattern": name, "mapping": mapping}
                      for name, mapping in MAPPED_PROVIDERS.values()]
    if attendance_feed == "absences_only":
        raw["attendance"] = {"feed": "absences_only"}
        raw["sources"].append({"name": "district_absences", "folder": "sis", "pattern": "daily_absences*.csv",
                               "mapping": "district_absences"})
    config_path = out / "config.yml"
    _write_config(config_path, raw, seed)
    config = Config(raw, config_path)
    cal = Calendar.from_config(config)
    if only_cycle is not None:
        written = [config.cycle(only_cycle).index - 1]
    else:
        written = list(range(len(cal.cycles)))

    pupils = population.make_students(seed, students, school_list, y)
    scr = screeners.simulate(seed, pupils, school_list, cal)
    prog = tutoring.simulate(seed, pupils, school_list, cal, scr, effect_sd)
    roster = sis.build_roster(seed, pupils, school_list, cal)
    state = state_tests.simulate(seed, pupils, scr)
    troster = tutor_roster(seed, prog, cal)

    inbox = config.inbox
    bad_rows: dict[str, dict] = {}
    for c in written:
        cycle = cal.cycles[c]
        folder = inbox / cycle.id
        if folder.exists():
            shutil.rmtree(folder)
        end_day = cal.day(cycle.end)
        delivery = (np.datetime64(cycle.end.isoformat()) + np.timedelta64(2, "D")).astype(str)
        stamp = f"{delivery}T05:00:00.000Z"
        sis.write_sis(folder / "sis", seed, pupils, school_list, cal, roster, prog.referrals, sy, c, stamp,
                      attendance_feed)
        bad = _write_screeners(folder / "screener", scr, pupils, school_list, cal, roster, end_day, sy)
        state_tests.write_state_assessment(folder / "sis", state, pupils, sy, with_current=c == len(cal.cycles) - 1)
        bad.update(write_tutoring(folder / "tutoring", seed, pupils, school_list, cal, scr, prog, troster, c))
        bad_rows[cycle.id] = bad
        (folder / "_READY").write_text(f"{delivery}\n", encoding="utf-8")

    result = truth.build_truth(seed, students, schools, sy, effect_sd, cal, pupils, school_list, scr,
                               prog, troster, written, bad_rows)
    result["state_assessment"] = state_tests.truth(state, pupils, sy)
    (out / "truth.json").write_text(json.dumps(result, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return result
