"""The SIS delivery (folder ``sis/``): OneRoster 1.1 bulk CSVs plus the district's own files
(attendance, student_programs, referrals, grades).

Grain: orgs one row per org; academicSessions per session; courses per school × grade × subject;
classes per school × grade × subject × section; users per student and teacher; enrollments per
student × class and teacher × class; demographics per student; attendance per student × school day;
student_programs per student; referrals per student × subject × referral; grades per student ×
class × ended quarter.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._util import coded, group_rank, join, lookup, padded, stream, text
from .population import FIRST_NAMES, GRADE_ONEROSTER, LAST_NAMES, PROGRAMS, Schools, Students
from .school_calendar import Calendar
from .tutoring import REFERRAL_REASONS, REFERRAL_ROLES, Referrals
from .writers import StreamingCsv, write_csv

ORGS_HEADER = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId")
SESSIONS_HEADER = ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                   "parentSourcedId", "schoolYear")
COURSES_HEADER = ("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
                  "grades", "orgSourcedId", "subjects", "subjectCodes")
CLASSES_HEADER = ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                  "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
                  "subjectCodes", "periods")
USERS_HEADER = ("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
                "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email",
                "sms", "phone", "agentSourcedIds", "grades", "password")
ENROLLMENTS_HEADER = ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                      "userSourcedId", "role", "primary", "beginDate", "endDate")
DEMOGRAPHICS_HEADER = ("sourcedId", "status", "dateLastModified", "birthDate", "sex",
                       "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
                       "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
                       "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation",
                       "cityOfBirth", "publicSchoolResidenceStatus")
MANIFEST_HEADER = ("propertyName", "value")
ATTENDANCE_HEADER = ("student_id", "school_id", "date", "status")
PROGRAMS_HEADER = ("student_id",) + PROGRAMS
REFERRALS_HEADER = ("student_id", "referral_date", "subject", "referred_by_role", "reason")
GRADES_HEADER = ("student_id", "class_id", "term_id", "mark")

ATTENDANCE_STATUSES = ("present", "absent_excused", "absent_unexcused", "tardy")
SUBJECT_CODE = ("ela", "math")
SUBJECT_TITLE = ("English Language Arts", "Mathematics")
MARKS = ("A", "B", "C", "D", "F")
BIRTH_COUNTRIES = ("MX", "GT", "SV", "VN", "CN", "IN", "HT", "DO", "BR", "SY")
ROOM_BASE = 100


@dataclass
class Roster:
    """Sections, classes and teachers (fixed for the year)."""
    section: np.ndarray          # (2, n) section number per student per subject
    class_of: np.ndarray         # (2, n) class index per student per subject
    c_school: np.ndarray
    c_grade: np.ndarray
    c_subject: np.ndarray
    c_section: np.ndarray
    c_teacher: np.ndarray
    t_school: np.ndarray
    t_first: np.ndarray
    t_last: np.ndarray
    absence: np.ndarray          # per student: propensity to be absent on a school day
    quarter_end: list[int]       # last day of each quarter (days)
    quarter_start: list[int]


def build_roster(seed: int, students: Students, schools: Schools, cal: Calendar) -> Roster:
    rng = stream(seed, "roster")
    n = students.n
    key = students.school * 10 + students.grade
    section = np.zeros((2, n), dtype=np.int64)
    counts = np.bincount(key, minlength=schools.n * 10)
    n_sec = np.maximum(1, np.ceil(counts / 25).astype(np.int64))
    for s in range(2):
        tb = rng.random(n)
        order = np.lexsort((tb, key))
        rank, _, _ = group_rank(key[order])
        section[s, order] = rank % n_sec[key[order]]
    middle = students.grade >= 6
    section[1] = np.where(middle, section[1], section[0])      # elementary: one homeroom for both
    # classes: every (school, grade) with students × subject × section
    sg = np.flatnonzero(counts)
    c_school = np.repeat(sg // 10, 2 * n_sec[sg])
    c_grade = np.repeat(sg % 10, 2 * n_sec[sg])
    c_subject = np.concatenate([np.repeat([0, 1], k) for k in n_sec[sg]]) if len(sg) else np.zeros(0, int)
    c_section = np.concatenate([np.tile(np.arange(k), 2) for k in n_sec[sg]]) if len(sg) else np.zeros(0, int)
    ckey = ((c_school * 10 + c_grade) * 2 + c_subject) * 1000 + c_section
    order = np.argsort(ckey, kind="stable")
    c_school, c_grade, c_subject, c_section, ckey = (a[order] for a in (c_school, c_grade, c_subject, c_section, ckey))
    class_of = np.stack([np.searchsorted(ckey, ((students.school * 10 + students.grade) * 2 + s) * 1000 + section[s])
                         for s in range(2)])
    # teachers: elementary homeroom teaches both subjects of its section; middle one per class
    tkey = np.where(c_grade >= 6, ckey, ((c_school * 10 + c_grade) * 2) * 1000 + c_section)
    uniq, c_teacher = np.unique(tkey, return_inverse=True)
    T = len(uniq)
    t_school = (uniq // 1000 // 2 // 10)
    trng = stream(seed, "teachers")
    t_first = trng.integers(0, len(FIRST_NAMES), T)
    t_last = trng.integers(0, len(LAST_NAMES), T)
    # attendance propensity: ≈ 12 % of students are chronically absent (< 90 % present)
    arng = stream(seed, "attendance-propensity")
    ability = students.theta.mean(axis=0)
    absence = np.clip(arng.beta(2.0, 39.0, n) * np.exp(-0.2 * ability), 0.0, 0.6)
    # quarters: the school days cut in four equal runs
    days = cal.school_days()
    cuts = np.array_split(days, 4)
    return Roster(section, class_of, c_school, c_grade, c_subject, c_section, c_teacher, t_school,
                  t_first, t_last, absence, [int(c[-1]) for c in cuts], [int(c[0]) for c in cuts])


def class_ids(roster: Roster, schools: Schools) -> pa.Array:
    return join("cls-", padded(roster.c_school + 1, 4), "-", lookup(GRADE_ONEROSTER, roster.c_grade), "-",
                lookup(SUBJECT_CODE, roster.c_subject), "-", padded(roster.c_section + 1, 2))


def course_ids(school: np.ndarray, grade: np.ndarray, subject: np.ndarray) -> pa.Array:
    return join("crs-", padded(school + 1, 4), "-", lookup(GRADE_ONEROSTER, grade), "-", lookup(SUBJECT_CODE, subject))


def teacher_ids(idx: np.ndarray) -> pa.Array:
    return join("tch-", padded(idx + 1, 5))


def teacher_names(roster: Roster) -> pa.Array:
    return join(lookup([a for a, _ in FIRST_NAMES], roster.t_first), " ", lookup([a for a, _ in LAST_NAMES], roster.t_last))


def class_titles(roster: Roster) -> pa.Array:
    grade_word = ["Kindergarten"] + [f"Grade {g}" for g in range(1, 9)]
    return join(lookup(grade_word, roster.c_grade), " ", lookup(["ELA", "Math"], roster.c_subject),
                " Section ", text(roster.c_section + 1))


def year_session_ids(school_year: str) -> list[str]:
    return [f"as-{school_year}", f"as-{school_year}-s1", f"as-{school_year}-s2"] + \
        [f"as-{school_year}-q{k}" for k in range(1, 5)]


def _const(value: str, n: int) -> pa.Array:
    return lookup([value], np.zeros(n, dtype=np.int64))


def write_sis(folder: Path, seed: int, students: Students, schools: Schools, cal: Calendar,
              roster: Roster, referrals: Referrals, school_year: str, cycle_index: int,
              stamp: str, attendance_feed: str = "daily") -> None:
    """Write one delivery's sis/ folder: everything dated on or before the cycle's end. With
    ``attendance_feed="absences_only"`` attendance is the SIS's daily-absences export instead of a
    row per school day (config ``attendance: {feed: absences_only}``)."""
    cycle = cal.cycles[cycle_index]
    end_day = cal.day(cycle.end)
    n = students.n
    y = int(school_year[:4])
    iso = cal.day_strings("iso")
    district_id = "org-0000"
    # -- orgs
    S = schools.n
    write_csv(folder / "orgs.csv", ORGS_HEADER, [
        pa.array([district_id] + schools.sourced_id), _const("active", S + 1), _const(stamp, S + 1),
        pa.array([schools.district_name] + schools.name), pa.array(["district"] + ["school"] * S),
        pa.array([schools.district_identifier] + schools.identifier),
        pa.array([""] + [district_id] * S)])
    # -- academic sessions: the year, two semesters, four quarters (type term)
    ids = year_session_ids(school_year)
    qs, qe = roster.quarter_start, roster.quarter_end
    starts = [0, 0, qs[2], 0, qs[1], qs[2], qs[3]]
    ends = [cal.n_days - 1, qe[1], cal.n_days - 1, qe[0], qe[1], qe[2], cal.n_days - 1]
    write_csv(folder / "academicSessions.csv", SESSIONS_HEADER, [
        pa.array(ids), _const("active", 7), _const(stamp, 7),
        pa.array([school_year, "Semester 1", "Semester 2", "Quarter 1", "Quarter 2", "Quarter 3", "Quarter 4"]),
        pa.array(["schoolYear", "semester", "semester", "term", "term", "term", "term"]),
        pa.array([iso[d] for d in starts]), pa.array([iso[d] for d in ends]),
        pa.array(["", ids[0], ids[0], ids[1], ids[1], ids[2], ids[2]]), _const(str(y + 1), 7)])
    # -- courses: one per school × grade × subject that has classes
    ck = (roster.c_school * 10 + roster.c_grade) * 2 + roster.c_subject
    _, first = np.unique(ck, return_index=True)
    cs, cg, csub = roster.c_school[first], roster.c_grade[first], roster.c_subject[first]
    m = len(first)
    grade_word = ["Kindergarten"] + [f"Grade {g}" for g in range(1, 9)]
    write_csv(folder / "courses.csv", COURSES_HEADER, [
        course_ids(cs, cg, csub), _const("active", m), _const(stamp, m), _const(ids[0], m),
        join(lookup(grade_word, cg), " ", lookup(SUBJECT_TITLE, csub)),
        join(lookup(["ELA", "MATH"], csub), lookup(GRADE_ONEROSTER, cg)),
        lookup(GRADE_ONEROSTER, cg), lookup(schools.sourced_id, cs), lookup(SUBJECT_TITLE, csub), _const("", m)])
    # -- classes
    C = len(roster.c_school)
    cids = class_ids(roster, schools)
    write_csv(folder / "classes.csv", CLASSES_HEADER, [
        cids, _const("active", C), _const(stamp, C), class_titles(roster),
        lookup(GRADE_ONEROSTER, roster.c_grade),
        course_ids(roster.c_school, roster.c_grade, roster.c_subject),
        join(lookup(["ELA", "MATH"], roster.c_subject), lookup(GRADE_ONEROSTER, roster.c_grade), "-",
             padded(roster.c_section + 1, 2)),
        _const("scheduled", C), join("Room ", text(ROOM_BASE + roster.c_teacher % 900)),
        lookup(schools.sourced_id, roster.c_school), _const(ids[0], C), lookup(SUBJECT_TITLE, roster.c_subject),
        _const("", C), text(np.where(roster.c_grade >= 6, 1 + 2 * roster.c_subject + roster.c_section % 2, 1))])
    # -- users: students then teachers
    T = len(roster.t_school)
    domain = schools.district_name.split(" Unified")[0].lower().replace(" ", "") + ".k12.us"
    t_idx = np.arange(T)
    t_user = join(lookup([a for _, a in FIRST_NAMES], roster.t_first), ".",
                  lookup([a for _, a in LAST_NAMES], roster.t_last), text(t_idx + 1))
    middle = lookup([chr(65 + k) for k in range(26)], students.middle)
    users = [
        pa.concat_arrays([students.sourced_id, teacher_ids(t_idx)]),
        _const("active", n + T), _const(stamp, n + T), _const("true", n + T),
        pa.concat_arrays([lookup(schools.sourced_id, students.school), lookup(schools.sourced_id, roster.t_school)]),
        pa.concat_arrays([_const("student", n), _const("teacher", T)]),
        pa.concat_arrays([students.username, t_user]),
        pa.concat_arrays([join("{LocalID:", students.local_id, "},{StateID:", students.state_id, "}"),
                          join("{EmployeeID:E", padded(t_idx + 10001, 5), "}")]),
        pa.concat_arrays([lookup([a for a, _ in FIRST_NAMES], students.first), lookup([a for a, _ in FIRST_NAMES], roster.t_first)]),
        pa.concat_arrays([lookup([a for a, _ in LAST_NAMES], students.last), lookup([a for a, _ in LAST_NAMES], roster.t_last)]),
        pa.concat_arrays([middle, _const("", T)]),
        pa.concat_arrays([students.local_id, join("E", padded(t_idx + 10001, 5))]),
        pa.concat_arrays([join(students.username, "@students." + domain), join(t_user, "@" + domain)]),
        _const("", n + T), _const("", n + T), _const("", n + T),
        pa.concat_arrays([lookup(GRADE_ONEROSTER, students.grade), _const("", T)]),
        _const("", n + T)]
    write_csv(folder / "users.csv", USERS_HEADER, users, style="minimal")
    # -- enrollments: each student in a reading and a math class; each teacher in theirs
    stu = np.repeat(np.arange(n), 2)
    subj = np.tile([0, 1], n)
    cls = roster.class_of[subj, stu]
    t_of_class = roster.c_teacher
    e_n = 2 * n + C
    write_csv(folder / "enrollments.csv", ENROLLMENTS_HEADER, [
        join("enr-", padded(np.arange(e_n) + 1, 8)), _const("active", e_n), _const(stamp, e_n),
        pa.concat_arrays([cids.take(pa.array(cls)), cids]),
        pa.concat_arrays([lookup(schools.sourced_id, students.school[stu]), lookup(schools.sourced_id, roster.c_school)]),
        pa.concat_arrays([students.sourced_id.take(pa.array(stu)), teacher_ids(t_of_class)]),
        pa.concat_arrays([_const("student", 2 * n), _const("teacher", C)]),
        pa.concat_arrays([_const("false", 2 * n), _const("true", C)]),
        _const(iso[0], e_n), _const(iso[cal.n_days - 1], e_n)])
    # -- demographics
    drng = stream(seed, "demographics-extra")
    tf = ("true", "false")
    flags = []
    for r in range(5):
        on = (students.race == r) | (students.race_pair[:, 0] == r) | (students.race_pair[:, 1] == r)
        flags.append(lookup(tf, np.where(on, 0, 1)))
    abroad = students.programs[:, 0] & (drng.random(n) < 0.45)
    country = np.where(abroad, drng.integers(0, len(BIRTH_COUNTRIES), n), -1)
    birth = pa.array(students.birth_day.astype("datetime64[D]")).cast(pa.string())
    write_csv(folder / "demographics.csv", DEMOGRAPHICS_HEADER, [
        students.sourced_id, _const("active", n), _const(stamp, n), birth,
        lookup(["male", "female"], np.where(students.male, 0, 1)), *flags,
        lookup(tf, np.where(students.race == 5, 0, 1)), lookup(tf, np.where(students.hispanic, 0, 1)),
        pc.if_else(pa.array(country >= 0), lookup(BIRTH_COUNTRIES, country), _const("US", n)),
        _const("", n), _const("", n), _const("", n)])
    # -- manifest
    files = ("academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
             "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users")
    bulk = {"academicSessions", "classes", "courses", "demographics", "enrollments", "orgs", "users"}
    props = ["manifest.version", "oneroster.version"] + [f"file.{f}" for f in files] + ["source.systemName", "source.systemCode"]
    vals = ["1.0", "1.1"] + ["bulk" if f in bulk else "absent" for f in files] + ["Synthetic SIS", "tutoring-impact-generator"]
    write_csv(folder / "manifest.csv", MANIFEST_HEADER, [pa.array(props), pa.array(vals)])
    # -- district files
    if attendance_feed == "absences_only":
        write_attendance(folder / "daily_absences.csv", seed, students, schools, cal, roster, end_day,
                         absences_only=True)
    else:
        write_attendance(folder / "attendance.csv", seed, students, schools, cal, roster, end_day)
    yn = ("Y", "N")
    write_csv(folder / "student_programs.csv", PROGRAMS_HEADER, [students.sourced_id] + [
        lookup(yn, np.where(students.program_known[:, k], np.where(students.programs[:, k], 0, 1), -1))
        for k in range(len(PROGRAMS))])
    keep = np.flatnonzero(referrals.day <= end_day)
    order = keep[np.lexsort((referrals.subject[keep], referrals.student[keep], referrals.day[keep]))]
    write_csv(folder / "referrals.csv", REFERRALS_HEADER, [
        students.sourced_id.take(pa.array(referrals.student[order])), lookup(iso, referrals.day[order]),
        lookup(("ELA", "Math"), referrals.subject[order]), lookup(REFERRAL_ROLES, referrals.role[order]),
        lookup(REFERRAL_REASONS, referrals.reason[order])])
    write_grades(folder / "grades.csv", seed, students, roster, cids, school_year, end_day)


# The district SIS's daily-absences export (config/mappings/district_absences.yml): one row per
# absence or tardy, the local student number, US dates, the SIS's codes.
ABSENCES_HEADER = ("Student Number", "Absence Date", "Attendance Code", "School ID")
ABSENCE_CODES = ("", "EXC", "UNX", "TDY", "MED")     # by status index; MED: an excused medical absence


def write_attendance(path: Path, seed: int, students: Students, schools: Schools, cal: Calendar,
                     roster: Roster, end_day: int, absences_only: bool = False) -> int:
    """One row per student per school day up to end_day (or, absences_only, per absence or tardy);
    each day's draws come from that day's own stream, so every delivery repeats the earlier days
    exactly and both feeds describe the same days."""
    n = students.n
    iso = cal.day_strings("iso")
    dict_type = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema([("student_id", pa.string()), ("school_id", dict_type), ("date", dict_type),
                        ("status", dict_type)])
    if absences_only:
        return _write_absences(path, seed, students, schools, cal, roster, end_day)
    out = StreamingCsv(path, list(ATTENDANCE_HEADER), schema)
    school_col = coded(schools.sourced_id, students.school)
    zeros = np.zeros(n, dtype=np.int32)
    try:
        for day in cal.school_days(0, end_day):
            status, _ = _day_statuses(seed, day, roster, n)
            date_col = pa.DictionaryArray.from_arrays(pa.array(zeros), pa.array([iso[day]]))
            out.write(pa.record_batch([students.sourced_id, school_col, date_col,
                                       coded(ATTENDANCE_STATUSES, status)], schema=schema))
    finally:
        out.close()
    return out.rows


def _day_statuses(seed: int, day: int, roster: Roster, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = stream(seed, "attendance", int(day))
    weekday = int(day) % 7
    day_factor = (1.15 if weekday in (0, 4) else 1.0) * float(np.exp(rng.normal(0, 0.15)))
    u = rng.random(n, dtype=np.float32)
    v = rng.random(n, dtype=np.float32)
    absent = u < roster.absence * day_factor
    return np.where(absent, np.where(v < 0.4, 1, 2), np.where(v < 0.04, 3, 0)), v


def _write_absences(path: Path, seed: int, students: Students, schools: Schools, cal: Calendar,
                    roster: Roster, end_day: int) -> int:
    us = cal.day_strings("us")
    parts = {k: [] for k in ("student", "day", "code")}
    for day in cal.school_days(0, end_day):
        status, v = _day_statuses(seed, day, roster, students.n)
        k = np.flatnonzero(status > 0)
        code = np.where((status[k] == 1) & (v[k] < 0.1), 4, status[k])
        parts["student"].append(k)
        parts["day"].append(np.full(len(k), day))
        parts["code"].append(code)
    st, dy, cd = (np.concatenate(parts[x]) if parts[x] else np.zeros(0, dtype=np.int64) for x in ("student", "day", "code"))
    return write_csv(path, ABSENCES_HEADER, [students.local_id.take(pa.array(st)), lookup(us, dy),
                                             lookup(ABSENCE_CODES, cd), lookup(schools.sourced_id, students.school[st])])


def write_grades(path: Path, seed: int, students: Students, roster: Roster, cids: pa.Array,
                 school_year: str, end_day: int) -> None:
    """Quarter marks A–F per student × class, for quarters ended on or before end_day."""
    n = students.n
    cols = {k: [] for k in ("student", "class", "term", "mark")}
    q_ids = year_session_ids(school_year)[3:]
    for q, qend in enumerate(roster.quarter_end):
        if qend > end_day:
            continue
        for s in range(2):
            rng = stream(seed, "grades", q, s)
            z = 0.8 * students.theta[s] + rng.normal(0, 0.6, n)
            mark = 4 - np.searchsorted(np.array([-1.6, -0.9, -0.1, 0.8]), z, side="right")
            cols["student"].append(np.arange(n))
            cols["class"].append(roster.class_of[s])
            cols["term"].append(np.full(n, q))
            cols["mark"].append(mark)
    if cols["student"]:
        st, cl, tm, mk = (np.concatenate(cols[k]) for k in ("student", "class", "term", "mark"))
    else:
        st = cl = tm = mk = np.zeros(0, dtype=np.int64)
    order = np.lexsort((cl, tm, st))
    write_csv(path, GRADES_HEADER, [students.sourced_id.take(pa.array(st[order])), cids.take(pa.array(cl[order])),
                                    lookup(q_ids, tm[order]), lookup(MARKS, mk[order])])
