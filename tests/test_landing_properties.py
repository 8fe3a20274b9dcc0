"""Properties of landing that must hold for every delivery (DESIGN §4.4–4.5).

- A random messy CSV (delimiters, quoting, BOM, CRLF, null markers, bad values, duplicates) lands
  with rows read = loaded + quarantined, and every loaded value is the value written (after the
  documented normalisation in ``sources.rules``) — a hypothesis property test.
- Snapshot feeds: a later delivery is the whole year; a late correction changes exactly its rows.
- Delta feeds: rows add to the feed's earlier rows; the latest delivery wins on the natural key.
- Absences-only attendance: present days are filled from enrollment × the school calendar, and the
  result equals the daily feed it was derived from.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import write_config, write_roster

YEAR = {"id": "2025-26", "first_day": "2025-08-18", "last_day": "2026-06-05",
        "breaks": [["2025-09-01", "2025-09-01"], ["2025-11-24", "2025-11-28"]]}
LOCAL_IDS = [f"{100 + i:06d}" for i in range(1, 21)]
SID = {lid: f"stu-{i:05d}" for i, lid in enumerate(LOCAL_IDS)}
SESSIONS = "student_id,session_topic,session_date,session_duration,session_ratio,tutor_id,session_id\n"


def parquet(res, table: str, sql: str = "select * from t order by all"):
    p = res.landing_dir / f"{table}.parquet"
    return duckdb.sql(sql.replace("from t", f"from read_parquet('{p}')")).fetchall()


def config_for(tmp_path, **extra):
    from orchestration.config import load_config
    return load_config(write_config(tmp_path, YEAR, **extra))


def deliver(c, cycle_id: str, files: dict[str, str], ready: str):
    inbox = c.inbox / cycle_id
    write_roster(inbox / "sis", LOCAL_IDS, school="org-1")
    for rel, text in files.items():
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        (inbox / rel).write_text(text)
    (inbox / "_READY").write_text(ready)
    from sources.landing import land_cycle
    return land_cycle(c, cycle_id)


def session_rows(rows):
    return SESSIONS + "".join(f"{lid},ELA,{day} 09:00,{mins},1:1,T01,{sid}\n" for sid, lid, day, mins in rows)


# ------------------------------------------------------------------------------ snapshot and delta
C1_ROWS = [("S1", "000101", "2025-09-15", 30), ("S2", "000102", "2025-09-15", 30), ("S3", "000103", "2025-09-16", 30),
           ("S4", "000104", "2025-09-16", 30), ("S5", "000105", "2025-09-17", 30)]


def test_snapshot_late_correction_changes_exactly_the_affected_rows(tmp_path):
    c = config_for(tmp_path)
    c1, c2 = c.cycles[0].id, c.cycles[1].id
    r1 = deliver(c, c1, {"tutoring/sessions_acme.csv": session_rows(C1_ROWS)}, "2025-10-01")
    corrected = [r if r[0] != "S3" else ("S3", "000103", "2025-09-16", 45) for r in C1_ROWS]
    later = corrected + [("S6", "000106", "2025-10-20", 30)]
    r2 = deliver(c, c2, {"tutoring/sessions_acme.csv": session_rows(later)}, "2025-11-12")
    before = {r[0]: r for r in parquet(r1, "sessions", "select session_id, student_id, session_duration from t")}
    after = {r[0]: r for r in parquet(r2, "sessions", "select session_id, student_id, session_duration from t")}
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {"S3"} and after["S3"][2] == 45 and set(after) - set(before) == {"S6"}
    # a snapshot is the whole year: a row missing from it is gone
    r3 = deliver(c, c.cycles[2].id, {"tutoring/sessions_acme.csv": session_rows(later[1:])}, "2025-12-20")
    assert "S1" not in {r[0] for r in parquet(r3, "sessions", "select session_id from t")}
    assert r3.carried_forward == {}


def test_delta_feed_adds_to_earlier_rows_and_the_latest_delivery_wins(tmp_path):
    c = config_for(tmp_path, sources=[{"name": "acme", "folder": "tutoring", "pattern": "sessions_acme*.csv",
                                       "mode": "delta"}])
    c1, c2, c3 = (x.id for x in c.cycles[:3])
    r1 = deliver(c, c1, {"tutoring/sessions_acme.csv": session_rows(C1_ROWS)}, "2025-10-01")
    assert r1.rows_loaded["sessions"] == 5 and (r1.landing_dir / "feeds/acme/sessions.parquet").is_file()
    # the next delivery holds only the late correction of S3 and one new session
    r2 = deliver(c, c2, {"tutoring/sessions_acme.csv": session_rows(
        [("S3", "000103", "2025-09-16", 45), ("S6", "000106", "2025-10-20", 30)])}, "2025-11-12")
    f = next(x for x in r2.files if x.source_file.endswith("sessions_acme.csv"))
    assert f.mode == "delta" and f.feed == "acme" and f.rows_read == 2 and f.rows_loaded == 2
    assert r2.carried_forward == {"sessions": 4} and r2.rows_loaded["sessions"] == 6
    before = dict(parquet(r1, "sessions", "select session_id, session_duration from t"))
    after = dict(parquet(r2, "sessions", "select session_id, session_duration from t"))
    assert {k for k in before if before[k] != after[k]} == {"S3"} and after["S3"] == 45 and after["S6"] == 30
    # a delivery without the feed's file keeps every earlier row; a snapshot feed beside it is separate
    r3 = deliver(c, c3, {"tutoring/sessions_other.csv": session_rows([("O1", "000110", "2025-12-01", 20)])},
                 "2025-12-20")
    got = dict(parquet(r3, "sessions", "select session_id, session_duration from t"))
    assert got == {**after, "O1": 20} and r3.carried_forward == {"sessions": 6}
    # the landing of each delivery is kept when a cycle is landed again
    from sources.landing import land_cycle
    (c.inbox / c2 / "tutoring" / "sessions_acme.csv").write_text(session_rows([("S3", "000103", "2025-09-16", 50)]))
    r2b = land_cycle(c, c2)
    assert dict(parquet(r2b, "sessions", "select session_id, session_duration from t"))["S3"] == 50
    assert len(list((c.landing / "history" / c2).iterdir())) == 1


def test_a_quarantined_correction_does_not_replace_the_earlier_good_row(tmp_path):
    c = config_for(tmp_path, sources=[{"name": "acme", "folder": "tutoring", "pattern": "sessions_acme*.csv",
                                       "mode": "delta"}])
    deliver(c, c.cycles[0].id, {"tutoring/sessions_acme.csv": session_rows(C1_ROWS)}, "2025-10-01")
    r2 = deliver(c, c.cycles[1].id, {"tutoring/sessions_acme.csv": session_rows([("S3", "000103", "2025-09-16", 999)])},
                 "2025-11-12")
    assert next(x for x in r2.files if x.source_file.endswith("acme.csv")).quarantined_by_reason == {
        "implausible_minutes": 1}
    assert dict(parquet(r2, "sessions", "select session_id, session_duration from t"))["S3"] == 30


# ------------------------------------------------------------------------------ absences only
def _school_days(first: dt.date, last: dt.date, breaks) -> list[dt.date]:
    out, d = [], first
    while d <= last:
        if d.weekday() < 5 and not any(b0 <= d <= b1 for b0, b1 in breaks):
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def test_absences_only_fill_follows_enrollment_and_the_calendar(tmp_path):
    c = config_for(tmp_path, attendance={"feed": "absences_only"})
    cycle = c.cycles[0]                         # 2025-08-18 … 2025-09-28
    inbox = c.inbox / cycle.id
    sis = inbox / "sis"
    write_roster(sis, LOCAL_IDS[:3], school="org-1")
    (sis / "orgs.csv").write_text("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                                  "org-1,active,,A,school,a,d\norg-2,active,,B,school,b,d\nd,active,,D,district,,\n")
    (sis / "classes.csv").write_text("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
                                     "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                                     "k1,active,,A,03,c,c,scheduled,,org-1,t,Math,,1\n"
                                     "k2,active,,B,03,c,c,scheduled,,org-2,t,Math,,1\n")
    # stu-00000: org-1 all year; stu-00001: moves from org-1 to org-2 on 2025-09-15; stu-00002: no enrollment
    (sis / "enrollments.csv").write_text(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
        "e1,active,,k1,org-1,stu-00000,student,false,2025-08-18,2026-06-05\n"
        "e2,active,,k1,org-1,stu-00001,student,false,2025-08-18,2025-09-12\n"
        "e3,active,,k2,,stu-00001,student,false,2025-09-15,2026-06-05\n"
        "e4,active,,k1,org-1,tch-1,teacher,false,2025-08-18,2026-06-05\n")
    (sis / "absences.csv").write_text("student_id,absence_date,code\n000101,2025-08-20,E\n000101,2025-09-22,T\n"
                                      "000102,2025-09-16,A\n000103,2025-08-18,\n")
    (inbox / "_READY").write_text("2025-09-30")
    from sources.landing import land_cycle
    res = land_cycle(c, cycle.id)
    f = next(x for x in res.files if x.source_file.endswith("absences.csv"))
    assert f.layout == "attendance_absences" and f.rows_loaded == 4 and f.rows_quarantined == 0
    days = _school_days(dt.date(2025, 8, 18), cycle.end, [(dt.date(2025, 9, 1), dt.date(2025, 9, 1))])
    absent = {("stu-00000", dt.date(2025, 8, 20)): "absent_excused", ("stu-00000", dt.date(2025, 9, 22)): "tardy",
              ("stu-00001", dt.date(2025, 9, 16)): "absent_unexcused",
              ("stu-00002", dt.date(2025, 8, 18)): "absent_unexcused"}

    def school(sid, d):
        return "org-2" if sid == "stu-00001" and d >= dt.date(2025, 9, 15) else "org-1"
    expected = sorted((sid, school(sid, d), d, absent.get((sid, d), "present"))
                      for sid in ("stu-00000", "stu-00001", "stu-00002") for d in days)
    got = parquet(res, "attendance", "select student_id, school_id, attendance_date, status from t order by all")
    assert got == expected
    assert res.derived == {"attendance_present_filled": len(expected) - 4}


def test_absences_only_feed_equals_the_daily_feed_it_came_from(tmp_path):
    from orchestration.generator import generate
    from orchestration.config import load_config
    from sources.landing import land_cycle
    gen = tmp_path / "gen"
    generate(300, 2, 11, gen, school_year="2025-26", only_cycle="2025-26-C2")
    daily = load_config(gen / "config.yml")
    cycle = daily.cycle("2025-26-C2")
    want = parquet(land_cycle(daily, cycle.id), "attendance", "select * from t order by all")
    assert len(want) > 10000
    # the same district, delivering only the absences (without school_id: filled from enrollment)
    other = tmp_path / "absences"
    shutil.copytree(gen, other)
    cfg = (other / "config.yml").read_text().replace("attendance: {feed: daily}", "attendance: {feed: absences_only}")
    assert "absences_only" in cfg
    (other / "config.yml").write_text(cfg)
    att = other / "data/inbox/2025-26-C2/sis/attendance.csv"
    rows = list(csv.DictReader(io.StringIO(att.read_text())))
    att.unlink()
    (att.parent / "absences.csv").write_text("student_id,date,status\n" + "".join(
        f"{r['student_id']},{r['date']},{r['status']}\n" for r in rows if r["status"] != "present"))
    res = land_cycle(load_config(other / "config.yml"), cycle.id)
    assert parquet(res, "attendance", "select * from t order by all") == want


# ------------------------------------------------------------------------------ messy CSV property
MARKERS = ("", "NULL", "N/A", "#N/A", "-", "null", "NA")
SUBJECTS = {"ELA": "reading", "Reading": "reading", "math": "math", "Mathematics": "math", "science": "other"}
STATUSES = {"attended": "attended", "P": "attended", "no show": "student_absent", "Canceled": "cancelled",
            "tutor_absent": "tutor_absent"}
FLAGS = {"Y": True, "no": False, "TRUE": True, "0": False, "": None, "N/A": None}
FAULTS = ("none", "none", "none", "bad_date", "bad_number", "implausible_minutes", "unknown_code",
          "unmatched_student", "missing_required", "wrong_school_year")
COLUMNS = ["session_id", "student_id", "session_topic", "session_date", "session_duration", "tutor_id",
           "attendance_status", "during_school_day", "session_notes"]
TEXT = st.text(alphabet="abcXYZ019 ,;|\t\"'\n-éñü’", max_size=12)
NEW_YORK = "America/New_York"


def _expected_text(v: str):
    t = v.strip(" ")
    return None if t.lower() in {m.lower() for m in MARKERS} else t


@st.composite
def messy_sessions(draw):
    """(file bytes, expected loaded rows by session_id, expected quarantine [(line, reason)], rows)."""
    from zoneinfo import ZoneInfo
    n = draw(st.integers(0, 14))
    rows, loaded, faults = [], {}, []
    for i in range(n):
        fault = draw(st.sampled_from(FAULTS))
        lid = draw(st.sampled_from(LOCAL_IDS))
        day = dt.datetime(2025, 8, 18, 7, 0) + dt.timedelta(days=draw(st.integers(0, 280)),
                                                           minutes=draw(st.integers(0, 600)))
        fmt = draw(st.sampled_from(["iso", "isoT", "us", "us12", "zulu"]))
        when = {"iso": day.strftime("%Y-%m-%d %H:%M:%S"), "isoT": day.strftime("%Y-%m-%dT%H:%M"),
                "us": day.strftime("%m/%d/%Y %H:%M"), "us12": day.strftime("%m/%d/%Y %I:%M %p"),
                "zulu": day.strftime("%Y-%m-%dT%H:%M:%SZ")}[fmt]
        local = day if fmt != "zulu" else day.replace(tzinfo=dt.timezone.utc).astimezone(
            ZoneInfo(NEW_YORK)).replace(tzinfo=None)
        if fmt == "isoT":
            local = local.replace(second=0)
        minutes = draw(st.integers(0, 240))
        mins_text = draw(st.sampled_from([str(minutes), f" {minutes} ", f"{minutes}.0"]))
        subject = draw(st.sampled_from(sorted(SUBJECTS)))
        status = draw(st.sampled_from(sorted(STATUSES)))
        flag = draw(st.sampled_from(sorted(FLAGS)))
        tutor = draw(st.one_of(TEXT, st.sampled_from(MARKERS)))
        notes = draw(st.one_of(TEXT, st.sampled_from(MARKERS)))
        sid_text = lid
        if fault == "bad_date":
            when = draw(st.sampled_from(["2025-13-45 09:00", "soon", "31/31/2025"]))
        elif fault == "bad_number":
            mins_text = draw(st.sampled_from(["abc", "30,5", "1e", "--3"]))
        elif fault == "implausible_minutes":
            mins_text = str(draw(st.one_of(st.integers(241, 999), st.integers(-99, -1))))
        elif fault == "unknown_code":
            status = "zzz"
        elif fault == "unmatched_student":
            sid_text = "999999"
        elif fault == "missing_required":
            sid_text = draw(st.sampled_from(MARKERS))
        elif fault == "wrong_school_year":
            when, local = "2024-09-10 10:00", None
        row = [f"S{i:03d}", sid_text, subject, when, mins_text, tutor, status, flag, notes]
        rows.append(row)
        if fault == "none":
            loaded[row[0]] = (SID[lid], SUBJECTS[subject], local, minutes, _expected_text(tutor), STATUSES[status],
                              FLAGS[flag], _expected_text(notes))
        else:
            faults.append((i, fault))
    # duplicates: an exact copy of a good row (the copy is quarantined), or a clash (all are)
    dups = []
    if loaded and draw(st.booleans()):
        k = draw(st.sampled_from(sorted(loaded)))
        src = next(r for r in rows if r[0] == k)
        if draw(st.booleans()):
            rows.append(list(src))
            dups.append((len(rows) - 1, "duplicate_key"))
        else:
            clash = list(src)
            clash[4] = str((int(float(src[4])) + 1) % 240)
            rows.append(clash)
            first = rows.index(src)
            dups += [(first, "duplicate_key"), (len(rows) - 1, "duplicate_key")]
            del loaded[k]
    return rows, loaded, faults + dups


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(case=messy_sessions(), delim=st.sampled_from([",", "\t", "|", ";"]), quote_all=st.booleans(),
       bom=st.booleans(), crlf=st.booleans(), cp1252=st.booleans(), blank_every=st.integers(0, 4),
       trailing_blank=st.integers(0, 2))
def test_messy_csv_round_trips(case, delim, quote_all, bom, crlf, cp1252, blank_every, trailing_blank):
    import tempfile
    from orchestration.config import load_config
    from sources.landing import land_cycle
    rows, loaded, bad = case
    eol = "\r\n" if crlf else "\n"
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator=eol)
    w.writerow(COLUMNS)
    lines, line = [], 2
    text = buf.getvalue()
    for k, r in enumerate(rows):
        if blank_every and k and k % blank_every == 0:
            text += eol
            line += 1
        one = io.StringIO()
        csv.writer(one, delimiter=delim, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator=eol).writerow(r)
        lines.append(line)
        line += one.getvalue().count("\n")
        text += one.getvalue()
    text += eol * trailing_blank
    try:
        data = text.encode("cp1252") if cp1252 else (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        c = load_config(write_config(Path(tmp), YEAR))
        inbox = c.inbox / c.cycles[0].id
        write_roster(inbox / "sis", LOCAL_IDS, school="org-1")
        (inbox / "tutoring").mkdir()
        (inbox / "tutoring" / "sessions.csv").write_bytes(data)
        (inbox / "_READY").write_text("2026-06-30")
        res = land_cycle(c, c.cycles[0].id)
        f = next(x for x in res.files if x.source_file == "tutoring/sessions.csv")
        assert f.error is None, f.error
        assert f.rows_read == len(rows) == f.rows_loaded + f.rows_quarantined, f
        got = {r[0]: tuple(r[1:]) for r in parquet(res, "sessions", (
            "select session_id, student_id, subject, session_start, session_duration, tutor_id, attendance_status, "
            "during_school_day, session_notes from t"))}
        assert got == loaded
        q = duckdb.sql(f"select line, reason from read_parquet('{res.landing_dir / 'quarantine.parquet'}') "
                       f"where table_name = 'sessions' order by 1, 2").fetchall()
        assert q == sorted((lines[i], reason) for i, reason in bad)


def test_an_unchanged_delivery_is_not_landed_again_and_a_changed_one_is(tmp_path):
    import os
    import time
    from sources.landing import land_cycle
    c = config_for(tmp_path)
    cid = c.cycles[0].id
    first = deliver(c, cid, {"tutoring/sessions_acme.csv": session_rows(C1_ROWS)}, "2025-10-01")
    assert not first.skipped
    again = land_cycle(c, cid)
    assert again.skipped and again.inputs_hash == first.inputs_hash
    # the same bytes delivered again (a new modification time) still skip: the hash decides
    p = c.inbox / cid / "tutoring" / "sessions_acme.csv"
    p.write_text(p.read_text())
    assert land_cycle(c, cid).skipped
    # same size, same modification time, different bytes: re-hashed because it changed after the
    # last landing looked at it
    old = p.stat()
    p.write_text(p.read_text().replace(",30,", ",31,", 1))
    os.utime(p, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert p.stat().st_size == old.st_size
    changed = land_cycle(c, cid)
    assert not changed.skipped and changed.inputs_hash != first.inputs_hash
    # a file untouched for a while is trusted by size and time: it is not read again
    past = time.time_ns() - 10_000_000_000
    os.utime(p, ns=(past, past))
    land_cycle(c, cid, force=True)
    import sources.landing as landing
    calls = []
    real = landing.sha256
    landing.sha256 = lambda path: calls.append(path) or real(path)
    try:
        assert land_cycle(c, cid).skipped
    finally:
        landing.sha256 = real
    assert p not in calls


def test_a_delta_absences_feed_keeps_earlier_absences_before_filling(tmp_path):
    c = config_for(tmp_path, attendance={"feed": "absences_only"},
                   sources=[{"name": "absences", "folder": "sis", "pattern": "absences*.csv", "mode": "delta"}])
    c1, c2 = c.cycles[0].id, c.cycles[1].id
    r1 = deliver(c, c1, {"sis/absences.csv": "student_id,date,status\n000101,2025-08-20,absent_excused\n"},
                 "2025-10-01")
    r2 = deliver(c, c2, {"sis/absences.csv": "student_id,date,status\n000102,2025-10-01,tardy\n"}, "2025-11-12")
    assert r1.rows_loaded["attendance"] == 20 * len(_school_days(dt.date(2025, 8, 18), c.cycles[0].end,
                                                                [(dt.date(2025, 9, 1), dt.date(2025, 9, 1))]))
    got = parquet(r2, "attendance", "select student_id, attendance_date, status from t where status <> 'present' "
                                    "order by all")
    assert got == [(SID["000101"], dt.date(2025, 8, 20), "absent_excused"), (SID["000102"], dt.date(2025, 10, 1), "tardy")]
    assert parquet(r2, "attendance", "select count(*) - count(distinct (student_id, attendance_date)) from t") == [(0,)]
    assert r2.carried_forward == {"attendance": 1}
