"""YAML mappings: a vendor layout in a short file, no code (DESIGN §4.3; config/mappings/).

The two shipped examples land real-looking exports: Acme Tutors (day-first dates, Central time,
P/A/TA/C codes) detected by header or named from a sources entry, and a district absences export
with the absences-only attendance feed. A district's own mapping beside its config is found too,
and a broken mapping is an error that names the file, the key and what is allowed.
"""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from conftest import ROOT, write_config, write_roster

YEAR = {"id": "2025-26", "first_day": "2025-08-18", "last_day": "2026-06-05", "breaks": []}
LOCAL_IDS = [f"{100 + i:06d}" for i in range(1, 21)]
SID = {lid: f"stu-{i:05d}" for i, lid in enumerate(LOCAL_IDS)}
ACME = ("Learner ID,Tutor Code,Course,Session Date (DD/MM/YYYY),Start Time,Minutes,Status,Group,Comments,Session Ref\n"
        "000101,AT-7,Literacy Boost,03/09/2025,15:30,30,P,G1,\"Good focus, finished book\",R1\n"
        "000102,AT-7,Literacy Boost,03/09/2025,15:30,30,A,G1,,R2\n"
        "000103,AT-9,Numeracy Boost,13/10/2025,16:00,45,TA,G2,,R3\n"
        "000104,AT-9,Numeracy Boost,13/10/2025,,0,C,G2,Snow day,R4\n"
        "000105,AT-9,Numeracy Boost,31/10/2025,16:00,45,X,G2,,R5\n")


def land(tmp_path, files: dict[str, str], **config):
    from orchestration.config import load_config
    from sources.landing import land_cycle
    c = load_config(write_config(tmp_path, YEAR, **config))
    inbox = c.inbox / c.cycles[1].id
    write_roster(inbox / "sis", LOCAL_IDS, school="org-1")
    for rel, text in files.items():
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        (inbox / rel).write_text(text)
    (inbox / "_READY").write_text("2025-11-12")
    return c, land_cycle(c, c.cycles[1].id)


def rows(res, table, sql="select * from t order by all"):
    return duckdb.sql(sql.replace("from t", f"from read_parquet('{res.landing_dir / (table + '.parquet')}')")).fetchall()


def file_of(res, name):
    return next(f for f in res.files if f.source_file.endswith(name))


def test_acme_export_is_detected_by_header_and_mapped(tmp_path):
    c, res = land(tmp_path, {"tutoring/acme_sessions_oct.csv": ACME})
    f = file_of(res, "acme_sessions_oct.csv")
    assert f.layout == "mapping:acme_tutors" and f.mapping.endswith("config/mappings/acme_tutors.yml")
    assert f.rows_read == 5 and f.rows_loaded == 4 and f.quarantined_by_reason == {"unknown_code": 1}
    got = rows(res, "sessions", "select session_id, student_id, subject, cast(session_start as varchar), "
                                "session_duration, attendance_status, partner_org, modality, session_notes from t order by 1")
    assert got == [
        # 15:30 Central is 16:30 in the district (New York); 03/09 is 3 September
        ("R1", SID["000101"], "reading", "2025-09-03 16:30:00", 30, "attended", "Acme Tutors", "virtual",
         "Good focus, finished book"),
        ("R2", SID["000102"], "reading", "2025-09-03 16:30:00", 30, "student_absent", "Acme Tutors", "virtual", None),
        ("R3", SID["000103"], "math", "2025-10-13 17:00:00", 45, "tutor_absent", "Acme Tutors", "virtual", None),
        # no start time: a calendar day, not shifted between time zones
        ("R4", SID["000104"], "math", "2025-10-13 00:00:00", 0, "cancelled", "Acme Tutors", "virtual", "Snow day")]
    q = duckdb.sql(f"select line, column_name, reason, detail from read_parquet('{res.landing_dir / 'quarantine.parquet'}')"
                   ).fetchall()
    assert q == [(6, "attendance_status", "unknown_code", "not a known code: X")]
    assert f.unknown_columns == []


def test_a_sources_entry_names_the_mapping_and_its_header_variant(tmp_path):
    text = ACME.replace("Status,", "Status: P/A/TA/C,")
    c, res = land(tmp_path, {"tutoring/export_2025.csv": text},
                  sources=[{"name": "acme", "folder": "tutoring", "pattern": "export_*.csv", "mapping": "acme_tutors"}])
    f = file_of(res, "export_2025.csv")
    assert f.layout == "mapping:acme_tutors" and f.feed == "acme" and f.rows_loaded == 4
    assert rows(res, "sessions", "select attendance_status from t order by 1") == [
        ("attended",), ("cancelled",), ("student_absent",), ("tutor_absent",)]


def test_feed_settings_override_the_mapping(tmp_path):
    """A feed's date_format wins over the mapping's (a vendor that switched to US dates)."""
    text = ACME.replace("03/09/2025", "09/03/2025").replace("13/10/2025", "10/13/2025").replace("31/10/2025", "10/31/2025")
    c, res = land(tmp_path, {"tutoring/acme.csv": text},
                  sources=[{"name": "acme", "folder": "tutoring", "pattern": "acme.csv", "date_format": "%m/%d/%Y"}])
    assert rows(res, "sessions", "select cast(min(session_start) as date)::varchar from t") == [("2025-09-03",)]


def test_a_district_mapping_beside_the_config_is_found(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "bright_minds.yml").write_text(
        "name: bright_minds\ntable: tutors\ncolumns:\n  tutor_id: Coach Number\n  tutor_name: Coach\n"
        "  tutor_type: Role\nvalues:\n  tutor_type: {Para: paraprofessional, Teacher: teacher, AmeriCorps: volunteer}\n"
        "constants:\n  partner_org: Bright Minds\n")
    c, res = land(tmp_path, {"tutoring/coaches.csv": "Coach Number,Coach,Role,Shirt Size\n0042,Ana,Para,M\n"
                                                     "0043,Bo,AmeriCorps,L\n0044,Cy,Janitor,S\n"})
    f = file_of(res, "coaches.csv")
    assert f.layout == "mapping:bright_minds" and f.unknown_columns == ["Shirt Size"]
    assert rows(res, "tutors", "select tutor_id, tutor_type, partner_org from t order by 1") == [
        ("0042", "paraprofessional", "Bright Minds"), ("0043", "volunteer", "Bright Minds")]
    assert f.quarantined_by_reason == {"unknown_code": 1}


def test_district_absences_mapping_with_the_absences_only_feed(tmp_path):
    text = ("Student Number,Absence Date,Attendance Code,School Number\n000101,09/02/2025,UNX,org-1\n"
            "000101,09/03/2025,TDY,org-1\n000102,09/02/2025,MED,\n000103,09/04/2025,ZZZ,org-1\n")
    c, res = land(tmp_path, {"sis/daily_absences.csv": text}, attendance={"feed": "absences_only"})
    f = file_of(res, "daily_absences.csv")
    assert f.layout == "mapping:district_absences" and f.rows_loaded == 3
    assert f.quarantined_by_reason == {"unknown_code": 1}
    got = dict(((s, d.isoformat()), st) for s, d, st in rows(
        res, "attendance", "select student_id, attendance_date, status from t"))
    assert got[(SID["000101"], "2025-09-02")] == "absent_unexcused" and got[(SID["000101"], "2025-09-03")] == "tardy"
    assert got[(SID["000102"], "2025-09-02")] == "absent_excused"
    assert got[(SID["000103"], "2025-09-04")] == "present"           # the unknown code is quarantined, the day filled
    assert res.derived["attendance_present_filled"] == len(got) - 3


def test_an_absences_file_on_a_daily_feed_warns(tmp_path):
    text = "Student Number,Absence Date,Attendance Code\n000101,09/02/2025,UNX\n"
    c, res = land(tmp_path, {"sis/daily_absences.csv": text})
    assert any("attendance: {feed: absences_only}" in w for w in file_of(res, "daily_absences.csv").warnings)


@pytest.mark.parametrize("body,message", [
    ("table: lessons\ncolumns: {student_id: X}\n", "key 'table': 'lessons' is not allowed; expected a canonical table"),
    ("table: tutors\ncolumns: {tutor_id: A, shoe: B}\n", "key 'columns.shoe'"),
    ("table: tutors\ncolumns: {tutor_name: A}\n", "missing: tutor_id"),
    ("table: tutors\ncolumns: {tutor_id: A}\nvalues: {tutor_type: {Yes: teacher}}\n", "quoted text"),
    ("table: tutors\ncolumns: {tutor_id: A}\ntimezone: Mars/Olympus\n", "key 'timezone'"),
    ("table: tutors\ncolumns: {tutor_id: A}\ndate_format: DD/MM\n", "key 'date_format'"),
    ("table: tutors\ncolumns: {tutor_id: A}\ncolour: red\n", "key 'colour'"),
    ("table: tutors\ncolumns: {tutor_id: {join: A}}\n", "key 'columns.tutor_id'"),
])
def test_a_broken_mapping_names_the_file_key_and_what_is_allowed(tmp_path, body, message):
    from sources.mappings import MappingError, load_mapping
    p = tmp_path / "bad.yml"
    p.write_text(body)
    with pytest.raises(MappingError) as e:
        load_mapping(p)
    assert str(p) in str(e.value) and message in str(e.value)


def test_a_broken_mapping_named_by_a_feed_fails_its_files_not_the_run(tmp_path):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "oops.yml").write_text("table: tutors\ncolumns: {tutor_id: A}\ntimezone: Nowhere\n")
    c, res = land(tmp_path, {"tutoring/oops.csv": "A\n1\n"},
                  sources=[{"name": "oops", "folder": "tutoring", "pattern": "oops.csv", "mapping": "oops"}])
    err = file_of(res, "oops.csv").error
    assert "mapping 'oops'" in err and "key 'timezone'" in err
    from expectations.gate1 import run_gate1
    assert not run_gate1(c, res).passed


def test_a_file_missing_a_mapped_column_is_explained(tmp_path):
    c, res = land(tmp_path, {"tutoring/acme.csv": "Learner ID,Minutes\n000101,30\n"},
                  sources=[{"name": "acme", "folder": "tutoring", "pattern": "acme.csv", "mapping": "acme_tutors"}])
    err = file_of(res, "acme.csv").error
    assert "session date (dd/mm/yyyy)" in err and "mapping 'acme_tutors'" in err


def test_the_try_command_shows_the_layout_and_first_rows(tmp_path):
    p = tmp_path / "acme.csv"
    p.write_text(ACME)
    r = subprocess.run([sys.executable, "-m", "sources.mappings", str(p)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "layout:    mapping:acme_tutors" in r.stdout and "tables:    sessions" in r.stdout
    assert "'attendance_status': 'tutor_absent'" in r.stdout and "✗ unknown_code in attendance_status" in r.stdout


def test_the_shipped_mappings_load():
    from sources.mappings import REPO_MAPPINGS, discover
    maps, errors = discover(None)
    assert not errors and {m.name for m in maps} >= {"acme_tutors", "district_absences"}
    assert all(m.path.parent == REPO_MAPPINGS for m in maps)


def test_the_docs_list_every_layout_as_the_code_defines_it():
    from sources.layouts import docs_tables
    doc = (ROOT / "docs" / "bring-your-own-extracts.md").read_text()
    assert docs_tables() in doc, "run `python -m sources.layouts` and paste it into docs/bring-your-own-extracts.md §2"
