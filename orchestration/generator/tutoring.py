"""The tutoring program: referral (with a planted bias), enrollment, standing groups, tutors,
meetings, one session row per student per meeting, and the planted tutoring effect.

Grain of the main arrays (all full-year; a delivery keeps the rows dated ≤ its cycle's end):
- ``Enrollments``: one element per student × subject enrolled (at most one entry each).
- ``Groups``: one per standing group (provider × school × subject × cohort × stratum).
- ``Sessions``: one per student × meeting (DATAS row), valid rows only — planted bad rows are added
  when a delivery is written (deliveries.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import group_rank, stream
from .population import Schools, Students
from .school_calendar import Calendar
from .screeners import IREADY_MEAN, MAP_MEAN, SKILLS, Screening, norm_cell_sd, priority_skill, window_sd

WEEKLY_TARGET = 90           # minutes (config dosage.weekly_minutes default)
ADEQUATE = 0.8               # config dosage.adequate_share default
# Planted: the effect of a student's standing tutor's type, as a multiple of effect_sd (index as in
# hire_tutors' type_names): district teachers are more effective than vendors and paraprofessionals,
# community partners less, so "which partnerships helped the most" has a true answer to recover.
TYPE_EFFECT = (1.75, 1.0, 1.0, 0.5)
NO_SHOW_SHARE = 0.45         # planted: share of the no-show school's enrollments that never attend
PLATEAU_SHARE = 0.006        # planted: share of eligible enrollments whose scores stop growing
PLATEAU_MARGIN = 0.1         # x units a plateauing student's later results stay below the baseline


@dataclass(frozen=True)
class Provider:
    key: str
    partner_org: str
    code: str                  # prefix of its session / group ids
    tutor_types: tuple[str, ...]
    grouping: str              # need | schedule
    focus_share: float         # share of meetings whose skill_focus is the group's shared skill
    id_kind: str               # which SIS identifier its files carry: local | state
    hourly_usd: float          # invoice rate per delivered hour (0 = in-house, no invoice)
    funding: str
    subjects: tuple[int, ...]


PROVIDERS = (
    Provider("brightpath", "BrightPath Tutoring", "BP", ("vendor",), "need", 0.85, "local", 62.5,
             "ESSER", (0, 1)),
    Provider("horizon", "Horizon Learning", "HZ", ("vendor",), "schedule", 0.0, "state", 48.0,
             "Title I", (0, 1)),
    Provider("in_house", "in_house", "IH", ("teacher", "teacher", "paraprofessional"), "need", 0.8, "local", 0.0,
             "General Fund", (0, 1)),
    Provider("acme", "Acme Tutors", "AT", ("community_partner",), "need", 0.75, "local",
             25.0, "General Fund", (0,)),
)
NEED_VENDOR = 0
SCHEDULE_VENDOR = 1

REFERRAL_ROLES = ("teacher", "counselor", "parent")
REFERRAL_REASONS = ("Below benchmark on fall screener", "Below benchmark on winter screener",
                    "Classroom performance concern", "Parent request", "Teacher concern without screener score")
REFERRAL_SOURCES = ("screener", "teacher", "counselor", "parent")
EXIT_REASONS = ("met_goal", "moved", "schedule_conflict", "family_request")
WEEKDAY_PATTERNS = {1: ((0,), (1,), (2,), (3,), (4,)),
                    2: ((0, 2), (1, 3), (2, 4), (0, 3), (1, 4)),
                    3: ((0, 2, 4), (1, 2, 3), (0, 1, 3))}
SLOTS = (9 * 60, 10 * 60 + 15, 11 * 60 + 30, 13 * 60, 14 * 60, 15 * 60 + 15, 16 * 60, 16 * 60 + 45)
SCHOOL_DAY_END = 15 * 60
STATUS = ("attended", "student_absent", "tutor_absent", "cancelled")


def school_providers(n_schools: int) -> np.ndarray:
    """(n_schools, 2) provider index per school for reading and math: the main provider rotates
    BrightPath / Horizon / in-house; every fourth school's reading goes to Acme Tutors (a nonprofit whose
    portal exports its own layout, read through config/mappings/acme_tutors.yml)."""
    out = np.zeros((n_schools, 2), dtype=np.int64)
    for i in range(n_schools):
        main = i % 3
        out[i] = (3 if i % 4 == 3 else main, main)
    if n_schools == 1:
        out[0] = (SCHEDULE_VENDOR, NEED_VENDOR)
    return out


@dataclass
class Referrals:
    student: np.ndarray
    subject: np.ndarray
    day: np.ndarray
    role: np.ndarray           # index into REFERRAL_ROLES
    reason: np.ndarray         # index into REFERRAL_REASONS
    need: np.ndarray           # bool: Tier 2/3 on the screener behind the referral


@dataclass
class Enrollments:
    student: np.ndarray
    subject: np.ndarray
    entry: np.ndarray          # day
    exit: np.ndarray           # day, or a large number (no exit)
    exit_reason: np.ndarray
    source: np.ndarray         # index into REFERRAL_SOURCES
    cohort: np.ndarray         # 0 = fall, 1 = after MOY
    provider: np.ndarray
    group: np.ndarray
    attend_p: np.ndarray       # propensity to attend a held meeting


@dataclass
class Groups:
    provider: np.ndarray
    school: np.ndarray
    subject: np.ndarray
    grade: np.ndarray
    skill: np.ndarray          # shared priority skill (need-based), else -1
    freq: np.ndarray
    weekdays: np.ndarray       # (G, 3), -1 unused
    scheduled: np.ndarray      # 30 | 45
    minute: np.ndarray         # start, minutes after midnight
    modality: np.ndarray       # 0 in_person, 1 virtual
    tutor: np.ndarray
    start: np.ndarray          # first day it may meet
    end: np.ndarray            # last day it may meet


@dataclass
class Tutors:
    provider: np.ndarray
    school: np.ndarray
    type: np.ndarray           # index into tutoring_files.TUTOR_TYPE_NAMES
    absence_rate: np.ndarray
    high_absence: np.ndarray   # bool: planted


@dataclass
class Sessions:
    """One row per student × meeting, sorted by (day, minute, group, student)."""
    enrollment: np.ndarray
    student: np.ndarray
    subject: np.ndarray
    provider: np.ndarray
    group: np.ndarray
    tutor: np.ndarray
    day: np.ndarray
    minute: np.ndarray
    status: np.ndarray         # index into STATUS
    duration: np.ndarray       # minutes (0 for tutor_absent / cancelled)
    scheduled: np.ndarray
    ratio: np.ndarray          # attendees of the meeting (roster size when none attended)
    skill: np.ndarray          # skill_focus, index within the subject
    modality: np.ndarray
    in_school: np.ndarray
    school: np.ndarray
    serial: np.ndarray         # per-provider serial: session_id = <code>-<serial:08d>
    note: np.ndarray           # note template index


@dataclass
class Program:
    providers: tuple[Provider, ...]
    school_provider: np.ndarray
    referrals: Referrals
    enrollments: Enrollments
    groups: Groups
    tutors: Tutors
    sessions: Sessions
    meeting_group: np.ndarray  # per meeting
    meeting_day: np.ndarray
    meeting_status: np.ndarray  # 0 held, 2 tutor_absent, 3 cancelled
    meeting_duration: np.ndarray
    meeting_attendees: np.ndarray
    meeting_tutor: np.ndarray
    no_show_school: int = -1   # planted: the school whose enrolled students often never attend
    plateau: np.ndarray | None = None   # planted: enrollment indices whose scores stop growing


def _weekday_shift(cal: Calendar, day: np.ndarray) -> np.ndarray:
    """Move days to the next school day (weekends and breaks), capped at the last day."""
    school = np.flatnonzero(cal.school_day)
    pos = np.searchsorted(school, np.clip(day, 0, cal.n_days - 1), side="left")
    return school[np.clip(pos, 0, len(school) - 1)]


# ------------------------------------------------------------------------------- referral & entry
def refer_and_enroll(seed: int, students: Students, scr: Screening, cal: Calendar,
                     school_provider: np.ndarray) -> tuple[Referrals, Enrollments]:
    n = students.n
    ell = students.programs[:, 0]
    prog_start = cal.day(cal.program_start)
    last = cal.n_days - 1
    ref = {k: [] for k in ("student", "subject", "day", "role", "reason", "need")}
    enr = {k: [] for k in ("student", "subject", "entry", "exit", "exit_reason", "source", "cohort")}
    for s in range(2):
        rng = stream(seed, "referral", s)
        boy_ok = scr.tested[0, s]
        pct = scr.percentile(0, s)
        need = boy_ok & (pct < 25)
        p = np.where(need, np.clip(0.40 + 0.35 * (24 - pct) / 23, 0.40, 0.75) * np.where(ell, 0.45, 1.0),
                     np.where(boy_ok, np.where(pct < 40, 0.25, 0.035), 0.35))
        referred = rng.random(n) < p
        u_role = rng.random(n)
        role = np.where(need, np.searchsorted([0.55, 0.90], u_role, side="right"),
                        np.where(boy_ok, np.where(u_role < 0.7, 0, 2), np.where(u_role < 0.5, 0, 1)))
        reason = np.where(need, 0, np.where(boy_ok, np.where(role == 2, 3, 2), 4))
        rday = np.where(boy_ok, scr.day[0, s] + rng.integers(2, 11, n), prog_start - rng.integers(1, 11, n))
        rday = _weekday_shift(cal, rday)
        enrolled = referred & (rng.random(n) < 0.9)
        entry = _weekday_shift(cal, np.maximum(prog_start, rday + rng.integers(3, 11, n)))
        source = np.where(need, 0, np.where(role == 2, 3, np.where(role == 1, 2, 1)))

        # after MOY, places freed by exits go to the waitlist: students in need at their baseline who
        # are not enrolled yet — Tier 2/3 on the BOY screener, or on MOY for students who missed BOY
        # (MOY is then their baseline). The offer is drawn on the baseline alone: a MOY score that
        # follows a BOY one is part of the outcome growth is measured on, and referring on it would
        # plant a low-growth treated group (and strip it from the comparison) that no estimator
        # conditioning on the baseline can undo.
        moy_ok = scr.tested[1, s]
        moy_pct = scr.percentile(1, s)           # no effect yet: these students were not tutored
        late_need = (need | (~boy_ok & moy_ok & (moy_pct < 25))) & ~enrolled
        late = late_need & (rng.random(n) < 0.30 * np.where(ell, 0.45, 1.0))
        late_rday = _weekday_shift(cal, scr.day[1, s] + rng.integers(2, 11, n))
        late_enrolled = late & (rng.random(n) < 0.9)
        late_entry = _weekday_shift(cal, late_rday + rng.integers(3, 11, n))
        late_role = np.searchsorted([0.55, 0.90], rng.random(n), side="right")
        late_reason = np.where(boy_ok, 0, 1)     # fall or winter screener, whichever is the baseline

        # a waitlisted student referred in the fall needs no second referral
        for mask, d, rl, rs, nd in ((referred, rday, role, reason, need),
                                    (late & ~referred, late_rday, late_role, late_reason, late_need)):
            idx = np.flatnonzero(mask)
            ref["student"].append(idx)
            ref["subject"].append(np.full(len(idx), s))
            ref["day"].append(d[idx])
            ref["role"].append(rl[idx])
            ref["reason"].append(rs[idx])
            ref["need"].append(nd[idx])
        exits = rng.random(n) < 0.12
        exit_day = _weekday_shift(cal, np.where(late_enrolled, late_entry, entry) + rng.integers(42, 141, n))
        for cohort, mask, e in ((0, enrolled, entry), (1, late_enrolled, late_entry)):
            idx = np.flatnonzero(mask & (e <= last - 20))
            ex = np.where(exits[idx] & (exit_day[idx] < last - 5), exit_day[idx], 10 ** 6)
            enr["student"].append(idx)
            enr["subject"].append(np.full(len(idx), s))
            enr["entry"].append(e[idx])
            enr["exit"].append(ex)
            enr["exit_reason"].append(np.where(ex < 10 ** 6, rng.integers(0, 4, len(idx)), -1))
            enr["source"].append(source[idx] if cohort == 0 else np.zeros(len(idx), dtype=np.int64))
            enr["cohort"].append(np.full(len(idx), cohort))
    r = {k: np.concatenate(v) for k, v in ref.items()}
    order = np.lexsort((r["subject"], r["student"]))
    referrals = Referrals(**{k: v[order] for k, v in r.items()})
    e = {k: np.concatenate(v) for k, v in enr.items()}
    order = np.lexsort((e["subject"], e["student"]))
    e = {k: v[order] for k, v in e.items()}
    rng = stream(seed, "enrollment-extra")
    m = len(e["student"])
    provider = school_provider[students.school[e["student"]], e["subject"]]
    attend_p = 0.55 + 0.43 * rng.beta(2.5, 1.5, m)
    enrollments = Enrollments(e["student"], e["subject"], e["entry"], e["exit"], e["exit_reason"],
                              e["source"], e["cohort"], provider, np.zeros(m, dtype=np.int64), attend_p)
    return referrals, enrollments


# ------------------------------------------------------------------------------- groups & tutors
def form_groups(seed: int, students: Students, scr: Screening, cal: Calendar, enr: Enrollments,
                providers: tuple[Provider, ...]) -> Groups:
    rng = stream(seed, "groups")
    m = len(enr.student)
    grade = students.grade[enr.student]
    school = students.school[enr.student]
    skill = np.zeros(m, dtype=np.int64)
    for s in range(2):
        for cohort, w in ((0, 0), (1, 1)):
            k = (enr.subject == s) & (enr.cohort == cohort)
            pri = priority_skill(scr, students.grade, w, s)[enr.student[k]]
            has = scr.tested[w, s, enr.student[k]]
            skill[k] = np.where(has, pri, rng.integers(0, len(SKILLS[s]), k.sum()))
    need_based = np.array([providers[p].grouping == "need" for p in range(len(providers))])[enr.provider]
    stratum_skill = np.where(need_based, skill, -1)
    tiebreak = rng.random(m)
    base_key = ((enr.provider * 10000 + school) * 2 + enr.subject) * 2 + enr.cohort
    base_key = base_key * 10 + grade
    key = base_key * 16 + (stratum_skill + 1)
    order = np.lexsort((tiebreak, key))
    _, _, size = group_rank(key[order])
    lonely = np.zeros(m, dtype=bool)
    lonely[order] = (size == 1) & (stratum_skill[order] >= 0)
    stratum_skill = np.where(lonely, -1, stratum_skill)      # singletons join the grade's mixed pool
    key = base_key * 16 + (stratum_skill + 1)
    order = np.lexsort((tiebreak, key))
    rank, start, size = group_rank(key[order])
    strata_first = np.unique(start)
    big = rng.random(len(strata_first)) < 0.12
    target = np.where(big, 5.5, 3.5)[np.searchsorted(strata_first, start)]
    n_groups = np.ceil(size / target).astype(np.int64)
    local = rank % n_groups
    # a global group number: strata in key order, local groups within
    stratum_idx = np.searchsorted(strata_first, start)
    groups_per_stratum = n_groups[np.unique(start, return_index=True)[1]] if len(start) else n_groups
    offsets = np.concatenate([[0], np.cumsum(groups_per_stratum)])
    gid = offsets[stratum_idx] + local
    enr.group[order] = gid
    G = int(offsets[-1])
    _, first_pos = np.unique(gid, return_index=True)        # gid runs 0…G-1
    fm = order[first_pos]                                     # the first-ordered member per group
    g_provider, g_school, g_subject, g_grade = enr.provider[fm], school[fm], enr.subject[fm], grade[fm]
    g_skill = np.where(need_based[fm], skill[fm], -1)
    start_day = np.full(G, 10 ** 6, dtype=np.int64)
    np.minimum.at(start_day, enr.group, enr.entry)
    end_day = np.zeros(G, dtype=np.int64)
    np.maximum.at(end_day, enr.group, np.minimum(enr.exit, cal.n_days - 1))
    grng = stream(seed, "group-schedule")
    freq = 1 + np.searchsorted([0.25, 0.75], grng.random(G), side="right")
    weekdays = np.full((G, 3), -1, dtype=np.int64)
    for f, pats in WEEKDAY_PATTERNS.items():
        k = np.flatnonzero(freq == f)
        pick = grng.integers(0, len(pats), len(k))
        table = np.array([list(p) + [-1] * (3 - len(p)) for p in pats])
        weekdays[k] = table[pick]
    scheduled = np.where(grng.random(G) < 0.5, 30, 45)
    return Groups(g_provider, g_school, g_subject, g_grade, g_skill, freq, weekdays, scheduled,
                  np.zeros(G, dtype=np.int64), np.zeros(G, dtype=np.int64), np.zeros(G, dtype=np.int64),
                  start_day, end_day)


def hire_tutors(seed: int, groups: Groups, providers: tuple[Provider, ...], n_schools: int) -> Tutors:
    """Tutors per provider × school (one per ~5 groups); groups go round-robin to them and each of a
    tutor's groups gets its own time slot, so a tutor never holds two meetings at once."""
    rng = stream(seed, "tutors")
    G = len(groups.provider)
    key = groups.provider * 10000 + groups.school
    order = np.lexsort((np.arange(G), key))
    rank, start, size = group_rank(key[order])
    firsts, first_idx = np.unique(start, return_index=True)
    n_t = np.maximum(1, np.ceil(size[first_idx] / 5).astype(np.int64))
    t_offsets = np.concatenate([[0], np.cumsum(n_t)])
    stratum = np.searchsorted(firsts, start)
    tutor = t_offsets[stratum] + rank % n_t[stratum]
    slot_rank = rank // n_t[stratum]
    groups.tutor[order] = tutor
    T = int(t_offsets[-1])
    t_provider = np.repeat(groups.provider[order][first_idx], n_t)
    t_school = np.repeat(groups.school[order][first_idx], n_t)
    slot_offset = rng.integers(0, len(SLOTS), T)
    slot = (slot_rank + slot_offset[tutor]) % len(SLOTS)
    groups.minute[order] = np.array(SLOTS)[slot]
    after = groups.minute >= SCHOOL_DAY_END
    p_virtual = np.array([0.25, 0.6, 0.0, 0.1])[groups.provider] * np.where(after, 1.6, 0.5)
    groups.modality[:] = rng.random(G) < p_virtual
    types = np.zeros(T, dtype=np.int64)
    type_names = ("teacher", "paraprofessional", "vendor", "community_partner")
    for p, prov in enumerate(providers):
        k = t_provider == p
        choices = np.array([type_names.index(t) for t in prov.tutor_types])
        types[k] = choices[rng.integers(0, len(choices), k.sum())]
    # planted: a few tutors miss ≈ 20 % of their meetings
    k_high = max(1, int(round(0.03 * T))) if T else 0
    high = np.zeros(T, dtype=bool)
    if T:
        high[rng.choice(T, size=min(k_high, T), replace=False)] = True
    absence = np.where(high, 0.20, 0.025)
    return Tutors(t_provider, t_school, types, absence, high)


# ---------------------------------------------------------------------------------- meetings
def hold_meetings(seed: int, cal: Calendar, groups: Groups, tutors: Tutors, enr: Enrollments,
                  providers: tuple[Provider, ...], students: Students) -> tuple[Sessions, dict]:
    G = len(groups.provider)
    prog_start = cal.day(cal.program_start)
    mg, md = [], []
    for w in range(cal.n_weeks):
        if cal.break_week[w]:
            continue
        for k in range(3):
            wd = groups.weekdays[:, k]
            day = 7 * w + wd
            ok = (wd >= 0) & (day >= groups.start) & (day <= groups.end) & (day < cal.n_days) & (day >= prog_start)
            ok[ok] = cal.school_day[day[ok]]
            idx = np.flatnonzero(ok)
            mg.append(idx)
            md.append(day[idx])
    m_group = np.concatenate(mg) if mg else np.zeros(0, dtype=np.int64)
    m_day = np.concatenate(md) if md else np.zeros(0, dtype=np.int64)
    order = np.lexsort((m_group, groups.minute[m_group], m_day))
    m_group, m_day = m_group[order], m_day[order]
    M = len(m_group)
    rng = stream(seed, "meetings")
    # the standing tutor, or now and then another tutor of the same provider at the school
    m_tutor = groups.tutor[m_group].copy()
    same_site = tutors.provider * 10000 + tutors.school
    site_first = np.searchsorted(same_site, same_site)          # tutors are grouped by site
    site_size = np.bincount(site_first, minlength=len(same_site))[site_first]
    sub = rng.random(M) < 0.07
    t = m_tutor
    alt = site_first[t] + (t - site_first[t] + 1 + rng.integers(0, 1 << 30, M) % np.maximum(site_size[t] - 1, 1)) % site_size[t]
    m_tutor = np.where(sub & (site_size[t] > 1), alt, t)
    u = rng.random(M)
    rate = tutors.absence_rate[groups.tutor[m_group]]
    m_status = np.where(u < rate, 2, np.where(u < rate + 0.02, 3, 0))
    sched = groups.scheduled[m_group]
    dev = rng.random(M) < 0.07
    drift = rng.integers(0, 4, M)
    dur = np.where(sched == 30, sched + drift, sched - drift)
    dur = np.where(dev, sched + np.where(rng.random(M) < 0.5, -1, 1) * rng.integers(6, 11, M), dur)
    dur = np.clip(dur, 25, 50)
    n_skills = np.array([len(SKILLS[0]), len(SKILLS[1])])[groups.subject[m_group]]
    focus_share = np.array([p.focus_share for p in providers])[groups.provider[m_group]]
    on_need = (rng.random(M) < focus_share) & (groups.skill[m_group] >= 0)
    m_skill = np.where(on_need, groups.skill[m_group], (rng.random(M) * n_skills).astype(np.int64))

    # expand meetings × group members (members sorted by group)
    morder = np.argsort(enr.group, kind="stable")
    g_first = np.searchsorted(enr.group[morder], np.arange(G))
    g_size = np.bincount(enr.group, minlength=G)
    reps = g_size[m_group]
    row_meeting = np.repeat(np.arange(M), reps)
    within = np.arange(len(row_meeting)) - np.repeat(np.cumsum(reps) - reps, reps)
    row_enr = morder[g_first[m_group][row_meeting] + within]
    day = m_day[row_meeting]
    keep = (enr.entry[row_enr] <= day) & (day <= enr.exit[row_enr])
    row_meeting, row_enr, day = row_meeting[keep], row_enr[keep], day[keep]
    R = len(row_enr)
    rrng = stream(seed, "session-rows")
    held = m_status[row_meeting] == 0
    attended = held & (rrng.random(R) < enr.attend_p[row_enr])
    status = np.where(held, np.where(attended, 0, 1), m_status[row_meeting])
    attendees = np.bincount(row_meeting[attended], minlength=M)
    roster = np.bincount(row_meeting, minlength=M)
    ratio = np.where(attendees > 0, attendees, roster)[row_meeting]
    duration = np.where(held, dur[row_meeting], 0)
    g = m_group[row_meeting]
    student = enr.student[row_enr]
    # rows sorted by meeting (already day, minute, group) then student local ID
    order = np.lexsort((students.local_rank[student], row_meeting))
    row_meeting, row_enr, status, ratio, duration, g, student = (
        a[order] for a in (row_meeting, row_enr, status, ratio, duration, g, student))
    prov = groups.provider[g]
    serial = np.zeros(R, dtype=np.int64)
    for p in range(len(providers)):
        k = np.flatnonzero(prov == p)
        serial[k] = 1 + np.arange(len(k))
    note = np.where(status == 0, rrng.integers(0, 4, R), -1 - status)   # -2 absent, -3 tutor, -4 cancelled
    sessions = Sessions(
        enrollment=row_enr, student=student, subject=groups.subject[g], provider=prov, group=g,
        tutor=m_tutor[row_meeting], day=m_day[row_meeting], minute=groups.minute[g], status=status,
        duration=duration, scheduled=groups.scheduled[g], ratio=ratio, skill=m_skill[row_meeting],
        modality=groups.modality[g], in_school=groups.minute[g] < SCHOOL_DAY_END,
        school=groups.school[g], serial=serial, note=note)
    meetings = {"group": m_group, "day": m_day, "status": m_status, "duration": dur,
                "attendees": attendees, "tutor": m_tutor}
    return sessions, meetings


# ------------------------------------------------------------------------------ dosage & effect
def minutes_through(ses: Sessions, n_enr: int, last_day: np.ndarray) -> np.ndarray:
    """Attended minutes per enrollment with session day ≤ last_day[enrollment]."""
    ok = (ses.status == 0) & (ses.day <= last_day[ses.enrollment])
    return np.bincount(ses.enrollment[ok], weights=ses.duration[ok], minlength=n_enr)


def attainment(cal: Calendar, ses: Sessions, enr: Enrollments, as_of: np.ndarray) -> np.ndarray:
    """YTD dosage attainment per enrollment at day as_of: attended minutes with session day ≤ as_of /
    (90 × non-break ISO weeks with ≥ 1 weekday in [entry, min(exit, as_of)]); 0 without weeks."""
    as_of = np.broadcast_to(np.asarray(as_of), enr.student.shape)
    minutes = minutes_through(ses, len(enr.student), as_of)
    weeks = cal.enrolled_weeks(enr.entry, np.minimum(enr.exit, as_of))
    return np.where(weeks > 0, minutes / (WEEKLY_TARGET * np.maximum(weeks, 1)), 0.0)


def plant_effect(cal: Calendar, ses: Sessions, enr: Enrollments, scr: Screening, students: Students,
                 effect_sd: float, scale: np.ndarray | None = None,
                 plateau: np.ndarray | None = None) -> None:
    """effect[w, s, i] = effect_sd × scale × min(1, A / 0.8) in SD of the observed score, A = the
    student's YTD attainment in the subject on their own test day of window w (MOY, EOY); 0 for
    students never enrolled; scale = TYPE_EFFECT of the enrollment's standing tutor (1 without).
    The SD is that of the cell growth_z standardises in (school year × vendor × subject × grade ×
    window, all tested students), so τ in truth.json and growth_z share one unit. That SD includes
    the effect itself, so the unit is found by fixed-point steps: four leave a relative error below
    1e-5 even at effect_sd 0.5.

    ``plateau`` (enrollment indices, BOY-tested fall entrants): their MOY and EOY results are held
    PLATEAU_MARGIN below their BOY result on the vendor's scale (the scale rises by the window's norm
    gain, so x falls by that gain over the vendor SD). The shortfall is taken from their untutored
    growth (``base``), not from the tutoring effect: the estimands stay the mean planted effect (0 at
    effect_sd 0), and the impact estimate sees a few treated students grow less — PLATEAU_SHARE of
    the fall entrants, a bias below 0.005 SD."""
    scale = np.ones(len(enr.student)) if scale is None else scale
    plateau = np.zeros(0, dtype=np.int64) if plateau is None else plateau
    p_stu, p_sub = enr.student[plateau], enr.subject[plateau]
    for w in (1, 2):
        test_day = scr.day[w, enr.subject, enr.student]
        a = attainment(cal, ses, enr, test_day)
        scr.effect[w, enr.subject, enr.student] = effect_sd * scale * np.minimum(1.0, a / ADEQUATE)
        gain = np.where(scr.vendor[p_stu] == 0, MAP_MEAN[2][w] / MAP_MEAN[3], IREADY_MEAN[2][w] / IREADY_MEAN[3])
        target = scr.x(0, 0)[p_stu] * (p_sub == 0) + scr.x(0, 1)[p_stu] * (p_sub == 1) - gain - PLATEAU_MARGIN
        for _ in range(5):
            unit = scr.effect_unit[w, p_sub, p_stu]
            scr.base[w, p_sub, p_stu] = target - scr.effect[w, p_sub, p_stu] * unit
            for s in range(2):
                sd = norm_cell_sd(scr, students.grade, w, s)
                scr.effect_unit[w, s] = np.where(np.isnan(sd), window_sd(w), sd)


def plant_no_shows(seed: int, schools: Schools, students: Students, enr: Enrollments) -> int:
    """Planted: one school (not the inverted one, when there is another) where NO_SHOW_SHARE of the
    enrolled students never attend a session (attend_p = 0); returns its index."""
    rng = stream(seed, "no-show-school")
    pool = [i for i in range(schools.n) if i != schools.inverted] or [schools.inverted]
    school = int(pool[int(rng.integers(len(pool)))])
    k = np.flatnonzero(students.school[enr.student] == school)
    enr.attend_p[k[rng.random(len(k)) < NO_SHOW_SHARE]] = 0.0
    return school


def pick_plateau(seed: int, scr: Screening, enr: Enrollments) -> np.ndarray:
    """Planted plateauing students: PLATEAU_SHARE (at least one per subject) of the fall entrants tested at BOY
    before entry and at MOY and EOY after it, never exited, who attend most meetings (attend_p ≥ 0.8:
    dosage is not why they stall). Enrollment indices, ascending."""
    rng = stream(seed, "plateau")
    s, i = enr.subject, enr.student
    ok = ((enr.cohort == 0) & (enr.exit >= 10 ** 6) & (enr.attend_p >= 0.8)
          & scr.tested[0, s, i] & scr.tested[1, s, i] & scr.tested[2, s, i]
          & (scr.day[0, s, i] < enr.entry) & (scr.day[1, s, i] > enr.entry))
    picked = []
    for subject in range(2):
        pool = np.flatnonzero(ok & (s == subject))
        if len(pool):
            k = max(1, int(round(PLATEAU_SHARE * len(pool))))
            picked.append(rng.choice(pool, size=k, replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def simulate(seed: int, students: Students, schools: Schools, cal: Calendar, scr: Screening,
             effect_sd: float) -> Program:
    providers = PROVIDERS
    sp = school_providers(schools.n)
    referrals, enr = refer_and_enroll(seed, students, scr, cal, sp)
    no_show = plant_no_shows(seed, schools, students, enr)
    groups = form_groups(seed, students, scr, cal, enr, providers)
    tutors = hire_tutors(seed, groups, providers, schools.n)
    sessions, meetings = hold_meetings(seed, cal, groups, tutors, enr, providers, students)
    scale = np.array(TYPE_EFFECT)[tutors.type[groups.tutor[enr.group]]] if len(enr.student) else None
    plateau = pick_plateau(seed, scr, enr)
    plant_effect(cal, sessions, enr, scr, students, effect_sd, scale, plateau)
    return Program(providers, sp, referrals, enr, groups, tutors, sessions, meetings["group"],
                   meetings["day"], meetings["status"], meetings["duration"], meetings["attendees"],
                   meetings["tutor"], no_show, plateau)


__all__ = ["PROVIDERS", "Program", "simulate", "attainment", "window_sd"]
