"""Universal screener results: BOY / MOY / EOY benchmark windows, scores, domain standings, and the
two vendor layouts they are delivered in (NWEA MAP Growth CDF 2021+, i-Ready Diagnostic 2025-26).

Model (units: standard deviations of the national norm population):
    x[w, s, i] = θ[s, i] + growth[w, s, i] + ε[w, s, i] + effect[w, s, i] · unit[w, s, i]
with ε ~ N(0, 0.35), growth 0 at BOY and a N(0, 0.2) step per later window, effect the planted
tutoring effect (tutoring.py) and unit the sample SD of the observed x among the students tested in
window w in the student's vendor × grade (the cell growth_z is standardised in, DESIGN §7), so an
effect of 0.2 moves growth_z by 0.2. Percentile = clip(round(100 Φ(x / sd_w)), 1, 99), sd_w the
national population SD of x at window w (√(1 + var growth + 0.35²)); scale score = vendor
mean(grade, window) + vendor sd × x. Skill (domain) standing = x + a persistent per-student skill
deviation N(0, 0.6) + window noise N(0, 0.25); each student's weakest reported skill is their
priority gap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sources.contracts import MATH_SKILLS, READING_SKILLS

import pyarrow.compute as pc

from ._util import blank, fixed, join, lookup, padded, percentile_of, stream, text
from .population import GRADE_TEXT, Schools, Students
from .school_calendar import Calendar

WINDOWS = ("BOY", "MOY", "EOY")
EPS_SD = 0.35
GROWTH_SD = 0.2
SKILL_SD = 0.6
SKILL_NOISE_SD = 0.25
TESTED_SHARE = 0.97
SKILLS = (READING_SKILLS, MATH_SKILLS)            # subject 0 = reading, 1 = math


def window_sd(w: int) -> float:
    return float(np.sqrt(1.0 + w * GROWTH_SD ** 2 + EPS_SD ** 2))


def skill_sd(w: int) -> float:
    return float(np.sqrt(window_sd(w) ** 2 + SKILL_SD ** 2 + SKILL_NOISE_SD ** 2))


# ---------------------------------------------------------------------------------------- layouts
MAP_HEADER = (
    "TermName,DistrictName,District_StateID,SchoolName,School_StateID,StudentID,Student_StateID,"
    "Subject,Course,GrowthMeasureYN,NormsReferenceData,WISelectedAYFall,WISelectedAYWinter,"
    "WISelectedAYSpring,WIPreviousAYFall,WIPreviousAYWinter,WIPreviousAYSpring,TestType,TestName,"
    "TestID,TestStartDate,TestStartTime,TestDurationMinutes,TestRITScore,TestStandardError,"
    "TestPercentile,AchievementQuintile,PercentCorrect,RapidGuessingPercentage"
).split(",")
for _a, _b in (("Fall", "Fall"), ("Fall", "Winter"), ("Fall", "Spring"), ("Winter", "Winter"),
               ("Winter", "Spring"), ("Spring", "Spring")):
    MAP_HEADER += [f"{_a}To{_b}{k}" for k in (
        "ProjectedGrowth", "ObservedGrowth", "ObservedGrowthSE", "MetProjectedGrowth",
        "ConditionalGrowthIndex", "ConditionalGrowthPercentile", "GrowthQuintile")]
MAP_HEADER += ["LexileScore", "LexileMin", "LexileMax", "QuantileScore", "QuantileMin", "QuantileMax"]
for _k in range(1, 9):
    MAP_HEADER += [f"Goal{_k}{f}" for f in ("Name", "RitScore", "StdErr", "Range", "Adjective")]
MAP_HEADER += [f"Typical{a}To{b}Growth" for a, b in (
    ("Fall", "Fall"), ("Fall", "Winter"), ("Fall", "Spring"), ("Winter", "Winter"),
    ("Winter", "Spring"), ("Spring", "Spring"))]
for _k in range(1, 11):
    MAP_HEADER += [f"ProjectedProficiencyStudy{_k}", f"ProjectedProficiencyLevel{_k}"]
MAP_HEADER = tuple(MAP_HEADER)
assert len(MAP_HEADER) == 143

_IREADY_COMMON = (
    "Last Name", "First Name", "Student ID", "Student Grade", "Academic Year", "School", "Enrolled",
    "District State ID", "Account State ID", "School State ID", "Student State ID", "User Name", "Sex",
    "Hispanic or Latino", "Race", "English Language Learner", "Special Education",
    "Economically Disadvantaged", "Migrant", "Class(es)", "Class Teacher(s)", "Report Group(s)",
    "Start Date", "Completion Date", "Norming Window", "Baseline Diagnostic (Y/N)",
    "Most Recent Diagnostic YTD (Y/N)", "Duration (min)", "Rush Flag", "Read Aloud",
    "Overall Scale Score", "Overall Placement", "Overall Relative Placement", "Percentile", "Grouping",
)
IREADY_ELA_DOMAINS = ("Phonological Awareness", "Phonics", "High-Frequency Words", "Vocabulary",
                      "Comprehension: Overall", "Comprehension: Literature",
                      "Comprehension: Informational Text")
IREADY_MATH_DOMAINS = ("Number and Operations", "Algebra and Algebraic Thinking",
                       "Measurement and Data", "Geometry")
_GROWTH_TAIL = ("Diagnostic Gain", "Annual Typical Growth Measure", "Annual Stretch Growth Measure",
                "Percent Progress to Annual Typical Growth (%)",
                "Percent Progress to Annual Stretch Growth (%)", "Mid On Grade Level Scale Score")


def _domain_columns(domains: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{d} {k}" for d in domains for k in ("Scale Score", "Placement", "Relative Placement"))


IREADY_ELA_HEADER = (_IREADY_COMMON + ("Lexile Measure", "Lexile Range") + _domain_columns(IREADY_ELA_DOMAINS)
                     + _GROWTH_TAIL + ("Reading Difficulty Indicator (Y/N)",))
IREADY_MATH_HEADER = (_IREADY_COMMON + ("Quantile Measure", "Quantile Range")
                      + _domain_columns(IREADY_MATH_DOMAINS) + _GROWTH_TAIL
                      + ("Proficiency if Student Shows No Additional Growth",
                         "Projection if Student Achieves Typical Growth",
                         "Projection if Student Achieves Stretch Growth"))
assert len(IREADY_ELA_HEADER) == 65 and len(IREADY_MATH_HEADER) == 58

# Vendor vocabularies
MAP_TERMS = ("Fall", "Winter", "Spring")
MAP_SUBJECT = ("Reading", "Mathematics")
MAP_COURSE = ("Reading", "Math K-12")
MAP_QUINTILES = ("Low", "LoAvg", "Avg", "HiAvg", "High")     # AchievementQuintile and Goal adjectives
MAP_GOALS = (("Foundational Skills", "Vocabulary: Acquisition and Use",
              "Literary Text: Key Ideas and Details", "Informational Text: Key Ideas and Details"),
             ("Number and Operations", "Operations and Algebraic Thinking", "Measurement and Data",
              "Geometry"))
# canonical skill index (within the subject) behind each MAP goal / i-Ready domain
MAP_GOAL_SKILL = ((1, 4, 5, 6), (0, 1, 2, 3))
IREADY_DOMAIN_SKILL = ((0, 1, 2, 4, -1, 5, 6), (0, 1, 2, 3))     # -1: Comprehension: Overall
IREADY_WINDOWS = ("Fall (Beginning of Year - November 15)", "Winter (November 16 - March 1)",
                  "Spring (March 2 - End of Year)")
IREADY_RELATIVE = ("3 or More Grade Levels Below", "2 Grade Levels Below", "1 Grade Level Below",
                   "Early On Grade Level", "Mid or Above Grade Level")
IREADY_RELATIVE_CUTS = (8, 25, 60, 80)                     # percentile cuts between the five levels
IREADY_RACE = ("American Indian or Alaska Native", "Asian", "Black or African American",
               "Native Hawaiian or Other Pacific Islander", "White", "Two or More Races")

MAP_MEAN = (150.0, 9.0, (0.0, 4.5, 8.0), 14.0)              # base, per grade, window gain, sd
IREADY_MEAN = (380.0, 25.0, (0.0, 12.0, 22.0), 30.0)


def quintile(pct: np.ndarray) -> np.ndarray:
    """MAP achievement quintile index: Low ≤ 20, LoAvg 21–40, Avg 41–60, HiAvg 61–80, High ≥ 81."""
    return np.searchsorted(np.array([20, 40, 60, 80]), pct, side="left")


def relative_level(pct: np.ndarray, grade: np.ndarray) -> np.ndarray:
    """i-Ready relative placement index 0…4 (3+ below … mid or above); a K student can be at most
    one level below, a grade-1 student two."""
    lvl = np.searchsorted(np.array(IREADY_RELATIVE_CUTS), pct, side="right")
    return np.maximum(lvl, np.maximum(2 - grade, 0))


# ------------------------------------------------------------------------------------ simulation
@dataclass
class Windows:
    days: list[np.ndarray]          # candidate test days per window
    cycle: list[int]                # 0-based cycle index holding each window


def plan_windows(cal: Calendar) -> Windows:
    """BOY: the ten school days from first_day + 14; MOY: ten school days from the Monday of the
    week holding Jan 15; EOY: the same from the week holding May 15 — each kept inside one cycle."""
    import datetime as dt
    y = cal.first_day.year
    anchors = [cal.first_day + dt.timedelta(days=14), dt.date(y + 1, 1, 15), dt.date(y + 1, 5, 15)]
    days, cycles = [], []
    for w, a in enumerate(anchors):
        start = a if w == 0 else a - dt.timedelta(days=a.weekday())
        c = int(cal.cycle_of_day(np.array([cal.day(a)]))[0])
        lo, hi = cal.cycle_days(cal.cycles[c])
        cand = cal.school_days(max(lo, cal.day(start)), hi)[:10]
        if len(cand) == 0:
            raise ValueError(f"no school days for the {WINDOWS[w]} window")
        days.append(cand)
        cycles.append(c)
    return Windows(days, cycles)


@dataclass
class Screening:
    windows: Windows
    vendor: np.ndarray              # per student: 0 = map, 1 = iready
    tested: np.ndarray              # bool (3, 2, n)
    day: np.ndarray                 # int (3, 2, n) test day
    minute: np.ndarray              # int (3, 2, n) test start, minutes after midnight
    base: np.ndarray                # (3, 2, n) x without the tutoring effect
    skill_dev: list[np.ndarray]     # per subject (n, k) persistent deviations
    skill_noise: list[np.ndarray]   # per subject (3, n, k)
    effect: np.ndarray              # (3, 2, n) planted effect in SD units (0 until set)
    effect_unit: np.ndarray         # (3, 2, n) x units per SD of effect: the norm cell's observed SD
    style: np.ndarray               # (3, 2, n) uniform draws for cosmetic choices

    def x(self, w: int, s: int) -> np.ndarray:
        return self.base[w, s] + self.effect[w, s] * self.effect_unit[w, s]

    def percentile(self, w: int, s: int) -> np.ndarray:
        return percentile_of(self.x(w, s) / window_sd(w))

    def standing(self, w: int, s: int) -> np.ndarray:
        """(n, k) skill standings at window w."""
        return self.x(w, s)[:, None] + self.skill_dev[s] + self.skill_noise[s][w]

    def skill_percentile(self, w: int, s: int) -> np.ndarray:
        return percentile_of(self.standing(w, s) / skill_sd(w))


def simulate(seed: int, students: Students, schools: Schools, cal: Calendar) -> Screening:
    n = students.n
    rng = stream(seed, "screeners")
    win = plan_windows(cal)
    tested = rng.random((3, 2, n)) < TESTED_SHARE
    day = np.stack([np.stack([win.days[w][rng.integers(0, len(win.days[w]), n)] for _ in range(2)])
                    for w in range(3)])
    minute = 8 * 60 + 5 * rng.integers(0, 78, (3, 2, n))
    growth = np.zeros((3, 2, n))
    growth[1] = rng.normal(0, GROWTH_SD, (2, n))
    growth[2] = growth[1] + rng.normal(0, GROWTH_SD, (2, n))
    base = students.theta[None, :, :] + growth + rng.normal(0, EPS_SD, (3, 2, n))
    dev = [rng.normal(0, SKILL_SD, (n, len(SKILLS[s]))) for s in range(2)]
    noise = [rng.normal(0, SKILL_NOISE_SD, (3, n, len(SKILLS[s]))) for s in range(2)]
    vendor = np.array([0 if v == "map" else 1 for v in schools.screener])[students.school]
    unit = np.broadcast_to(np.array([window_sd(w) for w in range(3)])[:, None, None], (3, 2, n)).copy()
    return Screening(win, vendor, tested, day, minute, base, dev, noise, np.zeros((3, 2, n)), unit,
                     rng.random((3, 2, n)))


def norm_cell_sd(scr: Screening, grade: np.ndarray, w: int, s: int) -> np.ndarray:
    """Per student: the sample SD of the observed x at window w among the students tested in it in
    the same vendor × grade — the cell growth_z standardises in (NaN for a cell of fewer than two)."""
    x = scr.x(w, s)
    cell = scr.vendor * 100 + grade
    ok = scr.tested[w, s]
    size = np.bincount(cell[ok], minlength=200).astype(np.float64)
    total = np.bincount(cell[ok], weights=x[ok], minlength=200)
    mean = total / np.maximum(size, 1)
    dev2 = np.bincount(cell[ok], weights=(x[ok] - mean[cell[ok]]) ** 2, minlength=200)
    sd = np.where(size >= 2, np.sqrt(dev2 / np.maximum(size - 1, 1)), np.nan)
    return sd[cell]


def iready_status(grade: np.ndarray, skill: int, subject: int, pct: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Per student, for one i-Ready ELA domain: 0 scored, 1 surpassed (phonics / high-frequency words
    above the foundational grades), 2 not assessed (phonological awareness above grade 1)."""
    st = np.zeros(len(grade), dtype=np.int8)
    if subject != 0:
        return st
    if skill == 0:
        st[grade > 1] = 2
    elif skill in (1, 2):
        cut = np.where(grade >= 4, 15, np.where(grade >= 2, 55 if skill == 1 else 40, 101))
        st[pct >= cut] = 1
    return st


def reported_skills(scr: Screening, grade: np.ndarray, w: int, s: int) -> np.ndarray:
    """(n, k) bool: which canonical skills the student's vendor reports with a score at window w."""
    n, k = len(grade), len(SKILLS[s])
    out = np.zeros((n, k), dtype=bool)
    is_map = scr.vendor == 0
    for j in MAP_GOAL_SKILL[s]:
        out[is_map, j] = True
    pct = scr.skill_percentile(w, s)
    for j in IREADY_DOMAIN_SKILL[s]:
        if j < 0:
            continue
        ok = iready_status(grade, j, s, pct[:, j], scr.style[w, s]) == 0
        out[~is_map & ok, j] = True
    return out


def priority_skill(scr: Screening, grade: np.ndarray, w: int, s: int) -> np.ndarray:
    """Index (within the subject) of each student's weakest reported skill at window w."""
    st = np.where(reported_skills(scr, grade, w, s), scr.standing(w, s), np.inf)
    return np.argmin(st, axis=1)


# ------------------------------------------------------------------------------------- delivery
def _rows(scr: Screening, students: Students, end_day: int, vendor: int, subjects: tuple[int, ...]):
    """(w, s, i) of results with test day ≤ end_day for the vendor's students, sorted by test day,
    then local ID, then subject."""
    ws, ss, ii = [], [], []
    for w in range(3):
        for s in subjects:
            m = scr.tested[w, s] & (scr.day[w, s] <= end_day) & (scr.vendor == vendor)
            idx = np.flatnonzero(m)
            ws.append(np.full(len(idx), w))
            ss.append(np.full(len(idx), s))
            ii.append(idx)
    w, s, i = np.concatenate(ws), np.concatenate(ss), np.concatenate(ii)
    d = scr.day[w, s, i]
    order = np.lexsort((s, students.local_rank[i], d))
    return w[order], s[order], i[order]


def _first_last(scr: Screening, end_day: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Per student: the window of the first and of the latest result with day ≤ end_day (-1 none)."""
    have = scr.tested[:, s] & (scr.day[:, s] <= end_day)
    first = np.where(have.any(0), np.argmax(have, axis=0), -1)
    last = np.where(have.any(0), 2 - np.argmax(have[::-1], axis=0), -1)
    return first, last


def map_table(scr: Screening, students: Students, schools: Schools, cal: Calendar, end_day: int,
              school_year: str) -> dict[str, pa.Array]:
    w, s, i = _rows(scr, students, end_day, 0, (0, 1))
    m = len(i)
    g = students.grade[i]
    x = np.zeros(m)
    pct = np.zeros(m, dtype=np.int16)
    for ww in range(3):
        for sub in range(2):
            k = (w == ww) & (s == sub)
            x[k] = scr.x(ww, sub)[i[k]]
            pct[k] = scr.percentile(ww, sub)[i[k]]
    mean, sd = MAP_MEAN[0] + MAP_MEAN[1] * g + np.take(MAP_MEAN[2], w), MAP_MEAN[3]
    rit = np.rint(mean + sd * x).astype(np.int64)
    u = scr.style[w, s, i]                       # cosmetic columns come from this per-result draw
    years = f"{school_year[:4]}-{int(school_year[:4]) + 1}"
    sch = students.school[i]
    cols: dict[str, pa.Array] = {}
    cols["TermName"] = lookup([f"{t} {years}" for t in MAP_TERMS], w)
    cols["DistrictName"] = lookup([schools.district_name], np.zeros(m, dtype=np.int64))
    cols["District_StateID"] = lookup([schools.district_identifier], np.zeros(m, dtype=np.int64))
    cols["SchoolName"] = lookup(schools.name, sch)
    cols["School_StateID"] = lookup(schools.identifier, sch)
    cols["StudentID"] = students.local_id.take(pa.array(i))
    cols["Student_StateID"] = students.state_id.take(pa.array(i))
    cols["Subject"] = lookup(MAP_SUBJECT, s)
    cols["Course"] = lookup(MAP_COURSE, s)
    cols["GrowthMeasureYN"] = lookup(["TRUE"], np.zeros(m, dtype=np.int64))
    cols["NormsReferenceData"] = lookup(["2020"], np.zeros(m, dtype=np.int64))
    for ww, name in enumerate(("WISelectedAYFall", "WISelectedAYWinter", "WISelectedAYSpring")):
        cols[name] = lookup(["1"], np.where(w == ww, 0, -1))
    cols["TestType"] = lookup(["Survey With Goals"], np.zeros(m, dtype=np.int64))
    band = np.where(g <= 1, 0, np.where(g <= 5, 1, 2))
    names = [f"Growth: {subj} {b} CCSS 2010" for subj in ("Reading", "Math") for b in ("K-2", "2-5", "6+")]
    cols["TestName"] = lookup(names, s * 3 + band)
    cols["TestID"] = text(700000000 + (w * 2 + s) * students.n + i)
    cols["TestStartDate"] = lookup(cal.day_strings("us"), scr.day[w, s, i])
    minute = scr.minute[w, s, i]
    cols["TestStartTime"] = join(padded(minute // 60, 2), ":", padded(minute % 60, 2), ":",
                                 padded((i * 7 + w * 13) % 60, 2))
    cols["TestDurationMinutes"] = text(20 + (u * 40).astype(np.int64))
    cols["TestRITScore"] = text(rit)
    cols["TestStandardError"] = fixed(3.0 + np.floor(u * 7) / 10, 2)
    cols["TestPercentile"] = text(pct.astype(np.int64))
    cols["AchievementQuintile"] = lookup(MAP_QUINTILES, quintile(pct))
    cols["PercentCorrect"] = text(np.clip(np.rint(50 + 8 * (x - np.round(x, 0)) + 10 * (u - 0.5)), 1, 99).astype(np.int64))
    cols["RapidGuessingPercentage"] = fixed(np.where(u > 0.9, 5.0 * (u - 0.9) * 10, 0.0), 4)
    # observed growth since earlier windows of this school year
    base_rit = {}
    for ww in range(3):
        mean_w = MAP_MEAN[0] + MAP_MEAN[1] * g + MAP_MEAN[2][ww]
        xs = np.zeros(m)
        for sub in range(2):
            k = s == sub
            xs[k] = scr.x(ww, sub)[i[k]]
        have = scr.tested[ww, s, i] & (scr.day[ww, s, i] <= end_day)
        base_rit[ww] = (np.rint(mean_w + MAP_MEAN[3] * xs).astype(np.int64), have)
    for (a, b), col in (((0, 1), "FallToWinterObservedGrowth"), ((0, 2), "FallToSpringObservedGrowth"),
                        ((1, 2), "WinterToSpringObservedGrowth")):
        ok = (w == b) & base_rit[a][1]
        cols[col] = _masked_int(rit - base_rit[a][0], ok)
    # goal blocks
    goal_rit = np.zeros((m, 4), dtype=np.int64)
    goal_pct = np.zeros((m, 4), dtype=np.int16)
    for ww in range(3):
        for sub in range(2):
            k = (w == ww) & (s == sub)
            if not k.any():
                continue
            st = scr.standing(ww, sub)[i[k]]
            sp = scr.skill_percentile(ww, sub)[i[k]]
            for gi, j in enumerate(MAP_GOAL_SKILL[sub]):
                goal_rit[k, gi] = np.rint(mean[k] + MAP_MEAN[3] * st[:, j]).astype(np.int64)
                goal_pct[k, gi] = sp[:, j]
    for gi in range(4):
        se = 6 + np.floor(((u * 10 + gi * 0.37) % 1) * 15) / 10
        half = np.rint(se).astype(np.int64)
        cols[f"Goal{gi + 1}Name"] = lookup(MAP_GOALS[0] + MAP_GOALS[1], s * 4 + gi)
        cols[f"Goal{gi + 1}RitScore"] = text(goal_rit[:, gi])
        cols[f"Goal{gi + 1}StdErr"] = fixed(se, 1)
        cols[f"Goal{gi + 1}Range"] = join(text(goal_rit[:, gi] - half), "-", text(goal_rit[:, gi] + half))
        cols[f"Goal{gi + 1}Adjective"] = lookup(MAP_QUINTILES, quintile(goal_pct[:, gi]))
    empty = blank(m)
    return {name: cols.get(name, empty) for name in MAP_HEADER}


def _masked_int(values: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Integers where ok, blank elsewhere (MAP writes blanks as "")."""
    arr = text(values)
    return pc.if_else(pa.array(ok), arr, pa.scalar("", pa.string()))


def iready_table(scr: Screening, students: Students, schools: Schools, cal: Calendar, end_day: int,
                 school_year: str, subject: int, class_title: pa.Array, class_teacher: pa.Array) -> dict[str, pa.Array]:
    """One i-Ready Diagnostic file (subject 0 = ELA, 1 = Math) holding every result ≤ end_day."""
    w, s, i = _rows(scr, students, end_day, 1, (subject,))
    m = len(i)
    g = students.grade[i]
    x = np.zeros(m)
    pct = np.zeros(m, dtype=np.int16)
    for ww in range(3):
        k = w == ww
        x[k] = scr.x(ww, subject)[i[k]]
        pct[k] = scr.percentile(ww, subject)[i[k]]
    mean = IREADY_MEAN[0] + IREADY_MEAN[1] * g + np.take(IREADY_MEAN[2], w)
    sd = IREADY_MEAN[3]
    score = np.rint(mean + sd * x).astype(np.int64)
    u = scr.style[w, subject, i]
    first, last = _first_last(scr, end_day, subject)
    zero = np.zeros(m, dtype=np.int64)
    sch = students.school[i]
    programs = students.programs[i]
    known = students.program_known[i]

    def yn(col: int) -> pa.Array:
        return lookup(["Y", "N"], np.where(known[:, col], np.where(programs[:, col], 0, 1), -1))

    cols: dict[str, pa.Array] = {}
    from .population import FIRST_NAMES, LAST_NAMES
    cols["Last Name"] = lookup([a for a, _ in LAST_NAMES], students.last[i])
    cols["First Name"] = lookup([a for a, _ in FIRST_NAMES], students.first[i])
    cols["Student ID"] = students.local_id.take(pa.array(i))
    cols["Student Grade"] = lookup(GRADE_TEXT, g)
    cols["Academic Year"] = lookup([f"{school_year[:4]}-{int(school_year[:4]) + 1}"], zero)
    cols["School"] = lookup(schools.name, sch)
    cols["Enrolled"] = lookup(["Enrolled"], zero)
    cols["School State ID"] = lookup(schools.identifier, sch)
    cols["Student State ID"] = students.state_id.take(pa.array(i))
    cols["User Name"] = join("AUTO_", students.local_id.take(pa.array(i)))
    cols["Sex"] = lookup(["male", "female"], np.where(students.male[i], 0, 1))
    cols["Hispanic or Latino"] = lookup(["Y", "N"], np.where(students.hispanic[i], 0, 1))
    cols["Race"] = lookup(IREADY_RACE, students.race[i])
    cols["English Language Learner"] = yn(0)
    cols["Special Education"] = yn(1)
    cols["Economically Disadvantaged"] = yn(3)
    cols["Class(es)"] = class_title.take(pa.array(i))
    cols["Class Teacher(s)"] = class_teacher.take(pa.array(i))
    dates = lookup(cal.day_strings("us_short"), scr.day[w, subject, i])
    cols["Start Date"] = dates
    cols["Completion Date"] = dates
    cols["Norming Window"] = lookup(IREADY_WINDOWS, w)
    cols["Baseline Diagnostic (Y/N)"] = lookup(["Y", "N"], np.where(first[i] == w, 0, 1))
    cols["Most Recent Diagnostic YTD (Y/N)"] = lookup(["Y", "N"], np.where(last[i] == w, 0, 1))
    cols["Duration (min)"] = text(30 + (u * 65).astype(np.int64))
    cols["Read Aloud"] = lookup(["Off"], zero)
    cols["Overall Scale Score"] = text(score)
    rel = relative_level(pct, g)
    cols["Overall Placement"] = _placement(rel, g, pct)
    cols["Overall Relative Placement"] = lookup(IREADY_RELATIVE, rel)
    cols["Percentile"] = text(pct.astype(np.int64))
    cols["Grouping"] = text(np.clip(4 - rel, 1, 4).astype(np.int64))
    if subject == 0:
        lex = 5 * np.rint((score * 3.6 - 1350) / 5).astype(np.int64)
        cols["Lexile Measure"] = _lexile(lex)
        cols["Lexile Range"] = join(_lexile(lex - 100), "-", _lexile(lex + 50))
    else:
        q = 5 * np.rint((score * 4.0 - 1400) / 5).astype(np.int64)
        cols["Quantile Measure"] = _quantile(q)
        cols["Quantile Range"] = join(_quantile(q - 50), "-", _quantile(q + 50))
    # domains
    domains = IREADY_ELA_DOMAINS if subject == 0 else IREADY_MATH_DOMAINS
    dom_score = np.zeros((m, len(SKILLS[subject])), dtype=np.int64)
    dom_pct = np.zeros((m, len(SKILLS[subject])), dtype=np.int16)
    for ww in range(3):
        k = w == ww
        if k.any():
            dom_score[k] = np.rint(mean[k, None] + sd * scr.standing(ww, subject)[i[k]]).astype(np.int64)
            dom_pct[k] = scr.skill_percentile(ww, subject)[i[k]]
    for dname, j in zip(domains, IREADY_DOMAIN_SKILL[subject]):
        if j < 0:          # Comprehension: Overall = the two comprehension skills together
            d_score = np.rint((dom_score[:, 5] + dom_score[:, 6]) / 2).astype(np.int64)
            d_pct = np.rint((dom_pct[:, 5].astype(float) + dom_pct[:, 6]) / 2).astype(np.int16)
            status = np.zeros(m, dtype=np.int8)
        else:
            d_score, d_pct = dom_score[:, j], dom_pct[:, j]
            status = iready_status(g, j, subject, d_pct, u)
        lvl = relative_level(d_pct, g)
        tested_out = (status == 1) & (((u * 7.0 + j * 0.31) % 1.0) < 0.1)
        max_score = (status == 1) & (j == 2) & ~tested_out & (((u * 3.0) % 1.0) < 0.3)
        score_col = text(d_score)
        score_col = pc.if_else(pa.array((status == 0) | max_score), score_col, pa.scalar("", pa.string()))
        placement = _placement(lvl, g, d_pct)
        placement = pc.if_else(pa.array(status == 2), pa.scalar("Not Assessed"), placement)
        placement = pc.if_else(pa.array((status == 1) & ~tested_out & ~max_score), pa.scalar("Surpassed Level"), placement)
        placement = pc.if_else(pa.array(max_score), pa.scalar("Max Score"), placement)
        placement = pc.if_else(pa.array(tested_out), pa.scalar("Tested Out"), placement)
        relp = lookup(IREADY_RELATIVE, np.where(status == 1, 4, lvl))
        relp = pc.if_else(pa.array(status == 2), pa.scalar("Not Assessed"), relp)
        relp = pc.if_else(pa.array(tested_out), pa.scalar("Tested Out"), relp)
        cols[f"{dname} Scale Score"] = score_col
        cols[f"{dname} Placement"] = placement
        cols[f"{dname} Relative Placement"] = relp
    # growth tail: gain since the student's first diagnostic of the year
    first_score = np.zeros(m, dtype=np.int64)
    for ww in range(3):
        k = first[i] == ww
        mean_w = IREADY_MEAN[0] + IREADY_MEAN[1] * g[k] + IREADY_MEAN[2][ww]
        first_score[k] = np.rint(mean_w + sd * scr.x(ww, subject)[i[k]]).astype(np.int64)
    gain = np.maximum(score - first_score, 0)
    typical = np.maximum(12, (36 if subject == 0 else 30) - 3 * g)
    stretch = typical * 2 - 4
    cols["Diagnostic Gain"] = text(gain)
    cols["Annual Typical Growth Measure"] = text(typical)
    cols["Annual Stretch Growth Measure"] = text(stretch)
    cols["Percent Progress to Annual Typical Growth (%)"] = text(np.rint(100 * gain / typical).astype(np.int64))
    cols["Percent Progress to Annual Stretch Growth (%)"] = text(np.rint(100 * gain / stretch).astype(np.int64))
    cols["Mid On Grade Level Scale Score"] = text(np.rint(IREADY_MEAN[0] + IREADY_MEAN[1] * g + 0.5 * sd).astype(np.int64))
    if subject == 0:
        cols["Reading Difficulty Indicator (Y/N)"] = lookup(
            ["Y", "N", "Not Provided"], np.where(g > 3, 2, np.where(pct < 20, 0, 1)))
    else:
        lvl4 = np.searchsorted(np.array([25, 50, 75]), pct, side="right")
        proj = lambda add: lookup(["Level 1", "Level 2", "Level 3", "Level 4"],
                                  np.searchsorted(np.array([25, 50, 75]), np.minimum(pct + add, 99), side="right"))
        cols["Proficiency if Student Shows No Additional Growth"] = lookup(
            ["Level 1", "Level 2", "Level 3", "Level 4"], lvl4)
        eoy = w == 2
        cols["Projection if Student Achieves Typical Growth"] = pc.if_else(pa.array(eoy), pa.scalar(""), proj(5))
        cols["Projection if Student Achieves Stretch Growth"] = pc.if_else(pa.array(eoy), pa.scalar(""), proj(15))
    header = IREADY_ELA_HEADER if subject == 0 else IREADY_MATH_HEADER
    empty = blank(m)
    return {name: cols.get(name, empty) for name in header}


def _placement(lvl: np.ndarray, grade: np.ndarray, pct: np.ndarray) -> pa.Array:
    """i-Ready placement text from the relative level: 'Grade 1', 'Emerging K', 'Early 6', 'Mid 6'."""
    labels = ["Emerging K", "Grade K"] + [f"Grade {k}" for k in range(1, 9)]
    below = np.array([3, 2, 1, 0, 0])[lvl]
    target = grade - below                              # -1 … 8
    on = lookup(labels, np.clip(target, -1, 8) + 1)
    grade_txt = lookup(GRADE_TEXT, grade)
    early = join("Early ", grade_txt)
    mid = join(lookup(["Mid ", "Late "], (pct >= 92).astype(np.int64)), grade_txt)
    out = pc.if_else(pa.array(lvl == 3), early, on)
    return pc.if_else(pa.array(lvl == 4), mid, out)


def _lexile(v: np.ndarray) -> pa.Array:
    pos = join(text(np.maximum(v, 0)), "L")
    br = join("BR", text(np.abs(np.minimum(v, 0))), "L")
    return pc.if_else(pa.array(v > 0), pos, br)


def _quantile(v: np.ndarray) -> pa.Array:
    pos = join(text(np.maximum(v, 0)), "Q")
    em = join("EM", text(np.abs(np.minimum(v, 0))), "Q")
    return pc.if_else(pa.array(v > 0), pos, em)


def results_frame(scr: Screening, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Per subject, per student: the latest percentile with test day ≤ end_day (-1 = none), as
    (2, n) int arrays of percentile and window."""
    n = scr.base.shape[2]
    pct = np.full((2, n), -1, dtype=np.int16)
    win = np.full((2, n), -1, dtype=np.int8)
    for s in range(2):
        for w in range(3):
            ok = scr.tested[w, s] & (scr.day[w, s] <= end_day)
            p = scr.percentile(w, s)
            pct[s] = np.where(ok, p, pct[s])
            win[s] = np.where(ok, w, win[s])
    return pct, win


def tier_of(pct: np.ndarray) -> np.ndarray:
    """Tier from percentile (DESIGN §5 defaults): < 10 ⇒ 3, < 25 ⇒ 2, else 1; -1 stays 0 (no result)."""
    return np.where(pct < 0, 0, np.where(pct < 10, 3, np.where(pct < 25, 2, 1)))
