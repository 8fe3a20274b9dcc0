"""Universal screener results: BOY / MOY / EOY benchmark windows, scores, domain standings, and the
vendor layouts they are delivered in. Each student × subject is measured by one *source* (a vendor in
one file layout, ``SOURCES``), chosen by the school's screener profile (``assign_sources``): NWEA MAP
Growth CDF 2021+ (with mCLASS DIBELS 8 for K–2 reading), i-Ready Diagnostic 2025-26, Renaissance Star
Reading (SR and dashboard-standards files) with Star Math in the canonical screener layout, and a
school on legacy exports (i-Ready 2021-22 in its lower grades, the MAP ``MeasurementScale`` CDF in
its top two).

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


# ---------------------------------------------------------------------------------------- sources
# A source = a vendor delivered in one layout. The vendor (what the pipeline's norm cells, tiers and
# seeds key on) is SOURCE_VENDOR; legacy and current layouts of one vendor share its norm cell.
SOURCES = ("map_2021", "iready_2025", "dibels8", "star_reading", "map_legacy", "iready_2021", "star_math")
VENDORS = ("nwea_map", "iready", "dibels8", "star")
SOURCE_VENDOR = np.array([0, 1, 2, 3, 0, 1, 3])
# Scale family of each source: 0 scores move like MAP between windows (mean gain / SD as MAP_MEAN),
# 1 like i-Ready. ``Screening.vendor`` holds it per student (both subjects of a student share it).
SOURCE_FAMILY = np.array([0, 1, 0, 1, 0, 1, 1])
PROFILES = ("map", "iready", "star", "legacy")    # school k's screener profile is PROFILES[k % 4]


def assign_sources(students: Students, schools: Schools) -> np.ndarray:
    """(2, n) source index per subject × student, from the school's profile:
    map → MAP 2021+ CDF, K–2 reading on DIBELS 8; iready → i-Ready 2025-26; star → Star Reading and
    Star Math (canonical layout); legacy → i-Ready 2021-22 below the school's top two grades, the MAP
    legacy CDF in them."""
    g = students.grade
    prof = np.array([PROFILES.index(p) for p in schools.screener])[students.school]
    top2 = np.array([sorted(gr)[-2] if len(gr) > 1 else gr[0] for gr in schools.grades])[students.school]
    legacy = np.where(g >= top2, SOURCES.index("map_legacy"), SOURCES.index("iready_2021"))
    reading = np.select([prof == 0, prof == 1, prof == 2], [np.where(g <= 2, 2, 0), 1, 3], legacy)
    math = np.select([prof == 0, prof == 1, prof == 2], [0, 1, 6], legacy)
    return np.stack([reading, math]).astype(np.int64)


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
# The 2021-22 Diagnostic Results layout: no roster or demographic columns, no Norming Window (the
# window follows from the date), "Reading Comprehension: …" domain names, no BOM.
_IREADY_2021_COMMON = (
    "Last Name", "First Name", "Student ID", "Student Grade", "Academic Year", "School", "Enrolled", "User Name",
    "Start Date", "Completion Date", "Baseline Diagnostic (Y/N)", "Most Recent Diagnostic (Y/N)",
    "Duration (min)", "Rush Flag", "Overall Scale Score", "Overall Placement", "Overall Relative Placement",
    "Percentile", "Grouping")
IREADY_2021_ELA_DOMAINS = ("Phonological Awareness", "Phonics", "High-Frequency Words", "Vocabulary",
                           "Reading Comprehension: Overall", "Reading Comprehension: Literature",
                           "Reading Comprehension: Informational Text")
_PROJECTIONS = ("Proficiency if Student Shows No Additional Growth", "Projection if Student Achieves Typical Growth",
                "Projection if Student Achieves Stretch Growth")
IREADY_2021_ELA_HEADER = (_IREADY_2021_COMMON + ("Lexile Measure", "Lexile Range")
                          + _domain_columns(IREADY_2021_ELA_DOMAINS) + _GROWTH_TAIL
                          + ("Reading Difficulty Indicator (Y/N)",) + _PROJECTIONS)
IREADY_2021_MATH_HEADER = (_IREADY_2021_COMMON + ("Quantile Measure", "Quantile Range")
                           + _domain_columns(IREADY_MATH_DOMAINS) + _GROWTH_TAIL)
assert len(IREADY_2021_ELA_HEADER) == 52 and len(IREADY_2021_MATH_HEADER) == 39

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
DIBELS_MEAN = (300.0, 40.0, (0.0, 18.0, 32.0), 56.0)        # composite score; gains / sd as MAP's
STAR_MEAN = (700.0, 50.0, (0.0, 48.0, 88.0), 120.0)         # Star scaled score; gains / sd as i-Ready's
SOURCE_MEAN = (MAP_MEAN, IREADY_MEAN, DIBELS_MEAN, STAR_MEAN, MAP_MEAN, IREADY_MEAN, STAR_MEAN)

# DIBELS 8: the composite and measure levels are the tier authority (vendor_levels seed, basis
# level); the generator sets them from the national-norm percentile with these cuts: Well Below
# < 20, Below < 40, At < 80, Above.
DIBELS_LEVELS = ("Well Below Benchmark", "Below Benchmark", "At Benchmark", "Above Benchmark")
DIBELS_CUTS = (20, 40, 80)
DIBELS_LEVEL_TIER = np.array([3, 2, 1, 1])
# DIBELS 8 measures: (column stem, canonical reading skill, grades given, score mean at K, per grade, sd)
DIBELS_MEASURES = (
    ("Letter Names (LNF)", 0, (0, 1), 30.0, 12.0, 14.0),
    ("Phonemic Awareness (PSF)", 0, (0, 1), 22.0, 14.0, 12.0),
    ("Letter Sounds (NWF-CLS)", 1, (0, 1, 2), 18.0, 25.0, 16.0),
    ("Decoding (NWF-WRC)", 1, (0, 1, 2), 4.0, 9.0, 5.0),
    ("Word Reading (WRF)", 2, (0, 1, 2), 5.0, 18.0, 9.0),
    ("Reading Accuracy (ORF-Accu)", 3, (1, 2), 80.0, 6.0, 8.0),
    ("Reading Fluency (ORF)", 3, (1, 2), 10.0, 40.0, 20.0),
    ("Reading Comprehension (Maze)", 5, (2,), 4.0, 3.0, 3.0),
)
# Star: Renaissance benchmark categories by percentile rank (level_tier in the seed agrees)
STAR_CATEGORIES = ("Urgent Intervention", "Intervention", "On Watch", "At/Above Benchmark")
STAR_CUTS = (10, 25, 40)
# Star Reading dashboard domains (group, name, canonical reading skill) and Star Math domains
STAR_READING_DOMAINS = (("Foundational Skills", "Phonics", 1), ("Language", "Vocabulary", 4),
                        ("Reading Literary Text", "Key Ideas and Details", 5),
                        ("Reading Informational Text", "Language, Craft, and Structure", 6))
STAR_MATH_DOMAINS = (("Numbers and Operations", 0), ("Algebra", 1),
                     ("Data Analysis, Statistics, and Probability", 2), ("Geometry and Measurement", 3))
MASTERY_CUTS = (25, 50, 75)                                 # Star domain mastery level 1–4
MAP_LEGACY_MATH_GOALS = ("The Real and Complex Number Systems", "Operations and Algebraic Thinking",
                         "Statistics and Probability", "Geometry")     # skills 0, 1, 2, 3


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
    vendor: np.ndarray              # per student: scale family of their sources (SOURCE_FAMILY)
    tested: np.ndarray              # bool (3, 2, n)
    day: np.ndarray                 # int (3, 2, n) test day
    minute: np.ndarray              # int (3, 2, n) test start, minutes after midnight
    base: np.ndarray                # (3, 2, n) x without the tutoring effect
    skill_dev: list[np.ndarray]     # per subject (n, k) persistent deviations
    skill_noise: list[np.ndarray]   # per subject (3, n, k)
    effect: np.ndarray              # (3, 2, n) planted effect in SD units (0 until set)
    effect_unit: np.ndarray         # (3, 2, n) x units per SD of effect: the norm cell's observed SD
    style: np.ndarray               # (3, 2, n) uniform draws for cosmetic choices
    source: np.ndarray | None = None  # (2, n) source per subject × student (SOURCES)

    def measure(self, s: int) -> np.ndarray:
        """Per student: the vendor (VENDORS index) measuring subject s — the pipeline's norm cell."""
        return SOURCE_VENDOR[self.source[s]]

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
    source = assign_sources(students, schools)
    vendor = SOURCE_FAMILY[source[0]]
    unit = np.broadcast_to(np.array([window_sd(w) for w in range(3)])[:, None, None], (3, 2, n)).copy()
    return Screening(win, vendor, tested, day, minute, base, dev, noise, np.zeros((3, 2, n)), unit,
                     rng.random((3, 2, n)), source)


def norm_cell_sd(scr: Screening, grade: np.ndarray, w: int, s: int) -> np.ndarray:
    """Per student: the sample SD of the observed x at window w among the students tested in it in
    the same vendor × grade — the cell growth_z standardises in (NaN for a cell of fewer than two)."""
    x = scr.x(w, s)
    cell = scr.measure(s) * 100 + grade
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
    """(n, k) bool: which canonical skills the student's source reports with a level at window w —
    what the pipeline's skill levels can see (skill_crosswalk × vendor_levels)."""
    n, k = len(grade), len(SKILLS[s])
    out = np.zeros((n, k), dtype=bool)
    src = scr.source[s]
    is_map = (src == 0) | (src == 4)
    for j in MAP_GOAL_SKILL[s]:
        out[is_map, j] = True
    pct = scr.skill_percentile(w, s)
    is_iready = (src == 1) | (src == 5)
    for j in IREADY_DOMAIN_SKILL[s]:
        if j < 0:
            continue
        ok = iready_status(grade, j, s, pct[:, j], scr.style[w, s]) == 0
        out[is_iready & ok, j] = True
    if s == 0:
        for _, j, grades, *_ in DIBELS_MEASURES:
            out[(src == 2) & np.isin(grade, grades), j] = True
        for _, _, j in STAR_READING_DOMAINS:
            out[(src == 3) & ((j != 1) | (grade <= 3)), j] = True
    else:
        for _, j in STAR_MATH_DOMAINS:
            out[src == 6, j] = True
    return out


def priority_skill(scr: Screening, grade: np.ndarray, w: int, s: int) -> np.ndarray:
    """Index (within the subject) of each student's weakest reported skill at window w."""
    st = np.where(reported_skills(scr, grade, w, s), scr.standing(w, s), np.inf)
    return np.argmin(st, axis=1)


# ------------------------------------------------------------------------------------- delivery
def _rows(scr: Screening, students: Students, end_day: int, source: str, subjects: tuple[int, ...]):
    """(w, s, i) of results with test day ≤ end_day measured by the source, sorted by test day,
    then local ID, then subject."""
    ws, ss, ii = [], [], []
    for w in range(3):
        for s in subjects:
            m = scr.tested[w, s] & (scr.day[w, s] <= end_day) & (scr.source[s] == SOURCES.index(source))
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
              school_year: str, source: str = "map_2021") -> dict[str, pa.Array]:
    """The MAP results of one source (2021+ CDF, or the rows the legacy CDF is built from)."""
    w, s, i = _rows(scr, students, end_day, source, (0, 1))
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
        goals = MAP_GOALS[0] + (MAP_LEGACY_MATH_GOALS if source == "map_legacy" else MAP_GOALS[1])
        cols[f"Goal{gi + 1}Name"] = lookup(goals, s * 4 + gi)
        cols[f"Goal{gi + 1}RitScore"] = text(goal_rit[:, gi])
        cols[f"Goal{gi + 1}StdErr"] = fixed(se, 1)
        cols[f"Goal{gi + 1}Range"] = join(text(goal_rit[:, gi] - half), "-", text(goal_rit[:, gi] + half))
        cols[f"Goal{gi + 1}Adjective"] = lookup(MAP_QUINTILES, quintile(goal_pct[:, gi]))
    empty = blank(m)
    if source == "map_legacy":
        return _map_legacy(cols, cal, scr, w, s, i, g, u, empty)
    return {name: cols.get(name, empty) for name in MAP_HEADER}


# The legacy Comprehensive Data File (AssessmentResults before the 2021 layout): MeasurementScale and
# Discipline where the 2021+ layout has Subject and Course, no state IDs or quintile, M/D/YYYY dates,
# 12-hour start times, unquoted. A "Combined" file concatenates term files, header and all.
MAP_LEGACY_HEADER = tuple(
    "TermName,StudentID,SchoolName,MeasurementScale,Discipline,GrowthMeasureYN,TestType,TestName,TestID,"
    "TestStartDate,TestDurationMinutes,TestRITScore,TestStandardError,TestPercentile,TypicalFallToFallGrowth,"
    "TypicalSpringToSpringGrowth,TypicalFallToSpringGrowth,TypicalFallToWinterGrowth,RITtoReadingScore,"
    "RITtoReadingMin,RITtoReadingMax".split(",")
    + [f"Goal{k}{f}" for k in range(1, 9) for f in ("Name", "RitScore", "StdErr", "Range", "Adjective")]
    + ["TestStartTime", "PercentCorrect", "ProjectedProficiency"])
assert len(MAP_LEGACY_HEADER) == 64


def _map_legacy(cols: dict[str, pa.Array], cal: Calendar, scr: Screening, w: np.ndarray, s: np.ndarray,
                i: np.ndarray, g: np.ndarray, u: np.ndarray, empty: pa.Array) -> dict[str, pa.Array]:
    out = {k: cols[k] for k in ("TermName", "StudentID", "SchoolName", "GrowthMeasureYN", "TestType", "TestID",
                                "TestDurationMinutes", "TestRITScore", "TestPercentile", "PercentCorrect")}
    out["MeasurementScale"] = cols["Subject"]
    out["Discipline"] = cols["Subject"]
    band = np.where(g <= 1, 0, np.where(g <= 5, 1, 2))
    names = [f"MAP: {subj} {b} Common Core 2010" for subj in ("Reading", "Math") for b in ("K-2", "2-5", "6+")]
    out["TestName"] = lookup(names, s * 3 + band)
    out["TestStartDate"] = lookup(cal.day_strings("us_short"), scr.day[w, s, i])
    out["TestStandardError"] = fixed(3.0 + np.floor(u * 7) / 10, 1)
    typical = np.maximum(2, 12 - g).astype(np.int64)
    out["TypicalFallToSpringGrowth"] = text(typical)
    out["TypicalFallToWinterGrowth"] = text(typical // 2 + 1)
    rit = np.asarray(pc.cast(cols["TestRITScore"], pa.int64()))
    lex = np.maximum(0, 5 * np.rint((rit * 11.0 - 1700) / 5)).astype(np.int64)
    reading = pa.array(s == 0)
    for name, off in (("RITtoReadingScore", 0), ("RITtoReadingMin", -100), ("RITtoReadingMax", 50)):
        out[name] = pc.if_else(reading, text(np.maximum(lex + off, 0)), empty)
    for k in range(1, 5):
        for f in ("Name", "RitScore", "StdErr", "Range", "Adjective"):
            out[f"Goal{k}{f}"] = cols[f"Goal{k}{f}"]
    minute = scr.minute[w, s, i]
    hour = minute // 60
    out["TestStartTime"] = join(text(np.where(hour > 12, hour - 12, hour)), ":", padded(minute % 60, 2), ":00 ",
                                lookup(["AM", "PM"], (hour >= 12).astype(np.int64)))
    return {name: out.get(name, empty) for name in MAP_LEGACY_HEADER}


def _masked_int(values: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Integers where ok, blank elsewhere (MAP writes blanks as "")."""
    arr = text(values)
    return pc.if_else(pa.array(ok), arr, pa.scalar("", pa.string()))


def iready_table(scr: Screening, students: Students, schools: Schools, cal: Calendar, end_day: int,
                 school_year: str, subject: int, class_title: pa.Array, class_teacher: pa.Array,
                 source: str = "iready_2025") -> dict[str, pa.Array]:
    """One i-Ready Diagnostic file (subject 0 = ELA, 1 = Math) holding every result ≤ end_day of
    the source (the 2025-26 layout, or the 2021-22 one: IREADY_2021_*_HEADER)."""
    w, s, i = _rows(scr, students, end_day, source, (subject,))
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
    empty = blank(m)
    if source == "iready_2021":
        cols["Most Recent Diagnostic (Y/N)"] = cols["Most Recent Diagnostic YTD (Y/N)"]
        cols["Start Date"] = cols["Completion Date"] = lookup(cal.day_strings("us"), scr.day[w, subject, i])
        for d in ("Overall", "Literature", "Informational Text"):
            for k in ("Scale Score", "Placement", "Relative Placement"):
                cols[f"Reading Comprehension: {d} {k}"] = cols.get(f"Comprehension: {d} {k}", empty)
        header = IREADY_2021_ELA_HEADER if subject == 0 else IREADY_2021_MATH_HEADER
        return {name: cols.get(name, empty) for name in header}
    header = IREADY_ELA_HEADER if subject == 0 else IREADY_MATH_HEADER
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


# ------------------------------------------------------------------------- DIBELS, Star, canonical
DIBELS_HEADER = tuple((
    "School Year,State,Account Name,Municipality Name,Municipality Primary ID,District Name,District Primary ID,"
    "Internal Program,External Program,School Name,Primary School ID,Secondary School ID,Student Last Name,"
    "Student First Name,Student Middle Name,Enrollment Date,Enrollment Grade,Date of Birth,Gender,Race,"
    "Special Education,Disability,Specific Disability,Section 504,Economically Disadvantaged,Meal Status,Title 1,"
    "Migrant,English Proficiency,ELL Status,Home Language,Alternate Assessment,Approved Accommodations,Classed,"
    "Reporting Class Name,Reporting Class ID,Official Teacher Name,Official Teacher Staff ID,Assessing Teacher Name,"
    "Assessing Teacher Staff ID,Assessment,Assessment Edition,Assessment Grade,Benchmark Period,Composite Level,"
    "Composite Score,Composite - National Norm Percentile,Composite - Semester Growth,Composite - Year Growth"
).split(",")) + tuple(
    f"{m} - {k}" for m in ("Letter Names (LNF)", "Phonemic Awareness (PSF)", "Letter Sounds (NWF-CLS)",
                           "Decoding (NWF-WRC)", "Word Reading (WRF)", "Reading Accuracy (ORF-Accu)",
                           "Reading Fluency (ORF)")
    for k in ("Level", "Score", "National Norm Percentile", "Semester Growth", "Year Growth")) + (
    "Error Rate (ORF) - Score",) + tuple(
    f"Reading Comprehension (Maze) - {k}" for k in ("Level", "Score", "National Norm Percentile",
                                                    "Semester Growth", "Year Growth")) + tuple((
    "Correct Responses (Maze) - Score,Incorrect Responses (Maze) - Score,Client Date,Sync Date,Student Primary ID,"
    "Primary ID - Student ID (State ID),Administration Type,Vocabulary - Level,Vocabulary - Score,Spelling - Level,"
    "Spelling - Score,RAN - Level,RAN - Score,Risk Indicator - Level,DIBELS Composite Score - Lexile").split(","))
assert len(DIBELS_HEADER) == 105
DIBELS_RACE = ("I", "A", "B", "P", "W", "M")


def _cut(pct: np.ndarray, cuts: tuple[int, ...]) -> np.ndarray:
    """Level index 0… from a percentile: the number of cuts at or below it."""
    return np.searchsorted(np.array(cuts), pct, side="right")


def _scores(scr: Screening, w: np.ndarray, s: np.ndarray, i: np.ndarray, grade: np.ndarray,
            mean: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, percentile, scale score) of the results (w, s, i) on a vendor scale (base, per grade,
    window gains, sd)."""
    m = len(i)
    x = np.zeros(m)
    pct = np.zeros(m, dtype=np.int16)
    for ww in range(3):
        for sub in range(2):
            k = (w == ww) & (s == sub)
            if k.any():
                x[k] = scr.x(ww, sub)[i[k]]
                pct[k] = scr.percentile(ww, sub)[i[k]]
    score = np.rint(mean[0] + mean[1] * grade + np.take(mean[2], w) + mean[3] * x).astype(np.int64)
    return x, pct, score


def _skill_pct(scr: Screening, w: np.ndarray, s: int, i: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """(standing, percentile) of skill j of subject s for the results (w, i)."""
    st = np.zeros(len(i))
    pct = np.zeros(len(i), dtype=np.int16)
    for ww in range(3):
        k = w == ww
        if k.any():
            ik = i[k]           # only these rows of Screening.standing / skill_percentile
            st[k] = scr.x(ww, s)[ik] + scr.skill_dev[s][ik, j] + scr.skill_noise[s][ww][ik, j]
            pct[k] = percentile_of(st[k] / skill_sd(ww))
    return st, pct


def dibels_table(scr: Screening, students: Students, schools: Schools, cal: Calendar, end_day: int,
                 school_year: str, class_title: pa.Array, class_teacher: pa.Array) -> dict[str, pa.Array]:
    """mCLASS DIBELS 8th Edition benchmark student summary: K–2 reading of the map-profile schools.
    Composite and measure levels follow DIBELS_CUTS; measures not given in a grade are blank."""
    from .population import FIRST_NAMES, LAST_NAMES
    w, s, i = _rows(scr, students, end_day, "dibels8", (0,))
    m = len(i)
    g = students.grade[i]
    _, pct, score = _scores(scr, w, s, i, g, DIBELS_MEAN)
    zero = np.zeros(m, dtype=np.int64)
    sch = students.school[i]
    iso = cal.day_strings("iso")
    ii = pa.array(i)
    cols: dict[str, pa.Array] = {
        "School Year": lookup([f"{school_year[:4]}-{int(school_year[:4]) + 1}"], zero),
        "Account Name": lookup([schools.district_name], zero), "District Name": lookup([schools.district_name], zero),
        "District Primary ID": lookup([schools.district_identifier], zero),
        "School Name": lookup(schools.name, sch), "Primary School ID": lookup(schools.identifier, sch),
        "Student Last Name": lookup([a for a, _ in LAST_NAMES], students.last[i]),
        "Student First Name": lookup([a for a, _ in FIRST_NAMES], students.first[i]),
        "Enrollment Date": lookup(iso, zero), "Enrollment Grade": lookup(GRADE_TEXT, g),
        "Date of Birth": pa.array(students.birth_day[i].astype("datetime64[D]")).cast(pa.string()),
        "Gender": lookup(["M", "F"], np.where(students.male[i], 0, 1)),
        "Race": pc.if_else(pa.array(students.hispanic[i]), pa.scalar("H"), lookup(DIBELS_RACE, students.race[i])),
        "ELL Status": lookup(["Y", "N"], np.where(students.program_known[i, 0],
                                                  np.where(students.programs[i, 0], 0, 1), -1)),
        "Home Language": lookup(["Eng", "Spa"], (students.programs[i, 0] & students.program_known[i, 0]).astype(np.int64)),
        "Classed": lookup(["Y"], zero), "Reporting Class Name": class_title.take(ii),
        "Official Teacher Name": class_teacher.take(ii), "Assessment": lookup(["mCLASS"], zero),
        "Assessment Edition": lookup(["DIBELS 8th Edition"], zero), "Assessment Grade": lookup(GRADE_TEXT, g),
        "Benchmark Period": lookup(WINDOWS, w),
        "Composite Level": lookup(DIBELS_LEVELS, _cut(pct, DIBELS_CUTS)),
        "Composite Score": text(score), "Composite - National Norm Percentile": text(pct.astype(np.int64)),
        "Client Date": lookup(iso, scr.day[w, 0, i]), "Sync Date": lookup(iso, scr.day[w, 0, i]),
        "Student Primary ID": students.local_id.take(ii), "Primary ID - Student ID (State ID)": students.state_id.take(ii),
        "Administration Type": lookup(["Offline", "Online"], (scr.style[w, 0, i] > 0.8).astype(np.int64)),
    }
    empty = blank(m)
    for stem, j, grades, m0, per, sd in DIBELS_MEASURES:
        st, sp = _skill_pct(scr, w, 0, i, j)
        given = pa.array(np.isin(g, grades))
        raw = np.maximum(0, np.rint(m0 + per * g + np.take((0.0, 0.5, 0.9), w) * per + sd * st / skill_sd(1)))
        if "Accu" in stem:
            raw = np.minimum(raw, 100)
        cols[f"{stem} - Level"] = pc.if_else(given, lookup(DIBELS_LEVELS, _cut(sp, DIBELS_CUTS)), empty)
        cols[f"{stem} - Score"] = pc.if_else(given, text(raw.astype(np.int64)), empty)
        cols[f"{stem} - National Norm Percentile"] = pc.if_else(given, text(sp.astype(np.int64)), empty)
    return {name: cols.get(name, empty) for name in DIBELS_HEADER}


STAR_HEADER = tuple((
    "RenaissanceClientID,SchoolYear,SchoolYearStartDate,SchoolYearEndDate,StudentRenaissanceID,StudentSourcedID,"
    "StudentIdentifier,StudentUserID,StudentStateID,StudentEmail,StudentFirstName,StudentMiddleName,StudentLastName,"
    "Gender,BirthDate,MultiRace,HispanicOrLatino,AmericanIndianOrAlaskaNative,Asian,BlackOrAfricanAmerican,"
    "NativeHawaiianOrOtherPacificIslander,White,CurrentGrade,EnrollmentStatus,DistrictRenaissanceID,"
    "DistrictSourcedID,DistrictIdentifier,DistrictStateID,DistrictName,SchoolRenaissanceID,SchoolSourcedID,"
    "SchoolIdentifier,SchoolStateID,SchoolName,CourseRenaissanceID,CourseSourcedID,CourseCode,CourseName,"
    "ClassRenaissanceID,ClassSourcedID,ClassCode,GroupID,GroupOrClassName,TeacherRenaissanceID,TeacherSourcedID,"
    "TeacherIdentifier,TeacherUserID,TeacherStateID,TeacherEmail,TeacherFirstName,TeacherMiddleName,TeacherLastName,"
    "AssessmentID,LaunchDate,CompletedDate,CompletedDateLocal,AssessmentNumber,AssessmentType,AssessmentStatus,"
    "DeactivationReason,GradePlacement,Grade,ExtraTime,ScaledScore,StandardErrorOfMeasurement,RaschScore,"
    "UnifiedScore,PartnershipForAssessmentOfReadinessForCollegeAndCareers,SmarterBalancedAssessmentConsortium,"
    "OpenGrowthScore,GradeEquivalent,PercentileRank,NormalCurveEquivalent,InstructionalReadingLevel,"
    "EstimatedOralReadingFluency,LowerZoneOfProximalDevelopment,UpperZoneOfProximalDevelopment,Lexile,"
    "LowerLexileZoneOfProximalDevelopment,UpperLexileZoneOfProximalDevelopment,TotalTimeInSeconds,TotalCorrect,"
    "TotalPossible,Grade3_AssessmentAttempts,Grade3_PassingStatus,Grade3_PassingScore,"
    "StudentGrowthPercentileFallFall,StudentGrowthPercentileFallSpring,StudentGrowthPercentileFallWinter,"
    "StudentGrowthPercentileSpringFall,StudentGrowthPercentileSpringSpring,StudentGrowthPercentileWinterSpring,"
    "ScreeningPeriodWindowName,ScreeningWindowStartDate,ScreeningWindowEndDate,RenaissanceBenchmarkCategoryName,"
    "RenaissanceBenchmarkCategoryLevel,RenaissanceBenchmarkCategoryNumberOfLevels,"
    "RenaissanceBenchmarkCategoryMinPercentileRank,RenaissanceBenchmarkCategoryMaxPercentileRank,"
    "StateBenchmarkAssessmentName,StateBenchmarkCategoryName,StateBenchmarkProficient,StateBenchmarkCategoryLevel,"
    "StateBenchmarkNumberOfCategoryLevels,StateBenchmarkMinScaledScore,StateBenchmarkMaxScaledScore,"
    "DistrictBenchmarkCategoryName,DistrictBenchmarkProficient,DistrictBenchmarkCategoryLevel,"
    "DistrictBenchmarkNumberOfCategoryLevels,DistrictBenchmarkMinPercentileRank,DistrictBenchmarkMaxPercentileRank,"
    "SchoolBenchmarkCategoryName,SchoolBenchmarkProficient,SchoolBenchmarkCategoryLevel,"
    "SchoolBenchmarkNumberOfCategoryLevels,SchoolBenchmarkMinPercentileRank,SchoolBenchmarkMaxPercentileRank,"
    "CurrentSGP,TakenAt,TakenAtByIPAddress,StudentDisplayID,TeacherDisplayID,SATBenchmarkCategory,ACTBenchmarkCategory"
).split(","))
assert len(STAR_HEADER) == 126
STAR_STANDARDS_HEADER = tuple((
    "RenaissanceClientID,SchoolYear,StudentRenaissanceID,StudentSourcedID,StudentIdentifier,StudentUserID,"
    "StudentStateID,AssessmentID,LaunchDate,CompletedDate,CompletedDateLocal,DomainGroup,DomainName,"
    "DomainPercentMastery,DomainConfidenceLevel,DomainMasteryLevel,StandardName,StandardDescription,"
    "StandardPercentMastery,StandardConfidenceLevel,StandardMasteryLevel").split(","))
STAR_TERMS = ("Fall", "Winter", "Spring")


def _uuid(prefix: int, v: np.ndarray) -> pa.Array:
    """Renaissance-style GUIDs, deterministic: 00000000-0000-<prefix>-0000-<v as 12 digits>."""
    return join(f"00000000-0000-{prefix:04d}-0000-", padded(v, 12))


def _star_times(cal: Calendar, scr: Screening, w: np.ndarray, s: np.ndarray, i: np.ndarray, tz_hours: int):
    """LaunchDate, CompletedDate (UTC, ``…Z``) and CompletedDateLocal (district time, printed with a
    ``Z`` as Renaissance does)."""
    iso = cal.day_strings("iso")
    day = lookup(iso, scr.day[w, s, i])
    start = scr.minute[w, s, i]
    end = start + 15 + (scr.style[w, s, i] * 25).astype(np.int64)

    def stamp(minute: np.ndarray, shift: int) -> pa.Array:
        mm = minute + 60 * shift
        return join(day, "T", padded(mm // 60, 2), ":", padded(mm % 60, 2), ":", padded((i * 7) % 60, 2), ".",
                    padded((i * 37) % 1000, 3), "Z")
    return stamp(start, tz_hours), stamp(end, tz_hours), stamp(end, 0)


def star_tables(scr: Screening, students: Students, schools: Schools, cal: Calendar, end_day: int,
                school_year: str, class_title: pa.Array, class_teacher: pa.Array) -> tuple[dict, dict]:
    """Renaissance Star Reading: the SR overall-results file and the dashboard-standards file (one
    row per result × domain, one standard each)."""
    from .population import FIRST_NAMES, LAST_NAMES
    w, s, i = _rows(scr, students, end_day, "star_reading", (0,))
    m = len(i)
    g = students.grade[i]
    x, pct, score = _scores(scr, w, s, i, g, STAR_MEAN)
    zero = np.zeros(m, dtype=np.int64)
    ii = pa.array(i)
    sch = students.school[i]
    years = f"{school_year[:4]}-{int(school_year[:4]) + 1}"
    # the UTC stamps carry the district's offset on the test day (tests start 08:00–14:25 local, so
    # they stay on the same day); CompletedDateLocal is local time printed with a Z
    from zoneinfo import ZoneInfo
    import datetime as dt
    tz = ZoneInfo(str(cal.config.timezone))
    offset = np.array([-int(dt.datetime.combine(cal.date(d), dt.time(12), tz).utcoffset().total_seconds() // 3600)
                       for d in range(cal.n_days)])[scr.day[w, 0, i]]
    l4, d4, local = _star_times(cal, scr, w, s, i, 4)
    l5, d5, _ = _star_times(cal, scr, w, s, i, 5)
    _, _, local = _star_times(cal, scr, w, s, i, 0)
    four = pa.array(offset == 4)
    assessment = _uuid(2, (w * 2 + s) * students.n + i)
    cat = _cut(pct, STAR_CUTS)
    cols: dict[str, pa.Array] = {
        "RenaissanceClientID": lookup(["7001"], zero), "SchoolYear": lookup([years], zero),
        "SchoolYearStartDate": lookup([cal.first_day.isoformat() + "T00:00:00Z"], zero),
        "SchoolYearEndDate": lookup([cal.last_day.isoformat() + "T00:00:00Z"], zero),
        "StudentRenaissanceID": _uuid(1, i), "StudentSourcedID": students.sourced_id.take(ii),
        "StudentIdentifier": students.local_id.take(ii), "StudentUserID": students.username.take(ii),
        "StudentStateID": students.state_id.take(ii),
        "StudentFirstName": lookup([a for a, _ in FIRST_NAMES], students.first[i]),
        "StudentLastName": lookup([a for a, _ in LAST_NAMES], students.last[i]),
        "Gender": lookup(["M", "F"], np.where(students.male[i], 0, 1)),
        "BirthDate": join(pa.array(students.birth_day[i].astype("datetime64[D]")).cast(pa.string()), "T00:00:00Z"),
        "MultiRace": lookup(["Yes", "No"], np.where(students.race[i] == 5, 0, 1)),
        "HispanicOrLatino": lookup(["Yes", "No"], np.where(students.hispanic[i], 0, 1)),
        "CurrentGrade": lookup(GRADE_TEXT, g), "EnrollmentStatus": lookup(["Enrolled"], zero),
        "DistrictName": lookup([schools.district_name], zero), "DistrictStateID": lookup([schools.district_identifier], zero),
        "SchoolSourcedID": lookup(schools.sourced_id, sch), "SchoolIdentifier": lookup(schools.identifier, sch),
        "SchoolName": lookup(schools.name, sch), "GroupOrClassName": class_title.take(ii),
        "TeacherLastName": class_teacher.take(ii),
        "AssessmentID": assessment, "LaunchDate": pc.if_else(four, l4, l5), "CompletedDate": pc.if_else(four, d4, d5),
        "CompletedDateLocal": local, "AssessmentNumber": text(w + 1), "AssessmentType": lookup(["Enterprise"], zero),
        "AssessmentStatus": lookup(["Active"], zero), "Grade": lookup(GRADE_TEXT, g),
        "GradePlacement": join(lookup(GRADE_TEXT, g), lookup([".05", ".45", ".85"], w)),
        "ExtraTime": lookup(["No"], zero), "ScaledScore": text(score),
        "StandardErrorOfMeasurement": fixed(20 + scr.style[w, s, i] * 15, 2),
        "UnifiedScore": text(np.rint(700 + 45 * (g + x)).astype(np.int64)),
        "PercentileRank": text(pct.astype(np.int64)),
        "NormalCurveEquivalent": text(np.clip(np.rint(50 + 21.06 * x / window_sd(1)), 1, 99).astype(np.int64)),
        "Lexile": _lexile(5 * np.rint((score * 1.6 - 150) / 5).astype(np.int64)),
        "TotalTimeInSeconds": text(600 + (scr.style[w, s, i] * 900).astype(np.int64)),
        "ScreeningPeriodWindowName": lookup(STAR_TERMS, w),
        "RenaissanceBenchmarkCategoryName": lookup(STAR_CATEGORIES, cat),
        "RenaissanceBenchmarkCategoryLevel": text(4 - cat), "RenaissanceBenchmarkCategoryNumberOfLevels": lookup(["4"], zero),
        "RenaissanceBenchmarkCategoryMinPercentileRank": lookup(["1", "10", "25", "40"], cat),
        "RenaissanceBenchmarkCategoryMaxPercentileRank": lookup(["9", "24", "39", "99"], cat),
        "DistrictBenchmarkCategoryName": lookup(STAR_CATEGORIES, cat), "TakenAt": lookup(["school"], zero),
        "StudentDisplayID": students.local_id.take(ii),
    }
    empty = blank(m)
    sr = {name: cols.get(name, empty) for name in STAR_HEADER}
    # dashboard standards: one row per result × domain reported in the grade
    parts = []
    for dk, (group, name, j) in enumerate(STAR_READING_DOMAINS):
        keep = np.flatnonzero((j != 1) | (g <= 3))
        _, sp = _skill_pct(scr, w[keep], 0, i[keep], j)
        lvl = _cut(sp, MASTERY_CUTS) + 1
        kk = pa.array(keep)
        n_k = len(keep)
        zk = np.zeros(n_k, dtype=np.int64)
        parts.append((keep, dk, {
            "RenaissanceClientID": lookup(["7001"], zk), "SchoolYear": lookup([years], zk),
            "StudentRenaissanceID": sr["StudentRenaissanceID"].take(kk), "StudentSourcedID": sr["StudentSourcedID"].take(kk),
            "StudentIdentifier": sr["StudentIdentifier"].take(kk), "StudentUserID": sr["StudentUserID"].take(kk),
            "StudentStateID": sr["StudentStateID"].take(kk), "AssessmentID": sr["AssessmentID"].take(kk),
            "LaunchDate": sr["LaunchDate"].take(kk), "CompletedDate": sr["CompletedDate"].take(kk),
            "CompletedDateLocal": sr["CompletedDateLocal"].take(kk),
            "DomainGroup": lookup([group], zk), "DomainName": lookup([name], zk),
            "DomainPercentMastery": text(sp.astype(np.int64)), "DomainConfidenceLevel": lookup(["2"], zk),
            "DomainMasteryLevel": text(lvl), "StandardName": lookup([f"CCSS.ELA.{dk + 1}"], zk),
            "StandardPercentMastery": text(sp.astype(np.int64)),
            "StandardConfidenceLevel": lookup(["Medium"], zk),
            "StandardMasteryLevel": lookup(["Beginning", "Developing", "Mastery", "Advanced"], lvl - 1)}))
    if parts:
        row = np.concatenate([p[0] for p in parts])
        dom = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
        order = pa.array(np.lexsort((dom, row)))
        std = {c: pa.concat_arrays([p[2].get(c, blank(len(p[0]))) for p in parts]).take(order)
               for c in STAR_STANDARDS_HEADER}
    else:
        std = {c: blank(0) for c in STAR_STANDARDS_HEADER}
    return sr, std


CANONICAL_RESULTS_HEADER = ("student_id", "vendor", "subject", "window", "test_date", "grade", "scale_score",
                            "percentile", "vendor_level", "source_system")
CANONICAL_DOMAINS_HEADER = ("student_id", "vendor", "subject", "test_date", "domain", "domain_score",
                            "domain_level_label")


def star_math_tables(scr: Screening, students: Students, cal: Calendar, end_day: int) -> tuple[dict, dict]:
    """Star Math, exported by the district's assessment warehouse in the canonical screener_results /
    screener_domains layout (SIS sourcedIds, ISO dates, BOY/MOY/EOY). The warehouse writes ``NULL``
    for a percentile it did not receive (≈ 1 % of rows; the benchmark category still tiers them) and
    adds a ``source_system`` column the contract does not know."""
    w, s, i = _rows(scr, students, end_day, "star_math", (1,))
    m = len(i)
    g = students.grade[i]
    _, pct, score = _scores(scr, w, s, i, g, STAR_MEAN)
    zero = np.zeros(m, dtype=np.int64)
    ii = pa.array(i)
    iso = cal.day_strings("iso")
    date = lookup(iso, scr.day[w, 1, i])
    no_pct = pa.array(scr.style[w, 1, i] < 0.01)
    res = {"student_id": students.sourced_id.take(ii), "vendor": lookup(["star"], zero),
           "subject": lookup(["math"], zero), "window": lookup(WINDOWS, w), "test_date": date,
           "grade": lookup(GRADE_TEXT, g), "scale_score": text(score),
           "percentile": pc.if_else(no_pct, pa.scalar("NULL"), text(pct.astype(np.int64))),
           "vendor_level": lookup(STAR_CATEGORIES, _cut(pct, STAR_CUTS)),
           "source_system": lookup(["Renaissance Star Math via district warehouse"], zero)}
    parts = []
    for dk, (name, j) in enumerate(STAR_MATH_DOMAINS):
        st, sp = _skill_pct(scr, w, 1, i, j)
        parts.append({"student_id": res["student_id"], "vendor": res["vendor"], "subject": res["subject"],
                      "test_date": date, "domain": lookup([name], zero),
                      "domain_score": text(np.rint(STAR_MEAN[0] + STAR_MEAN[1] * g + STAR_MEAN[3] * st).astype(np.int64)),
                      "domain_level_label": text(_cut(sp, MASTERY_CUTS) + 1)})
    order = pa.array(np.lexsort((np.repeat(np.arange(len(parts))[None, :], m, 0).T.ravel(),
                                 np.tile(np.arange(m), len(parts))))) if m else pa.array([], pa.int64())
    dom = {c: pa.concat_arrays([p[c] for p in parts]).take(order) for c in CANONICAL_DOMAINS_HEADER}
    return res, dom


def tiers_of_results(scr: Screening, pct: np.ndarray) -> np.ndarray:
    """(2, n) MTSS tier of each student's latest result (``results_frame`` percentiles; 0 = none) by
    the vendor's basis (vendor_levels seed): DIBELS 8 by its composite level (DIBELS_CUTS), every
    other vendor by percentile (< 10 ⇒ 3, < 25 ⇒ 2, else 1; Star's benchmark categories agree)."""
    out = tier_of(pct)
    for s in range(2):
        dib = (scr.source[s] == SOURCES.index("dibels8")) & (pct[s] >= 0)
        out[s] = np.where(dib, DIBELS_LEVEL_TIER[_cut(np.maximum(pct[s], 0), DIBELS_CUTS)], out[s])
    return out


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
