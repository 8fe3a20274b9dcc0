"""The state accountability test: last year's results (known from the first delivery) and this
year's (delivered with the last cycle, when a state's results typically arrive).

Grain: one result per student × subject × school year for students in a tested grade (3–8) that
year. Model (units: SD of the national norm population, as in screeners.py):
    prior year:   y = θ + N(0, PRIOR_NOISE_SD)            (grade − 1, students now in grades 4–8)
    current year: y = x_EOY + N(0, CURRENT_NOISE_SD)       (grades 3–8; x_EOY includes the planted
                                                            tutoring effect, so tutoring shows here)
scale score = round(SCALE_BASE + SCALE_PER_GRADE × grade + SCALE_SD × y); the achievement level is
1 + the number of the grade's cut scores the scale score reaches (cut score = the same formula at
y = LEVEL_CUTS[k], rounded), proficient ⇔ level ≥ PROFICIENT_LEVEL. The file is the canonical
``state_assessment`` layout keyed by the state student ID (states know students by it), with the
state's subject names (ELA, Mathematics) and two-digit grades, which landing maps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ._util import lookup, stream, text
from .population import Students
from .screeners import Screening
from .writers import write_csv

HEADER = ("student_id", "school_year", "subject", "grade", "scale_score", "achievement_level",
          "achievement_label", "proficient")
TESTED_GRADES = range(3, 9)
PRIOR_NOISE_SD = 0.45
CURRENT_NOISE_SD = 0.30
TESTED_SHARE = 0.95
SCALE_BASE, SCALE_PER_GRADE, SCALE_SD = 300.0, 10.0, 35.0
LEVEL_CUTS = (-0.55, 0.15, 1.0)            # y at the bottom of levels 2, 3, 4
PROFICIENT_LEVEL = 3
LEVEL_LABELS = ("Not Yet Meeting", "Partially Meeting", "Meeting", "Exceeding")
SUBJECT_NAMES = ("ELA", "Mathematics")


def cut_scores(grade: int) -> list[int]:
    """The scale score at the bottom of levels 2, 3 and 4 in a grade."""
    return [int(np.rint(SCALE_BASE + SCALE_PER_GRADE * grade + SCALE_SD * c)) for c in LEVEL_CUTS]


def _levels(score: np.ndarray, grade: np.ndarray) -> np.ndarray:
    cuts = np.stack([np.rint(SCALE_BASE + SCALE_PER_GRADE * grade + SCALE_SD * c) for c in LEVEL_CUTS])
    return 1 + (score[None, :] >= cuts).sum(axis=0)


def previous_year(school_year: str) -> str:
    y = int(school_year[:4]) - 1
    return f"{y}-{(y + 1) % 100:02d}"


def simulate(seed: int, students: Students, scr: Screening) -> dict[str, dict[str, np.ndarray]]:
    """{'prior' | 'current': {'student', 'subject', 'grade', 'score', 'level'}} — arrays, sorted by
    student then subject."""
    rng = stream(seed, "state-tests")
    n = students.n
    out = {}
    for which, grade, y in (
            ("prior", students.grade - 1, students.theta + rng.normal(0, PRIOR_NOISE_SD, (2, n))),
            ("current", students.grade, np.stack([scr.x(2, s) for s in range(2)])
             + rng.normal(0, CURRENT_NOISE_SD, (2, n)))):
        tested = (rng.random((2, n)) < TESTED_SHARE) & np.isin(grade, list(TESTED_GRADES))[None, :]
        if which == "current":
            tested &= scr.tested[2]                  # absent on the spring test days too
        s_idx, i_idx = np.nonzero(tested)
        order = np.lexsort((s_idx, i_idx))
        s_idx, i_idx = s_idx[order], i_idx[order]
        g = grade[i_idx]
        score = np.rint(SCALE_BASE + SCALE_PER_GRADE * g + SCALE_SD * y[s_idx, i_idx]).astype(np.int64)
        out[which] = {"student": i_idx, "subject": s_idx, "grade": g, "score": score,
                      "level": _levels(score, g)}
    return out


def write_state_assessment(folder: Path, results: dict, students: Students, school_year: str,
                           with_current: bool) -> None:
    """sis/state_assessment.csv: last year's results, and this year's when ``with_current``."""
    parts = [("prior", previous_year(school_year))] + ([("current", school_year)] if with_current else [])
    cols: list[list[pa.Array]] = []
    for which, year in parts:
        r = results[which]
        m = len(r["student"])
        lvl = r["level"]
        cols.append([
            students.state_id.take(pa.array(r["student"])),
            lookup([year], np.zeros(m, dtype=np.int64)),
            lookup(SUBJECT_NAMES, r["subject"]),
            lookup([f"{g:02d}" for g in range(13)], r["grade"]),
            text(r["score"]),
            text(lvl),
            lookup(LEVEL_LABELS, lvl - 1),
            lookup(["N", "Y"], (lvl >= PROFICIENT_LEVEL).astype(np.int64)),
        ])
    columns = [pa.concat_arrays([c[k] for c in cols]) for k in range(len(HEADER))]
    write_csv(folder / "state_assessment.csv", HEADER, columns)


def truth(results: dict, students: Students, school_year: str) -> dict:
    """truth.json's ``state_assessment``: cut scores, proficient level, and per school year and
    subject the number of results and of proficient ones."""
    sid = students.sourced_id.to_pylist()
    out = {"proficient_level": PROFICIENT_LEVEL, "levels": list(LEVEL_LABELS),
           "cut_scores": {str(g): cut_scores(g) for g in TESTED_GRADES}, "results": {}}
    for which, year in (("prior", previous_year(school_year)), ("current", school_year)):
        r = results[which]
        per = {}
        for s, name in enumerate(("reading", "math")):
            k = r["subject"] == s
            per[name] = {"n": int(k.sum()), "n_proficient": int((k & (r["level"] >= PROFICIENT_LEVEL)).sum())}
        out["results"][year] = per
    bubble = {}
    r = results["prior"]
    for s, name in enumerate(("reading", "math")):
        k = (r["subject"] == s) & (r["level"] == PROFICIENT_LEVEL - 1)
        bubble[name] = sorted(sid[i] for i in r["student"][k].tolist())
    out["n_bubble_prior"] = {k: len(v) for k, v in bubble.items()}
    return out
