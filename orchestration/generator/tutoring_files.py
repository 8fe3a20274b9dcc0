"""The tutoring delivery (folder ``tutoring/``): one DATAS-based sessions file per provider (with the
planted bad rows), tutors, program_enrollment, observations, invoices, family_contacts,
scope_and_sequence and surveys.

Grain: sessions one row per student × meeting; tutors per tutor; program_enrollment per student ×
subject × entry; observations per observation × rubric item; invoices per external provider × month;
family_contacts per student × date × channel; scope_and_sequence per grade × subject × week;
surveys per respondent × item × date.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._util import distinct_random, fixed, join, lookup, padded, stream, text
from .population import FIRST_NAMES, GRADE_TEXT, LAST_NAMES, Schools, Students
from .school_calendar import Calendar
from .screeners import SKILLS, Screening
from .tutoring import EXIT_REASONS, REFERRAL_SOURCES, STATUS, Program
from .writers import write_csv

SESSIONS_HEADER = ("student_id", "session_topic", "session_date", "session_duration", "session_ratio",
                   "tutor_id", "session_id", "group_id", "attendance_status", "scheduled_minutes",
                   "skill_focus", "modality", "during_school_day", "partner_org", "school_id",
                   "session_notes")
TUTORS_HEADER = ("tutor_id", "tutor_name", "tutor_type", "partner_org", "start_date", "training_completed_date")
ENROLLMENT_HEADER = ("student_id", "subject", "entry_date", "exit_date", "exit_reason", "referral_source")
OBSERVATIONS_HEADER = ("observation_id", "tutor_id", "observed_date", "observer_role", "rubric_item", "score")
INVOICES_HEADER = ("invoice_id", "vendor", "period_start", "period_end", "amount_usd", "funding_source")
CONTACTS_HEADER = ("student_id", "contact_date", "channel", "language", "outcome")
SCOPE_HEADER = ("school_id", "grade", "subject", "week_start", "skill")
SURVEYS_HEADER = ("respondent_type", "respondent_id", "student_id", "survey_date", "item", "response")

TUTOR_TYPE_NAMES = ("teacher", "paraprofessional", "vendor", "community_partner")
TOPIC = ("ela", "math")
SUBJECT_NAME = ("reading", "math")
ALL_SKILLS = tuple(SKILLS[0]) + tuple(SKILLS[1])
SKILL_WORDS = ("phonological awareness", "phonics", "high-frequency words", "fluency", "vocabulary",
               "literary comprehension", "informational comprehension", "number and operations",
               "algebraic thinking", "measurement and data", "geometry")
NOTE_TEMPLATES = ("Worked on {} with guided practice", "Reviewed {} and completed an exit ticket",
                  "Small group practice on {}", "Good engagement during {} work")
ABSENT_NOTES = ("Student absent", "Tutor absent - session not held", "Session cancelled by site")
RUBRIC_ITEMS = ("instructional_focus", "student_engagement", "pacing", "feedback_quality")
OBSERVER_ROLES = ("coach", "site_supervisor", "program_manager")
CHANNELS = ("phone", "text", "email", "in_person")
LANGUAGES = ("English", "Spanish", "Vietnamese", "Arabic", "Haitian Creole", "Portuguese")
OUTCOMES = ("reached", "left_message", "no_answer", "meeting_scheduled")
BAD_REASONS = ("unmatched_student", "implausible_minutes", "bad_number", "bad_date", "duplicate_key")
READING_ROTATION = ((0, 1, 2, 3), (1, 3, 4, 5, 6), (4, 5, 6, 3))     # K–1, 2–3, 4–8 (skill indices)
MATH_ROTATION = (0, 1, 2, 3)


# Providers whose portal exports its own layout, landed through a shipped YAML mapping (named from
# the generated config's ``sources:``): key → (file name, mapping name).
MAPPED_PROVIDERS = {"acme": ("acme_sessions_export.csv", "acme_tutors")}
ACME_HEADER = ("Learner ID", "Tutor Code", "Course", "Session Date (DD/MM/YYYY)", "Start Time", "Minutes", "Status",
               "Group", "Comments", "Session Ref")
ACME_STATUS = {"attended": "P", "student_absent": "A", "tutor_absent": "TA", "cancelled": "C"}


def session_file_name(provider_key: str) -> str:
    return MAPPED_PROVIDERS[provider_key][0] if provider_key in MAPPED_PROVIDERS else f"sessions_{provider_key}.csv"


def acme_columns(cols: dict[str, pa.Array], seed: int, cycle_index: int) -> tuple[list[pa.Array], pa.Array]:
    """The DATAS columns (bad rows included) as Acme's portal exports them: day-first dates, start
    times in US Central (the district is an hour ahead), P/A/TA/C codes, "Literacy/Numeracy Boost",
    free-text comments that sometimes hold commas and a line break. Also returns the truncated copy
    of the first row a cut-off download leaves as the last line (no newline after it)."""
    date = cols["session_date"]
    ymd = pc.utf8_slice_codeunits(date, 0, 10)
    hour = pc.cast(pc.utf8_slice_codeunits(date, 11, 13), pa.int64())
    central = pc.utf8_lpad(pc.cast(pc.subtract(hour, 1), pa.string()), width=2, padding="0")
    rng = stream(seed, "acme-comments", cycle_index)
    n = len(date)
    extra = rng.random(n)
    notes = cols["session_notes"]
    notes = pc.if_else(pa.array(extra < 0.03), pc.binary_join_element_wise(notes, ", parent emailed\nsee portal", ""),
                       notes)
    status = cols["attendance_status"]
    for k, v in ACME_STATUS.items():
        status = pc.if_else(pc.equal(status, k), pa.scalar(v), status)
    out = [cols["student_id"], cols["tutor_id"],
           pc.if_else(pc.equal(cols["session_topic"], "ela"), pa.scalar("Literacy Boost"), pa.scalar("Numeracy Boost")),
           pc.binary_join_element_wise(pc.utf8_slice_codeunits(ymd, 8, 10), pc.utf8_slice_codeunits(ymd, 5, 7),
                                       pc.utf8_slice_codeunits(ymd, 0, 4), "/"),
           pc.binary_join_element_wise(central, pc.utf8_slice_codeunits(date, 14, 16), ":"),
           cols["session_duration"], status, cols["group_id"], notes, cols["session_id"]]
    truncated = pa.array([",".join(str(c[0]) for c in out[:3])[:-3]] if n else [], pa.string())
    return out, truncated


@dataclass
class TutorRoster:
    tutor_id: pa.Array
    name: pa.Array
    start: np.ndarray
    trained: np.ndarray          # day, or -1 never
    quality: np.ndarray


def tutor_roster(seed: int, prog: Program, cal: Calendar) -> TutorRoster:
    rng = stream(seed, "tutor-roster")
    T = len(prog.tutors.provider)
    ids = join("T", text(distinct_random(rng, 10000, 100000, T)))
    name = join(lookup([a for a, _ in FIRST_NAMES], rng.integers(0, len(FIRST_NAMES), T)), " ",
                lookup([a for a, _ in LAST_NAMES], rng.integers(0, len(LAST_NAMES), T)))
    ps = cal.day(cal.program_start)
    start = ps - rng.integers(5, 41, T)
    u = rng.random(T)
    trained = np.where(u < 0.8, np.minimum(start + rng.integers(0, 10, T), ps - 1),
                       np.where(u < 0.9, ps + rng.integers(10, 61, T), -1))
    quality = rng.normal(3.0, 0.4, T) - 0.5 * prog.tutors.high_absence
    return TutorRoster(ids, name, start, trained, quality)


def _iso_dates(cal: Calendar, days: np.ndarray) -> pa.Array:
    """ISO dates for day numbers that may lie outside the school year (before its first day)."""
    base = np.datetime64(cal.first_day.isoformat())
    return pa.array((base + np.asarray(days, dtype=np.int64)).astype("datetime64[D]")).cast(pa.string())


def sessions_columns(prog: Program, students: Students, schools: Schools, cal: Calendar,
                     roster: TutorRoster, rows: np.ndarray, provider: int) -> dict[str, pa.Array]:
    """The DATAS columns of the given (valid) session rows of one provider."""
    ses = prog.sessions
    p = prog.providers[provider]
    st = ses.student[rows]
    ids = students.state_id if p.id_kind == "state" else students.local_id
    iso = cal.day_strings("iso")
    minute = ses.minute[rows]
    subject = ses.subject[rows]
    skill = ses.skill[rows] + np.where(subject == 1, len(SKILLS[0]), 0)
    notes = [t.format(w) for t in NOTE_TEMPLATES for w in SKILL_WORDS] + list(ABSENT_NOTES)
    note_idx = np.where(ses.note[rows] >= 0, ses.note[rows] * len(SKILL_WORDS) + skill,
                        len(NOTE_TEMPLATES) * len(SKILL_WORDS) + (-ses.note[rows] - 2))
    return {
        "student_id": ids.take(pa.array(st)),
        "session_topic": lookup(TOPIC, subject),
        "session_date": join(lookup(iso, ses.day[rows]), " ", padded(minute // 60, 2), ":",
                             padded(minute % 60, 2), ":00"),
        "session_duration": text(ses.duration[rows]),
        "session_ratio": join("1:", text(ses.ratio[rows])),
        "tutor_id": roster.tutor_id.take(pa.array(ses.tutor[rows])),
        "session_id": join(p.code + "-", padded(ses.serial[rows], 8)),
        "group_id": join(p.code + "-G", padded(ses.group[rows], 6)),
        "attendance_status": lookup(STATUS, ses.status[rows]),
        "scheduled_minutes": text(ses.scheduled[rows]),
        "skill_focus": lookup(ALL_SKILLS, skill),
        "modality": lookup(("in_person", "virtual"), ses.modality[rows].astype(np.int64)),
        "during_school_day": lookup(("FALSE", "TRUE"), ses.in_school[rows].astype(np.int64)),
        "partner_org": lookup([p.partner_org], np.zeros(len(rows), dtype=np.int64)),
        "school_id": lookup(schools.sourced_id, ses.school[rows]),
        "session_notes": lookup(notes, note_idx),
    }


def with_bad_rows(cols: dict[str, pa.Array], seed: int, cycle_index: int, provider: int, code: str,
                  year: int) -> tuple[dict[str, pa.Array], dict[str, int]]:
    """Add the planted bad rows (each reason ≈ 0.2–0.4 % of the file's rows) at random positions.
    Corrupted rows are copies of valid rows under new session_ids, so no valid row is lost;
    duplicate_key rows are exact copies (the extra copies are counted)."""
    n = len(cols["student_id"])
    rng = stream(seed, "bad-rows", cycle_index, provider)
    counts = {}
    parts = []
    serial = 0
    for reason in BAD_REASONS:
        k = int(round(rng.uniform(0.002, 0.004) * n))
        if n >= 400:                     # every reason present, yet ≤ ≈ 1.5 % of the file in all
            k = max(k, 1)
        counts[reason] = k
        if k == 0:
            continue
        src = rng.choice(n, size=k, replace=False)
        bad = {name: col.take(pa.array(src)) for name, col in cols.items()}
        if reason != "duplicate_key":
            bad["session_id"] = join(code + "-9", padded(np.full(k, cycle_index), 2),
                                     padded(serial + np.arange(k), 5))
            serial += k
        if reason == "unmatched_student":
            bad["student_id"] = text(distinct_random(rng, 90000000, 100000000, k))
        elif reason == "implausible_minutes":
            bad["session_duration"] = text(rng.integers(300, 901, k))
            bad["attendance_status"] = lookup(STATUS, np.zeros(k, dtype=np.int64))
        elif reason == "bad_number":
            bad["session_duration"] = lookup(["abc"], np.zeros(k, dtype=np.int64))
        elif reason == "bad_date":
            bad["session_date"] = join(f"{year}-13-", text(rng.integers(32, 46, k)), " 10:00:00")
        parts.append(bad)
    if not parts:
        return cols, counts
    m = sum(len(b["student_id"]) for b in parts)
    position = np.concatenate([2 * np.arange(n), 2 * rng.integers(0, max(n, 1), m) + 1])
    order = pa.array(np.argsort(position, kind="stable"))
    out = {name: pa.concat_arrays([col] + [b[name] for b in parts]).take(order) for name, col in cols.items()}
    return out, counts


def write_tutoring(folder: Path, seed: int, students: Students, schools: Schools, cal: Calendar,
                   scr: Screening, prog: Program, roster: TutorRoster, cycle_index: int) -> dict[str, dict[str, int]]:
    """Write one delivery's tutoring/ folder; returns the planted bad-row counts per file."""
    cycle = cal.cycles[cycle_index]
    end_day = cal.day(cycle.end)
    iso = cal.day_strings("iso")
    ses = prog.sessions
    year = cal.first_day.year
    bad: dict[str, dict[str, int]] = {}
    serving = np.unique(prog.school_provider)
    for p in serving:
        prov = prog.providers[int(p)]
        rows = np.flatnonzero((ses.provider == p) & (ses.day <= end_day))
        cols = sessions_columns(prog, students, schools, cal, roster, rows, int(p))
        cols, counts = with_bad_rows(cols, seed, cycle.index, int(p), prov.code, year + 1)
        name = session_file_name(prov.key)
        if prov.key in MAPPED_PROVIDERS:
            body, truncated = acme_columns(cols, seed, cycle.index)
            write_csv(folder / name, ACME_HEADER, body, style="minimal")
            if len(truncated):
                with open(folder / name, "ab") as f:
                    f.write(truncated[0].as_py().encode("utf-8"))
                counts["malformed_row"] = 1
        else:
            write_csv(folder / name, SESSIONS_HEADER, [cols[c] for c in SESSIONS_HEADER])
        bad[f"tutoring/{name}"] = counts
    # -- tutors
    t = prog.tutors
    trained = np.where((roster.trained >= 0) & (roster.trained <= end_day), roster.trained, -1)
    order = np.asarray(pc.sort_indices(roster.tutor_id))
    write_csv(folder / "tutors.csv", TUTORS_HEADER, [
        roster.tutor_id.take(pa.array(order)), roster.name.take(pa.array(order)),
        lookup(TUTOR_TYPE_NAMES, t.type[order]),
        lookup([p.partner_org for p in prog.providers], t.provider[order]),
        _iso_dates(cal, roster.start[order]),
        pc.if_else(pa.array(trained[order] >= 0), _iso_dates(cal, np.maximum(trained[order], 0)),
                   pa.scalar("", pa.string()))])
    # -- program enrollment
    e = prog.enrollments
    keep = np.flatnonzero(e.entry <= end_day)
    keep = keep[np.lexsort((e.subject[keep], students.local_rank[e.student[keep]]))]
    exited = e.exit[keep] <= end_day
    write_csv(folder / "program_enrollment.csv", ENROLLMENT_HEADER, [
        students.local_id.take(pa.array(e.student[keep])), lookup(SUBJECT_NAME, e.subject[keep]),
        lookup(iso, e.entry[keep]), lookup(iso, np.where(exited, e.exit[keep], -1)),
        lookup(EXIT_REASONS, np.where(exited, e.exit_reason[keep], -1)),
        lookup(REFERRAL_SOURCES, e.source[keep])])
    obs = observations(seed, prog, roster, cal)
    k = np.flatnonzero(obs["day"] <= end_day)
    write_csv(folder / "observations.csv", OBSERVATIONS_HEADER, [
        join("OBS-", padded(obs["serial"][k], 6)), roster.tutor_id.take(pa.array(obs["tutor"][k])),
        lookup(iso, obs["day"][k]), lookup(OBSERVER_ROLES, obs["role"][k]),
        lookup(RUBRIC_ITEMS, obs["item"][k]), text(obs["score"][k])])
    inv = invoices(prog, cal)
    k = [i for i, r in enumerate(inv) if r[3] <= cycle.end]
    write_csv(folder / "invoices.csv", INVOICES_HEADER, [
        pa.array([inv[i][0] for i in k], pa.string()), pa.array([inv[i][1] for i in k], pa.string()),
        pa.array([inv[i][2].isoformat() for i in k], pa.string()),
        pa.array([inv[i][3].isoformat() for i in k], pa.string()),
        fixed(np.array([inv[i][4] for i in k], dtype=np.float64), 2),
        pa.array([inv[i][5] for i in k], pa.string())])
    fc = family_contacts(seed, prog, students, cal)
    k = np.flatnonzero(fc["day"] <= end_day)
    write_csv(folder / "family_contacts.csv", CONTACTS_HEADER, [
        students.local_id.take(pa.array(fc["student"][k])), lookup(iso, fc["day"][k]),
        lookup(CHANNELS, fc["channel"][k]), lookup(LANGUAGES, fc["language"][k]),
        lookup(OUTCOMES, fc["outcome"][k])])
    sc = scope_and_sequence(cal)
    write_csv(folder / "scope_and_sequence.csv", SCOPE_HEADER, [
        lookup([""], np.full(len(sc["grade"]), -1)), lookup(GRADE_TEXT, sc["grade"]),
        lookup(SUBJECT_NAME, sc["subject"]), lookup(iso, sc["week_start"]),
        lookup(ALL_SKILLS, sc["skill"] + np.where(sc["subject"] == 1, len(SKILLS[0]), 0))])
    sv = surveys(seed, prog, students, scr, cal)
    k = np.flatnonzero(sv["day"] <= end_day)
    sid = students.local_id.take(pa.array(sv["student"][k]))
    write_csv(folder / "surveys.csv", SURVEYS_HEADER, [
        lookup(["student"], np.zeros(len(k), dtype=np.int64)), sid, sid, lookup(iso, sv["day"][k]),
        lookup(["confidence"], np.zeros(len(k), dtype=np.int64)), text(sv["response"][k])])
    return bad


# ------------------------------------------------------------------------------ full-year tables
def observations(seed: int, prog: Program, roster: TutorRoster, cal: Calendar) -> dict[str, np.ndarray]:
    """≈ 1 observation per tutor per cycle (from the program's start), 4 rubric items each."""
    rng = stream(seed, "observations")
    T = len(prog.tutors.provider)
    ps = cal.day(cal.program_start)
    tut, day = [], []
    for c in cal.cycles:
        lo, hi = cal.cycle_days(c)
        days = cal.school_days(max(lo, ps), hi)
        if len(days) == 0:
            continue
        observed = rng.random(T) < 0.9
        d = days[rng.integers(0, len(days), T)]
        idx = np.flatnonzero(observed)
        tut.append(idx)
        day.append(d[idx])
    tutor = np.concatenate(tut) if tut else np.zeros(0, dtype=np.int64)
    d = np.concatenate(day) if day else np.zeros(0, dtype=np.int64)
    order = np.lexsort((tutor, d))
    tutor, d = tutor[order], d[order]
    n_obs = len(tutor)
    serial = np.arange(n_obs) + 1
    role = rng.integers(0, len(OBSERVER_ROLES), n_obs)
    reps = len(RUBRIC_ITEMS)
    score = np.clip(np.rint(roster.quality[tutor][:, None] + rng.normal(0, 0.5, (n_obs, reps))), 1, 4)
    return {"serial": np.repeat(serial, reps), "tutor": np.repeat(tutor, reps), "day": np.repeat(d, reps),
            "role": np.repeat(role, reps), "item": np.tile(np.arange(reps), n_obs),
            "score": score.astype(np.int64).ravel()}


def invoices(prog: Program, cal: Calendar) -> list[tuple]:
    """Monthly invoices per external provider: delivered hours (meetings held with ≥ 1 attendee)
    × the provider's hourly rate. Rows: (id, vendor, period_start, period_end, amount, funding)."""
    delivered = (prog.meeting_status == 0) & (prog.meeting_attendees > 0)
    m_provider = prog.groups.provider[prog.meeting_group]
    month_of_day = np.array([(cal.date(d).year * 12 + cal.date(d).month - 1) for d in range(cal.n_days)])
    months = sorted(set(month_of_day[cal.day(cal.program_start):].tolist()))
    out = []
    for p, prov in enumerate(prog.providers):
        if prov.hourly_usd <= 0 or p not in prog.school_provider:
            continue
        k = delivered & (m_provider == p)
        minutes = np.bincount(month_of_day[prog.meeting_day[k]] - months[0],
                              weights=prog.meeting_duration[k], minlength=len(months))
        for j, mo in enumerate(months):
            y, mth = divmod(mo, 12)
            start = dt.date(y, mth + 1, 1)
            end = dt.date(y + (mth + 1) // 12, (mth + 1) % 12 + 1, 1) - dt.timedelta(days=1)
            funding = prov.funding
            if prov.key == "brightpath" and mth + 1 in (1, 2, 3, 4, 5, 6):
                funding = "Title I"
            out.append((f"INV-{prov.code}-{y}-{mth + 1:02d}", prov.partner_org, start, end,
                        round(minutes[j] / 60.0 * prov.hourly_usd, 2), funding))
    return out


def family_contacts(seed: int, prog: Program, students: Students, cal: Calendar) -> dict[str, np.ndarray]:
    """A welcome contact at entry for most enrolled students, then now and then once per cycle."""
    rng = stream(seed, "family-contacts")
    e = prog.enrollments
    m = len(e.student)
    stu, day = [], []
    welcome = rng.random(m) < 0.8
    stu.append(e.student[welcome])
    day.append(np.maximum(e.entry[welcome] - rng.integers(0, 5, welcome.sum()), 0))
    for c in cal.cycles:
        lo, hi = cal.cycle_days(c)
        days = cal.school_days(lo, hi)
        if len(days) == 0:
            continue
        d = days[rng.integers(0, len(days), m)]
        k = (rng.random(m) < 0.35) & (d > e.entry) & (d <= e.exit)
        stu.append(e.student[k])
        day.append(d[k])
    s = np.concatenate(stu)
    d = np.concatenate(day)
    n = len(s)
    channel = rng.integers(0, len(CHANNELS), n)
    ell = students.programs[s, 0]
    lang = np.where(ell, 1 + np.searchsorted([0.6, 0.75, 0.85, 0.93], rng.random(n), side="right"), 0)
    lang = np.where(ell & (rng.random(n) < 0.15), 0, lang)
    outcome = np.searchsorted([0.55, 0.8, 0.95], rng.random(n), side="right")
    key = (s * 400 + d) * 4 + channel
    _, first = np.unique(key, return_index=True)           # one contact per student × day × channel
    first = first[np.lexsort((channel[first], students.local_rank[s[first]], d[first]))]
    return {"student": s[first], "day": d[first], "channel": channel[first], "language": lang[first],
            "outcome": outcome[first]}


def scope_and_sequence(cal: Calendar) -> dict[str, np.ndarray]:
    """What Tier 1 teaches each non-break week, per grade and subject (the whole year's plan): each
    skill of the grade band's rotation for three weeks, grades offset by one step."""
    weeks = np.flatnonzero(~cal.break_week)
    nth = np.arange(len(weeks))
    grade, subject, week, skill = [], [], [], []
    for g in range(9):
        band = 0 if g <= 1 else 1 if g <= 3 else 2
        for s, rot in ((0, READING_ROTATION[band]), (1, MATH_ROTATION)):
            rot = np.array(rot)
            grade.append(np.full(len(weeks), g))
            subject.append(np.full(len(weeks), s))
            week.append(7 * weeks)
            skill.append(rot[(nth // 3 + g) % len(rot)])
    return {"grade": np.concatenate(grade), "subject": np.concatenate(subject),
            "week_start": np.concatenate(week), "skill": np.concatenate(skill)}


def surveys(seed: int, prog: Program, students: Students, scr: Screening, cal: Calendar) -> dict[str, np.ndarray]:
    """Student confidence (1–5) at three waves — the program's start, after MOY, after EOY — for
    enrolled students and a fixed 10 % sample of the others; tutoring lifts it a little."""
    rng = stream(seed, "surveys")
    n = students.n
    e = prog.enrollments
    sample = rng.random(n) < 0.10
    first_entry = np.full(n, 10 ** 6)
    np.minimum.at(first_entry, e.student, e.entry)
    fall_cohort = np.zeros(n, dtype=bool)
    fall_cohort[e.student[e.cohort == 0]] = True
    ps = cal.day(cal.program_start)
    waves = [ps + 2, int(scr.windows.days[1][-1]) + 3, int(scr.windows.days[2][-1]) + 3]
    school = np.flatnonzero(cal.school_day)
    waves = [int(school[np.searchsorted(school, min(w, cal.n_days - 1))]) if w <= school[-1] else int(school[-1])
             for w in waves]
    base = 3.0 + 0.4 * students.theta.mean(axis=0)
    stu, day, resp = [], [], []
    for k, wday in enumerate(waves):
        tutored = (first_entry <= wday) if k else fall_cohort
        who = np.flatnonzero(tutored | sample)
        lift = np.where(tutored[who] & (k > 0), 0.25 + 0.2 * k, 0.0)
        r = np.clip(np.rint(base[who] + lift + rng.normal(0, 0.8, len(who))), 1, 5).astype(np.int64)
        stu.append(who)
        day.append(np.full(len(who), wday))
        resp.append(r)
    s = np.concatenate(stu)
    d = np.concatenate(day)
    r = np.concatenate(resp)
    order = np.lexsort((students.local_rank[s], d))
    return {"student": s[order], "day": d[order], "response": r[order]}
