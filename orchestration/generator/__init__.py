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
import yaml

from orchestration.config import Config

from . import population, screeners, sis, state_tests, truth, tutoring
from .school_calendar import Calendar, config_dict, default_school_year, start_year
from .tutoring_files import tutor_roster, write_tutoring
from .writers import write_csv

__all__ = ["generate", "default_school_year"]


def _write_config(path: Path, raw: dict, seed: int) -> None:
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Synthetic district written by tutoring-impact generate (seed {seed}).\n" + text,
                    encoding="utf-8")


def _write_screeners(folder: Path, scr: screeners.Screening, students: population.Students,
                     schools: population.Schools, cal: Calendar, roster: sis.Roster, end_day: int,
                     school_year: str) -> None:
    vendors = set(schools.screener)
    if "map" in vendors:
        cols = screeners.map_table(scr, students, schools, cal, end_day, school_year)
        write_csv(folder / "AssessmentResults.csv", screeners.MAP_HEADER,
                  [cols[c] for c in screeners.MAP_HEADER], style="quoted")
    if "iready" in vendors:
        titles = sis.class_titles(roster)
        teachers = sis.teacher_names(roster)
        for s, name, header in ((0, "diagnostic_results_ela.csv", screeners.IREADY_ELA_HEADER),
                                (1, "diagnostic_results_math.csv", screeners.IREADY_MATH_HEADER)):
            cls = roster.class_of[s]
            cols = screeners.iready_table(scr, students, schools, cal, end_day, school_year, s,
                                          titles.take(cls), teachers.take(roster.c_teacher[cls]))
            write_csv(folder / name, header, [cols[c] for c in header], bom=True, eol="\r\n")


def generate(students: int, schools: int, seed: int, out: Path, school_year: str | None = None,
             effect_sd: float = 0.20, only_cycle: str | None = None) -> dict:
    """Write a synthetic district to ``out`` and return its truth (also written to truth.json).

    students, schools: district size (schools ≥ 1; ≥ 4 gives elementary and middle schools);
    seed: any non-negative integer; school_year: like "2025-26", default the last finished one;
    effect_sd: the planted tutoring effect at adequate dosage, in SD of the observed score, for
    vendor tutors (× tutoring.TYPE_EFFECT by the tutor's type: teachers 1.75, community partners 0.5);
    only_cycle: write just that cycle's delivery (e.g. "2025-26-C7").
    """
    if students < 1 or schools < 1:
        raise ValueError("students and schools must be ≥ 1")
    if effect_sd < 0:
        raise ValueError("effect_sd must be ≥ 0")
    out = Path(out)
    sy = school_year or default_school_year()
    y = start_year(sy)
    school_list = population.make_schools(seed, schools)
    raw = config_dict(sy, school_list.district_name)
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
        sis.write_sis(folder / "sis", seed, pupils, school_list, cal, roster, prog.referrals, sy, c, stamp)
        _write_screeners(folder / "screener", scr, pupils, school_list, cal, roster, end_day, sy)
        state_tests.write_state_assessment(folder / "sis", state, pupils, sy, with_current=c == len(cal.cycles) - 1)
        bad_rows[cycle.id] = write_tutoring(folder / "tutoring", seed, pupils, school_list, cal, scr, prog,
                                            troster, c)
        (folder / "_READY").write_text(f"{delivery}\n", encoding="utf-8")

    result = truth.build_truth(seed, students, schools, sy, effect_sd, cal, pupils, school_list, scr,
                               prog, troster, written, bad_rows)
    result["state_assessment"] = state_tests.truth(state, pupils, sy)
    (out / "truth.json").write_text(json.dumps(result, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return result
