"""Schools and students: roster facts, demographics, program flags and latent ability.

Grain: one entry per school (``Schools``) and one array element per student (``Students``), the
students held in sourcedId order so every per-student file comes out sorted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pyarrow as pa

from ._util import distinct_random, join, lookup, padded, stream, hex_text, text

GRADE_TEXT = ("K", "1", "2", "3", "4", "5", "6", "7", "8")            # canonical grade text
GRADE_ONEROSTER = ("KG", "01", "02", "03", "04", "05", "06", "07", "08")

DISTRICT_NAMES = ("Riverbend", "Cedar Valley", "Harbor Point", "Maple Grove", "Fox Hollow",
                  "Granite Falls", "Silver Lake", "Prairie View", "Oak Ridge", "Willow Creek")

SCHOOL_NAMES = (
    "Lincoln", "Washington", "Jefferson", "Roosevelt", "Franklin", "Madison", "Kennedy", "Garfield",
    "Hamilton", "Adams", "Monroe", "Carver", "Douglass", "Tubman", "Chavez", "Parks", "King",
    "Curie", "Edison", "Whitman", "Emerson", "Thoreau", "Twain", "Frost", "Dickinson", "Alcott",
    "Hawthorne", "Longfellow", "Hurston", "Morrison", "Angelou", "Oakwood", "Maplewood", "Cedarbrook",
    "Willow Park", "Pinecrest", "Birchwood", "Aspen Ridge", "Sycamore", "Riverside", "Lakeview",
    "Hillcrest", "Sunnyside", "Meadowbrook", "Brookside", "Fairview", "Greenfield", "Highland",
    "Westwood", "Eastview", "Northgate", "Southridge", "Valley View", "Pleasant Hill",
    "Mountain View", "Cherry Creek", "Mission", "Sierra Vista", "Del Mar", "Bayside", "Harbor",
    "Clearwater", "Stonebridge", "Foxfire", "Juniper", "Magnolia", "Sequoia", "Redwood",
    "Evergreen", "Bluebonnet",
)

# (display, ascii for usernames); accents on purpose — output is UTF-8.
FIRST_NAMES = (
    ("Zoë", "zoe"), ("José", "jose"), ("Sofía", "sofia"), ("Chloé", "chloe"), ("André", "andre"),
    ("Renée", "renee"), ("Mateo", "mateo"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"),
    ("Emma", "emma"), ("Ava", "ava"), ("Elijah", "elijah"), ("Isabella", "isabella"), ("Lucas", "lucas"),
    ("Mia", "mia"), ("Amir", "amir"), ("Layla", "layla"), ("Jayden", "jayden"), ("Aaliyah", "aaliyah"),
    ("Minh", "minh"), ("Linh", "linh"), ("Camila", "camila"), ("Santiago", "santiago"), ("Valentina", "valentina"),
    ("Ethan", "ethan"), ("Harper", "harper"), ("Aiden", "aiden"), ("Zara", "zara"), ("Omar", "omar"),
    ("Fatima", "fatima"), ("Yusuf", "yusuf"), ("Hana", "hana"), ("Kenji", "kenji"), ("Priya", "priya"),
    ("Arjun", "arjun"), ("Maya", "maya"), ("Leo", "leo"), ("Nora", "nora"), ("Gabriel", "gabriel"),
    ("Daniela", "daniela"), ("Diego", "diego"), ("Ximena", "ximena"), ("Malik", "malik"), ("Imani", "imani"),
    ("Jamal", "jamal"), ("Keisha", "keisha"), ("Wyatt", "wyatt"), ("Grace", "grace"), ("Henry", "henry"),
    ("Chen", "chen"), ("Mei", "mei"), ("Björn", "bjorn"), ("Iñaki", "inaki"), ("Noémie", "noemie"),
    ("Thảo", "thao"), ("Ángel", "angel"), ("Lucía", "lucia"), ("Elena", "elena"), ("Samuel", "samuel"),
)
LAST_NAMES = (
    ("Muñoz", "munoz"), ("Nguyễn", "nguyen"), ("García", "garcia"), ("Pérez", "perez"), ("Smith", "smith"),
    ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"), ("Jones", "jones"),
    ("Rodríguez", "rodriguez"), ("Martínez", "martinez"), ("Hernández", "hernandez"), ("López", "lopez"),
    ("González", "gonzalez"), ("Wilson", "wilson"), ("Anderson", "anderson"), ("Thomas", "thomas"),
    ("Taylor", "taylor"), ("Moore", "moore"), ("Jackson", "jackson"), ("Martin", "martin"), ("Lee", "lee"),
    ("Trần", "tran"), ("Lê", "le"), ("Phạm", "pham"), ("Kim", "kim"), ("Park", "park"), ("Patel", "patel"),
    ("Shah", "shah"), ("Khan", "khan"), ("Ali", "ali"), ("Okafor", "okafor"), ("Mensah", "mensah"),
    ("Thompson", "thompson"), ("White", "white"), ("Harris", "harris"), ("Clark", "clark"),
    ("Lewis", "lewis"), ("Robinson", "robinson"), ("Walker", "walker"), ("Young", "young"),
    ("Allen", "allen"), ("King", "king"), ("Wright", "wright"), ("Scott", "scott"), ("Torres", "torres"),
    ("Ramírez", "ramirez"), ("Flores", "flores"), ("Rivera", "rivera"), ("Gómez", "gomez"),
    ("Díaz", "diaz"), ("Cruz", "cruz"), ("Reyes", "reyes"), ("Morales", "morales"), ("Ortiz", "ortiz"),
    ("Gutiérrez", "gutierrez"), ("Chávez", "chavez"), ("Castillo", "castillo"), ("Jiménez", "jimenez"),
    ("Wang", "wang"), ("Chen", "chen"), ("Yamamoto", "yamamoto"), ("Schäfer", "schafer"),
    ("O'Neil", "oneil"), ("Dubois", "dubois"), ("Haddad", "haddad"), ("Cohen", "cohen"),
)

# OneRoster race flags, in the demographics file's column order, and two_or_more last.
RACES = ("americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
         "nativeHawaiianOrOtherPacificIslander", "white", "two_or_more")
RACE_P = np.array([0.01, 0.08, 0.24, 0.01, 0.61, 0.05])
PROGRAMS = ("ell", "iep", "section_504", "econ_disadv", "homeless", "foster")
SUBJECTS = ("reading", "math")


@dataclass
class Schools:
    n: int
    sourced_id: list[str]          # org-0001 …
    name: list[str]
    identifier: list[str]          # 6-digit state school code
    level: list[str]               # elementary | middle | k8
    grades: list[tuple[int, ...]]  # grade numbers served (K = 0)
    screener: list[str]            # screener profile: map | iready | star | legacy (screeners.PROFILES)
    inverted: int                  # index of the planted inverted-pyramid school
    district_name: str
    district_identifier: str


@dataclass
class Students:
    n: int
    sourced_id: pa.Array           # stu-xxxxxxxx, ascending
    local_id: pa.Array             # zero-padded digits (the SIS identifier)
    state_id: pa.Array             # 10 digits
    username: pa.Array
    local_rank: np.ndarray         # rank of local_id (files keyed by it sort on this)
    first: np.ndarray              # index into FIRST_NAMES
    last: np.ndarray               # index into LAST_NAMES
    middle: np.ndarray             # letter index (-1 none)
    school: np.ndarray             # school index
    grade: np.ndarray              # 0 (K) … 8
    birth_day: np.ndarray          # days since 1970-01-01
    male: np.ndarray               # bool
    race: np.ndarray               # index into RACES
    race_pair: np.ndarray          # (n, 2) the two race flags of two_or_more (indices < 5), else -1
    hispanic: np.ndarray           # bool
    programs: np.ndarray           # bool (n, 6): true status
    program_known: np.ndarray      # bool (n, 6): False ⇒ written blank
    theta: np.ndarray              # (2, n) latent ability: reading, math


def make_schools(seed: int, n_schools: int) -> Schools:
    rng = stream(seed, "schools")
    names = list(SCHOOL_NAMES)
    order = rng.permutation(len(names))
    if n_schools >= 4:
        level = ["middle" if i % 8 in (3, 6) else "elementary" for i in range(n_schools)]
    else:
        level = ["k8"] * n_schools
    grades = [tuple(range(6, 9)) if lv == "middle" else tuple(range(0, 6)) if lv == "elementary"
              else tuple(range(0, 9)) for lv in level]
    suffix = {"elementary": "Elementary", "middle": "Middle School", "k8": "Academy"}
    school_names = []
    for i in range(n_schools):
        base = names[order[i % len(names)]]
        rep = i // len(names)
        school_names.append(f"{base} {suffix[level[i]]}" + (f" {rep + 1}" if rep else ""))
    codes = distinct_random(rng, 100000, 1000000, n_schools)
    elementary = [i for i in range(n_schools) if level[i] != "middle"]
    inverted = int(elementary[int(rng.integers(len(elementary)))])
    district = DISTRICT_NAMES[int(rng.integers(len(DISTRICT_NAMES)))]
    return Schools(
        n=n_schools, sourced_id=[f"org-{i + 1:04d}" for i in range(n_schools)], name=school_names,
        identifier=[f"{c:06d}" for c in codes], level=level, grades=grades,
        screener=[("map", "iready", "star", "legacy")[i % 4] for i in range(n_schools)], inverted=inverted,
        district_name=f"{district} Unified School District",
        district_identifier=f"{int(rng.integers(100000, 1000000)):06d}")


def make_students(seed: int, n: int, schools: Schools, start_year: int) -> Students:
    rng = stream(seed, "students")
    # -- identifiers: distinct random values; sourcedIds sorted so arrays are in file order
    hexes = np.sort(distinct_random(rng, 0, 2 ** 32, n))
    sourced = join("stu-", hex_text(hexes, 8))
    width = max(6, len(str(2 * n)))
    local_num = distinct_random(rng, 1, 10 ** width, n)
    local = padded(local_num, width)
    state = text(distinct_random(rng, 10 ** 9, 10 ** 10, n))
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    middle = np.where(rng.random(n) < 0.6, rng.integers(0, 26, n), -1)
    username = join(lookup([a[0] for _, a in FIRST_NAMES], first),
                    lookup([a for _, a in LAST_NAMES], last), local)

    # -- grade and school: grade uniform K–8; school among those serving it, by school size
    grade = rng.integers(0, 9, n)
    size_w = np.exp(rng.normal(0, 0.25, schools.n))
    school = np.zeros(n, dtype=np.int64)
    for g in range(9):
        serving = np.array([i for i in range(schools.n) if g in schools.grades[i]])
        idx = np.flatnonzero(grade == g)
        w = size_w[serving] / size_w[serving].sum()
        school[idx] = serving[rng.choice(len(serving), size=len(idx), p=w)]

    # -- demographics
    birth_start = np.datetime64(f"{start_year - 6}-09-02").astype(np.int64) - 365 * grade
    birth = birth_start + rng.integers(0, 365, n)
    male = rng.random(n) < 0.51
    race = rng.choice(len(RACES), size=n, p=RACE_P / RACE_P.sum())
    flag_a = rng.integers(0, 5, n)
    flag_b = (flag_a + rng.integers(1, 5, n)) % 5
    two = race == 5
    race_pair = np.where(two[:, None], np.stack([flag_a, flag_b], axis=1), -1)
    hispanic = rng.random(n) < 0.28

    # -- programs (true status) and the ~2 % written blank per flag
    p_ell = 0.035 + 0.24 * hispanic + 0.22 * (race == 1)
    ell = rng.random(n) < p_ell
    iep = rng.random(n) < 0.13
    s504 = (rng.random(n) < 0.035) & ~iep
    econ = rng.random(n) < (0.45 + 0.25 * hispanic + 0.1 * ell)
    homeless = rng.random(n) < 0.02 * (0.5 + econ)
    foster = rng.random(n) < 0.005
    programs = np.stack([ell, iep, s504, econ, homeless, foster], axis=1)
    known = rng.random((n, 6)) >= 0.02

    # -- latent ability: correlated normal, small school effects, subgroup shifts, inverted school
    rho = 0.7
    z1 = rng.standard_normal(n)
    z2 = rho * z1 + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
    school_eff = rng.normal(0, 0.15, (2, schools.n))
    structural = school_eff[:, school] + np.stack([
        -0.35 * ell - 0.20 * econ - 0.30 * iep,
        -0.20 * ell - 0.20 * econ - 0.30 * iep])
    structural -= structural.mean(axis=1, keepdims=True)
    resid_sd = np.sqrt(np.clip(1 - structural.var(axis=1, keepdims=True), 0.5, 1))
    theta = structural + resid_sd * np.stack([z1, z2])
    # the rest of the district sits a little above the national norm (healthy pyramids), the
    # inverted school 1.3 SD below it
    theta += np.where(school == schools.inverted, -1.3, 0.15)[None, :]
    local_rank = np.empty(n, dtype=np.int64)
    local_rank[np.argsort(local_num)] = np.arange(n)     # same width ⇒ numeric order = text order
    return Students(n=n, sourced_id=sourced, local_id=local, state_id=state, username=username, local_rank=local_rank,
                    first=first, last=last, middle=middle, school=school, grade=grade,
                    birth_day=birth, male=male, race=race, race_pair=race_pair, hispanic=hispanic,
                    programs=programs, program_known=known, theta=theta)
