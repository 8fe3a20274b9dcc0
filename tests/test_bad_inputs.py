"""Every malformed input in tests/fixtures/bad_inputs/ has one decided outcome (DESIGN §4.4–4.5).

Each test delivers one fixture (beside a small OneRoster roster whose students carry the local IDs
000101…000120) and asserts exactly what happens: which rows are quarantined with which reason,
column and line, or which file-level error (naming the file, the column and the fix). Every test
also checks, through ``land``, that nothing raised and that no row was lost: for every file rows
read = loaded + quarantined, the loaded rows are really in the landed table, and rows read is the
number of records the fixture holds.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import ONEROSTER_USERS, cli, write_config, write_roster

FIXTURES = Path(__file__).parent / "fixtures" / "bad_inputs"
YEAR = {"id": "2025-26", "first_day": "2025-08-18", "last_day": "2026-06-05",
        "breaks": [["2025-11-24", "2025-11-28"]]}
CYCLE = "2025-26-C1"
LOCAL_IDS = [f"{100 + i:06d}" for i in range(1, 21)]          # 000101 … 000120
SID = {lid: f"stu-{i:05d}" for i, lid in enumerate(LOCAL_IDS)}  # what write_roster assigns


class Landed:
    def __init__(self, config, result):
        self.config, self.result = config, result

    def file(self, name: str):
        got = [f for f in self.result.files if f.source_file.endswith("/" + name) or f.source_file == name]
        assert len(got) == 1, [f.source_file for f in self.result.files]
        return got[0]

    def rows(self, table: str, sql: str = "select * from t order by all"):
        p = self.result.landing_dir / f"{table}.parquet"
        return duckdb.sql(sql.replace("from t", f"from read_parquet('{p}')")).fetchall()

    def quarantine(self, name: str | None = None):
        """(line, table, column, reason) of the rejected rows of one file."""
        p = self.result.landing_dir / "quarantine.parquet"
        rows = duckdb.sql(f"select source_file, line, table_name, column_name, reason from read_parquet('{p}') "
                          f"order by source_file, line, reason").fetchall()
        return [r[1:] for r in rows if name is None or r[0].endswith(name)]

    def quarantine_rows(self, name: str):
        p = self.result.landing_dir / "quarantine.parquet"
        return duckdb.sql(f"select line, reason, detail, raw_row from read_parquet('{p}') where "
                          f"source_file like '%{name}' order by line").fetchall()

    def gate1(self):
        from expectations.gate1 import run_gate1
        return run_gate1(self.config, self.result)


def land(tmp_path, files: dict[str, str], ready: str = "2025-10-01", roster: bool = True, expect: dict | None = None,
         **config) -> Landed:
    """Deliver ``files`` (fixture name → inbox folder, or (folder, name)) and land the cycle.

    ``expect``: fixture name → the number of records it holds (rows read must equal it)."""
    from orchestration.config import load_config
    from sources.landing import land_cycle
    c = load_config(write_config(tmp_path, YEAR, **config))
    inbox = c.inbox / CYCLE
    if roster:
        write_roster(inbox / "sis", LOCAL_IDS, school="org-1")
    for name, folder in files.items():
        dest = inbox / folder if isinstance(folder, str) else inbox / folder[0] / folder[1]
        if isinstance(folder, str):
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES / name, dest / name)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES / name, dest)
    if ready is not None:
        (inbox / "_READY").write_text(ready + "\n")
    res = land_cycle(c, CYCLE)
    out = Landed(c, res)
    _assert_nothing_lost(out, expect or {})
    return out


def _assert_nothing_lost(landed: Landed, expect: dict):
    res = landed.result
    q = landed.quarantine()
    assert res.manifest_path.is_file()
    by_table: dict[str, int] = {}
    for f in res.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined, f
        assert f.rows_quarantined == sum(f.quarantined_by_reason.values())
        if f.error:
            assert f.rows_read == 0 and f.rows_loaded == 0
        primary = [t for t in f.tables if t not in ("student_identifiers", "screener_domains")
                   or f.tables == [t]]
        for t in primary[:1] if len(primary) == 1 else []:
            by_table[t] = by_table.get(t, 0) + f.rows_loaded
    for t, n in by_table.items():
        assert res.rows_loaded[t] >= n, (t, res.rows_loaded[t], n)
    for name, n in expect.items():
        assert landed.file(name).rows_read == n, (name, landed.file(name))
    # every quarantined primary row has its line
    assert all(line is not None and line >= 2 for line, *_ in q), q


# ------------------------------------------------------------------------------------- encodings
def test_utf8_attendance_loads_every_row(tmp_path):
    d = land(tmp_path, {"utf8_attendance.csv": "sis"}, expect={"utf8_attendance.csv": 3})
    f = d.file("utf8_attendance.csv")
    assert f.layout == "attendance_daily" and f.rows_loaded == 3 and not f.warnings
    assert d.rows("attendance", "select student_id, status from t order by 1") == [
        (SID["000101"], "present"), (SID["000102"], "absent_unexcused"), (SID["000103"], "tardy")]


def test_utf8_bom_header_is_recognised(tmp_path):
    d = land(tmp_path, {"utf8_bom_sessions.csv": "tutoring"}, expect={"utf8_bom_sessions.csv": 2})
    f = d.file("utf8_bom_sessions.csv")
    assert f.layout == "datas_sessions" and f.rows_quarantined == 0
    assert d.rows("sessions", "select subject from t order by 1") == [("math",), ("reading",)]


def test_cp1252_names_survive_intact(tmp_path):
    d = land(tmp_path, {"cp1252_users.csv": ("sis", "users_extra.csv")})
    f = d.file("users_extra.csv")
    assert f.layout == "oneroster_users" and f.rows_loaded == 2
    assert any("cp1252" in w for w in f.warnings)
    assert d.rows("students", "select first_name, last_name, grade from t where student_id like 'stu-x%' order by 1") == [
        ("Seán", "O’Brien", "K"), ("Zoë", "Muñoz", "4")]


def test_cp1252_bytes_after_the_first_megabyte_are_still_decoded(tmp_path):
    """The sniffer reads 1 MiB; a cp1252 name further down must not become malformed rows."""
    from orchestration.config import load_config
    from sources.landing import land_cycle
    c = load_config(write_config(tmp_path, YEAR))
    sis = c.inbox / CYCLE / "sis"
    write_roster(sis, LOCAL_IDS)
    rows = [f"T{i:06d},Tutor Number {i:06d} with a long padded name,vendor" for i in range(40000)]
    body = ("tutor_id,tutor_name,tutor_type\n" + "\n".join(rows) + "\nT999999,Zoë Muñoz,vendor\n").encode("cp1252")
    assert len(body) > (1 << 20) and body.find(b"\xeb") > (1 << 20)
    (c.inbox / CYCLE / "tutoring").mkdir()
    (c.inbox / CYCLE / "tutoring" / "tutors.csv").write_bytes(body)
    res = land_cycle(c, CYCLE)
    f = next(x for x in res.files if x.source_file.endswith("tutors.csv"))
    assert f.rows_read == 40001 and f.rows_loaded == 40001, f
    got = duckdb.sql(f"select tutor_name from read_parquet('{res.landing_dir / 'tutors.parquet'}') "
                     f"where tutor_id = 'T999999'").fetchall()
    assert got == [("Zoë Muñoz",)]


@pytest.mark.parametrize("name,error", [
    ("xlsx_content_sessions.csv", "an Excel workbook (XLSX)"),
    ("utf16_content_sessions.csv", "UTF-16 text"),
    ("empty_file_sessions.csv", "the file is empty (0 bytes)"),
    ("blank_lines_only.csv", "no header row (only blank lines)"),
    ("html_export_sessions.csv", "an HTML page"),
])
def test_non_csv_content_is_named_in_a_file_error_and_fails_gate1(tmp_path, name, error):
    d = land(tmp_path, {name: "tutoring"})
    f = d.file(name)
    assert f.error and f"tutoring/{name}" in f.error and error in f.error, f.error
    assert "deliver" in f.error            # the fix
    g = d.gate1()
    assert not g.passed and any(r.check == "file.readable" and not r.success and name in r.message for r in g.results)


# ------------------------------------------------------------------------------------- delimiters
@pytest.mark.parametrize("name,folder,table,n", [
    ("tab_delimited_tutors.tsv", "tutoring", "tutors", 2),
    ("pipe_delimited_contacts.txt", "tutoring", "family_contacts", 2),
    ("semicolon_delimited_referrals.csv", "sis", "referrals", 2),
])
def test_other_delimiters(tmp_path, name, folder, table, n):
    d = land(tmp_path, {name: folder}, expect={name: n})
    f = d.file(name)
    assert f.rows_loaded == n and f.rows_quarantined == 0 and table in f.tables
    assert d.result.rows_loaded[table] == n
    if table == "tutors":
        assert d.rows("tutors", "select tutor_name, partner_org from t order by 1") == [("Ana Díaz", "Acme"), ("Bo Li", None)]
    if table == "referrals":      # the comma inside a semicolon-delimited field is text
        assert ("Below benchmark, fall",) in d.rows("referrals", "select reason from t")


def test_quoted_commas_and_newlines_keep_physical_line_numbers(tmp_path):
    d = land(tmp_path, {"quoted_commas_newlines_sessions.csv": "tutoring"},
             expect={"quoted_commas_newlines_sessions.csv": 5})
    notes = dict(d.rows("sessions", "select session_id, session_notes from t"))
    assert notes["S1"] == 'Read "Frog and Toad", then retold it'
    assert notes["S2"] == "Line one\nline two, with a comma\nline three"
    assert notes["S4"] == "two\r\nlines"
    # S3 starts on physical line 6 (S2 spans lines 3–5)
    assert d.quarantine("quoted_commas_newlines_sessions.csv") == [(6, "sessions", "session_duration", "bad_number")]


def test_crlf_and_cr_only_line_endings(tmp_path):
    """The CR-only file repeats two CRLF rows: parsed alike (no stray CR), they are exact duplicates
    across files — one copy loads, the later copies are quarantined."""
    d = land(tmp_path, {"crlf_referrals.csv": "sis", "cr_only_referrals.csv": "sis"},
             expect={"crlf_referrals.csv": 3, "cr_only_referrals.csv": 2})
    # files are taken in path order: cr_only_… comes before crlf_…, so its copies are the first
    assert d.file("cr_only_referrals.csv").rows_quarantined == 0
    assert d.quarantine("/crlf_referrals.csv") == [(2, "referrals", "student_id", "duplicate_key"),
                                                   (3, "referrals", "student_id", "duplicate_key")]
    assert d.rows("referrals", "select count(*) from t") == [(3,)]
    assert d.rows("referrals", "select count(*) from t where subject like '%\r%' or reason like '%\r%'") == [(0,)]


def test_leading_zeros_in_ids_are_preserved(tmp_path):
    d = land(tmp_path, {"leading_zero_ids_tutors.csv": "tutoring"}, expect={"leading_zero_ids_tutors.csv": 3})
    assert d.rows("tutors", "select tutor_id from t order by 1") == [("007",), ("0071",), ("00712",)]


def test_whitespace_and_case_in_headers_and_values_are_trimmed(tmp_path):
    d = land(tmp_path, {"whitespace_padded_referrals.csv": "sis"}, expect={"whitespace_padded_referrals.csv": 1})
    assert d.rows("referrals", "select student_id, cast(referral_date as varchar), subject from t") == [
        (SID["000101"], "2025-09-03", "math")]


# ------------------------------------------------------------------------------------- values
def test_null_markers_are_unknown_never_false(tmp_path):
    d = land(tmp_path, {"null_markers_programs.csv": "sis"}, expect={"null_markers_programs.csv": 3})
    got = d.rows("student_programs", "select student_id, ell, iep, section_504, econ_disadv, homeless, foster "
                                     "from t order by 1")
    assert got == [(SID["000101"], None, None, None, None, None, True),
                   (SID["000102"], None, None, None, None, None, False),
                   (SID["000103"], True, False, True, False, True, False)]


def test_tri_state_flags(tmp_path):
    d = land(tmp_path, {"tri_state_flags_programs.csv": "sis"}, expect={"tri_state_flags_programs.csv": 4})
    got = d.rows("student_programs", "select ell, iep, section_504, econ_disadv, homeless, foster from t order by student_id")
    assert got == [(True, False, True, False, True, False), (True, False, True, False, True, False),
                   (None, None, None, None, None, None)]
    assert d.quarantine("tri_state_flags_programs.csv") == [(5, "student_programs", "ell", "unknown_code")]


def test_excel_serial_dates(tmp_path):
    d = land(tmp_path, {"excel_serial_dates_contacts.csv": "tutoring"}, expect={"excel_serial_dates_contacts.csv": 3})
    got = d.rows("family_contacts", "select cast(contact_date as varchar) from t order by 1")
    base = dt.date(1899, 12, 30)
    assert got == [(str(base + dt.timedelta(45915)),), (str(base + dt.timedelta(45916)),), ("2025-09-17",)]
    assert got[0] == ("2025-09-15",)


def test_us_and_iso_dates(tmp_path):
    d = land(tmp_path, {"us_and_iso_dates_referrals.csv": "sis"}, expect={"us_and_iso_dates_referrals.csv": 5})
    assert d.rows("referrals", "select cast(referral_date as varchar) from t order by 1") == [
        ("2025-09-03",), ("2025-09-04",), ("2025-09-05",), ("2025-09-08",), ("2025-09-09",)]


def test_day_first_dates_need_a_configured_date_format(tmp_path):
    d = land(tmp_path, {"day_first_dates_sessions.csv": "tutoring"}, expect={"day_first_dates_sessions.csv": 3})
    # month-first by default: 13/09 is no date, 03/09 is March 9 — before the school year
    assert d.quarantine("day_first_dates_sessions.csv") == [
        (2, "sessions", "session_start", "bad_date"), (3, "sessions", "session_start", "wrong_school_year")]


def test_day_first_dates_with_date_format(tmp_path):
    d = land(tmp_path, {"day_first_dates_sessions.csv": "tutoring"},
             sources=[{"name": "dayfirst", "folder": "tutoring", "pattern": "day_first*", "date_format": "%d/%m/%Y"}])
    assert d.file("day_first_dates_sessions.csv").rows_quarantined == 0
    assert d.rows("sessions", "select cast(session_start as varchar) from t order by 1") == [
        ("2025-09-03 15:30:00",), ("2025-09-04 15:30:00",), ("2025-09-13 15:30:00",)]


def test_zoned_timestamps_become_district_local_time(tmp_path):
    d = land(tmp_path, {"zoned_timestamps_sessions.csv": "tutoring"}, ready="2025-11-10",
             expect={"zoned_timestamps_sessions.csv": 4})
    got = dict(d.rows("sessions", "select student_id, cast(session_start as varchar) from t"))
    assert got[SID["000101"]] == "2025-11-02 20:30:00"       # 01:30Z after the DST change = 20:30 EST
    assert got[SID["000102"]] == "2025-09-15 17:00:00"       # 14:00 PDT = 17:00 EDT
    assert got[SID["000103"]] == "2025-09-16 05:00:00"       # +0000
    assert got[SID["000104"]] == "2025-09-16 09:00:00"       # naive: already local


@pytest.mark.parametrize("name,expected", [
    ("bad_dates_referrals.csv", [(2, "referrals", "referral_date", "bad_date"),
                                 (3, "referrals", "referral_date", "bad_date"),
                                 (5, "referrals", "referral_date", "bad_date")]),
    ("bad_minutes_sessions.csv", [(2, "sessions", "session_duration", "bad_number"),
                                  (3, "sessions", "session_duration", "implausible_minutes"),
                                  (4, "sessions", "session_duration", "implausible_minutes"),
                                  (5, "sessions", "session_duration", "bad_number"),
                                  (7, "sessions", "session_duration", "implausible_minutes")]),
    ("percentile_out_of_range_screener.csv", [(2, "screener_results", "percentile", "out_of_range"),
                                              (4, "screener_results", "scale_score", "out_of_range")]),
    ("unknown_status_attendance.csv", [(3, "attendance", "status", "unknown_code")]),
    ("future_dated_observations.csv", [(3, "observations", "observed_date", "future_date"),
                                       (4, "observations", "score", "out_of_range")]),
    ("other_school_year_attendance.csv", [(2, "attendance", "attendance_date", "wrong_school_year"),
                                          (4, "attendance", "attendance_date", "future_date")]),
    ("grade_codes_scope.csv", [(5, "scope_and_sequence", "grade", "unknown_code")]),
])
def test_row_rules_quarantine_with_reason_column_and_line(tmp_path, name, expected):
    folder = {"sessions": "tutoring", "observations": "tutoring", "scope": "tutoring", "screener": "screener"}.get(
        name.rsplit("_", 1)[1].removesuffix(".csv"), "sis")
    records = sum(1 for line in (FIXTURES / name).read_text().splitlines()[1:] if line.strip())
    d = land(tmp_path, {name: folder}, expect={name: records})
    assert d.quarantine(name) == expected
    f = d.file(name)
    assert f.rows_quarantined == len(expected) and f.rows_loaded == f.rows_read - len(expected)
    for line, reason, detail, raw in d.quarantine_rows(name):
        assert detail and raw.startswith("{")       # what was wrong, and the row as delivered


def test_quarantine_detail_names_the_bad_value(tmp_path):
    d = land(tmp_path, {"bad_minutes_sessions.csv": "tutoring"})
    got = {line: detail for line, _, detail, _ in d.quarantine_rows("bad_minutes_sessions.csv")}
    assert got[2] == "not a number: abc" and got[5] == "not a number: 30,5" and got[3] == "minutes outside 0–240: 300"
    # thousands separators are numbers: 1,000 minutes is implausible, not unreadable
    assert got[7] == "minutes outside 0–240: 1,000"


def test_grade_codes_are_mapped(tmp_path):
    d = land(tmp_path, {"grade_codes_scope.csv": "tutoring"})
    assert d.rows("scope_and_sequence", "select grade from t order by 1") == [("4",), ("K",), ("K",), ("PK",)]


def test_excel_serial_minutes_are_not_dates_and_unknown_status_is_not_guessed(tmp_path):
    d = land(tmp_path, {"unknown_status_attendance.csv": "sis"})
    assert d.rows("attendance", "select status from t order by 1") == [("absent_excused",), ("present",)]


# ------------------------------------------------------------------------------------- structure
def test_repeated_header_rows_are_quarantined_not_loaded(tmp_path):
    d = land(tmp_path, {"repeated_header_attendance.csv": "sis"}, expect={"repeated_header_attendance.csv": 5})
    assert d.quarantine("repeated_header_attendance.csv") == [(4, None, None, "malformed_row")]
    assert d.quarantine_rows("repeated_header_attendance.csv")[0][2] == "repeated header row"
    assert d.result.rows_loaded["attendance"] == 4


def test_trailing_blank_lines_and_excel_empty_rows_are_not_rows(tmp_path):
    d = land(tmp_path, {"trailing_blank_lines_grades.csv": "sis", "excel_empty_rows_grades.csv": ("sis", "more_grades.csv")},
             expect={"trailing_blank_lines_grades.csv": 2})
    assert d.file("trailing_blank_lines_grades.csv").rows_quarantined == 0
    f = d.file("more_grades.csv")
    assert f.rows_read == 2 and any("every field blank" in w for w in f.warnings)


def test_truncated_last_line_is_malformed(tmp_path):
    d = land(tmp_path, {"truncated_last_line_attendance.csv": "sis"},
             expect={"truncated_last_line_attendance.csv": 3})
    assert d.quarantine("truncated_last_line_attendance.csv") == [(4, None, None, "malformed_row")]
    line, reason, detail, raw = d.quarantine_rows("truncated_last_line_attendance.csv")[0]
    assert "fewer fields" in detail and raw == "000103,org-1,2025-09"


def test_unbalanced_quote_is_one_malformed_row_and_the_rest_of_the_file_loads(tmp_path):
    d = land(tmp_path, {"unbalanced_quote_contacts.csv": "tutoring"}, expect={"unbalanced_quote_contacts.csv": 5})
    assert d.quarantine("unbalanced_quote_contacts.csv") == [(3, None, None, "malformed_row")]
    assert d.quarantine_rows("unbalanced_quote_contacts.csv")[0][2] == "unbalanced quote"
    assert d.rows("family_contacts", "select student_id, outcome from t order by 1") == [
        (SID["000101"], "reached"), (SID["000103"], "reached"), (SID["000104"], "left, message"),
        (SID["000105"], "reached")]


def test_report_title_lines_above_the_header_are_skipped(tmp_path):
    d = land(tmp_path, {"report_title_lines_tutors.csv": "tutoring"}, expect={"report_title_lines_tutors.csv": 2})
    f = d.file("report_title_lines_tutors.csv")
    assert f.layout == "tutors" and f.rows_loaded == 2
    assert "2 line(s) above the header were skipped (a report title?)" in f.warnings


def test_too_many_fields_is_malformed(tmp_path):
    d = land(tmp_path, {"too_many_fields_tutors.csv": "tutoring"}, expect={"too_many_fields_tutors.csv": 3})
    assert d.quarantine("too_many_fields_tutors.csv") == [(3, None, None, "malformed_row")]


def test_extra_unknown_columns_are_kept_out_and_reported(tmp_path):
    d = land(tmp_path, {"extra_columns_tutors.csv": "tutoring"})
    f = d.file("extra_columns_tutors.csv")
    assert f.unknown_columns == ["Favorite Color", "internal_code"] and f.rows_loaded == 2
    import json
    doc = json.loads(d.result.manifest_path.read_text())
    assert next(x for x in doc["files"] if x["source_file"].endswith("extra_columns_tutors.csv"))["unknown_columns"] == [
        "Favorite Color", "internal_code"]
    cols = [r[0] for r in duckdb.sql(f"describe select * from read_parquet('{d.result.landing_dir / 'tutors.parquet'}')").fetchall()]
    assert "Favorite Color" not in cols and "internal_code" not in cols


def test_missing_required_column_names_file_column_and_aliases(tmp_path):
    d = land(tmp_path, {"missing_required_column_sessions.csv": "tutoring"})
    f = d.file("missing_required_column_sessions.csv")
    assert f.error.startswith("tutoring/missing_required_column_sessions.csv: required column missing")
    assert "'session_start' (accepted: session_start, session_date, session_datetime" in f.error
    assert "map it" in f.error and f.rows_read == 0
    g = d.gate1()
    assert not g.passed and any(r.check == "file.readable" and "session_start" in r.message for r in g.errors)


def test_missing_status_column_is_explained(tmp_path):
    d = land(tmp_path, {"missing_status_attendance.csv": "sis"})
    err = d.file("missing_status_attendance.csv").error
    assert "looks like daily attendance" in err and "'status' (also accepted: attendance_status" in err
    assert err.endswith("add a mapping (config/mappings/, see docs/bring-your-own-extracts.md) or remove it")


# ------------------------------------------------------------------------------------- duplicates
def test_exact_duplicates_collapse_and_extra_copies_are_quarantined(tmp_path):
    d = land(tmp_path, {"exact_duplicates_tutors.csv": "tutoring"}, expect={"exact_duplicates_tutors.csv": 4})
    assert d.quarantine("exact_duplicates_tutors.csv") == [(4, "tutors", "tutor_id", "duplicate_key"),
                                                           (5, "tutors", "tutor_id", "duplicate_key")]
    assert d.rows("tutors", "select tutor_id, tutor_name from t order by 1") == [("T01", "Ann"), ("T02", "Bob")]


def test_same_key_different_values_are_all_quarantined(tmp_path):
    d = land(tmp_path, {"conflicting_duplicates_tutors.csv": "tutoring"})
    assert d.quarantine("conflicting_duplicates_tutors.csv") == [(2, "tutors", "tutor_id", "duplicate_key"),
                                                                 (4, "tutors", "tutor_id", "duplicate_key")]
    assert d.rows("tutors", "select tutor_id from t") == [("T02",)]
    assert "different values" in d.quarantine_rows("conflicting_duplicates_tutors.csv")[0][2]


def test_duplicate_roster_sourcedid_fails_gate1(tmp_path):
    d = land(tmp_path, {"duplicate_sourcedid_users.csv": ("sis", "users_more.csv")})
    assert [r for r in d.quarantine("users_more.csv") if r[1] == "students"] == [
        (2, "students", "student_id", "duplicate_key"), (3, "students", "student_id", "duplicate_key")]
    assert d.file("users_more.csv").rows_quarantined == 2     # its identifier rows are secondary
    g = d.gate1()
    bad = [r for r in g.errors if r.check == "students.sourcedId_unique"]
    assert bad and bad[0].failed_count == 2 and "users.csv" in bad[0].fix


# ------------------------------------------------------------------------------------- identity
def test_unmatched_students_are_quarantined_and_a_low_match_rate_fails_gate1(tmp_path):
    d = land(tmp_path, {"unmatched_students_enrollment.csv": "tutoring"},
             expect={"unmatched_students_enrollment.csv": 20})
    assert d.quarantine("unmatched_students_enrollment.csv") == [
        (20, "program_enrollment", "student_id", "unmatched_student"),
        (21, "program_enrollment", "student_id", "unmatched_student")]
    f = d.file("unmatched_students_enrollment.csv")
    assert f.id_match["rate"] == 0.9 and f.id_match["sis_identifier"] == "identifier"
    g = d.gate1()
    bad = [r for r in g.errors if r.check == "file.id_match_rate"]
    assert bad and "90.0%" in bad[0].message


def test_ids_that_lost_leading_zeros_fail_with_id_pad_width_in_the_message(tmp_path):
    d = land(tmp_path, {"ids_lost_leading_zeros_sessions.csv": "tutoring"})
    f = d.file("ids_lost_leading_zeros_sessions.csv")
    assert f.id_match["rate"] == 0.0 and f.id_match["suggested_id_pad_width"] == 6
    g = d.gate1()
    bad = [r for r in g.errors if r.check == "file.id_match_rate"][0]
    assert "id_pad_width: 6" in bad.message + bad.fix and "leading zeros" in bad.message + bad.fix


def test_id_pad_width_fixes_ids_that_lost_leading_zeros(tmp_path):
    d = land(tmp_path, {"ids_lost_leading_zeros_sessions.csv": "tutoring"},
             sources=[{"name": "vendor", "folder": "tutoring", "pattern": "ids_lost*", "id_pad_width": 6}])
    f = d.file("ids_lost_leading_zeros_sessions.csv")
    assert f.id_match["rate"] == 1.0 and f.rows_loaded == 20
    assert d.rows("sessions", "select min(student_id), max(student_id) from t") == [(SID["000101"], SID["000120"])]
    assert not [r for r in d.gate1().errors if r.check == "file.id_match_rate"]


def test_an_id_shared_by_two_sis_students_resolves_to_neither(tmp_path):
    from orchestration.config import load_config
    c = load_config(write_config(tmp_path, YEAR))
    sis = c.inbox / CYCLE / "sis"
    sis.mkdir(parents=True)
    (sis / "users_twins.csv").write_text(
        ONEROSTER_USERS + "\nstu-t1,active,,true,org-1,student,t1,,A,B,,777777,,,,,03,\n"
        "stu-t2,active,,true,org-1,student,t2,,C,D,,777777,,,,,03,\n")
    d = land(tmp_path, {"ambiguous_id_sessions.csv": "tutoring"})
    rows = d.quarantine_rows("ambiguous_id_sessions.csv")
    assert [(r[0], r[1]) for r in rows] == [(3, "unmatched_student")]
    assert rows[0][2].startswith("several SIS students have this ID")


# ------------------------------------------------------------------------------------- files
def test_file_in_the_wrong_folder_loads_with_a_warning(tmp_path):
    d = land(tmp_path, {"wrong_folder_tutors.csv": "sis"})
    f = d.file("wrong_folder_tutors.csv")
    assert f.rows_loaded == 1 and d.result.rows_loaded["tutors"] == 1
    assert any("in the 'sis' folder; loaded as tutoring data" in w for w in f.warnings)
    assert any(r.check == "file.warning" and "wrong_folder_tutors.csv" in r.message for r in d.gate1().warnings)


def test_file_outside_the_three_folders_loads_with_a_warning(tmp_path):
    d = land(tmp_path, {"wrong_folder_tutors.csv": ""})
    f = d.file("wrong_folder_tutors.csv")
    assert f.rows_loaded == 1 and any("outside sis/, screener/ and tutoring/" in w for w in f.warnings)


def test_hidden_files_and_ready_are_ignored(tmp_path):
    d = land(tmp_path, {"._sessions.csv": "tutoring", ".hidden_sessions.csv": "tutoring",
                        "utf8_attendance.csv": "sis"})
    names = sorted(f.source_file for f in d.result.files)
    assert names == ["sis/orgs.csv", "sis/users.csv", "sis/utf8_attendance.csv"]
    assert d.result.rows_loaded["sessions"] == 0


def test_unrecognised_file_fails_gate1(tmp_path):
    d = land(tmp_path, {"unrecognised_columns.csv": "tutoring"})
    err = d.file("unrecognised_columns.csv").error
    assert err.startswith("unrecognised file tutoring/unrecognised_columns.csv (columns: foo, bar, baz)")
    assert "add a mapping" in err
    assert err.endswith("or remove it")
    assert any(r.check == "file.readable" and "unrecognised file" in r.message for r in d.gate1().errors)


def test_several_files_of_one_table_are_unioned(tmp_path):
    d = land(tmp_path, {"union_part1_sessions.csv": "tutoring", "union_part2_sessions.csv": "tutoring"},
             expect={"union_part1_sessions.csv": 2, "union_part2_sessions.csv": 1})
    assert d.result.rows_loaded["sessions"] == 3
    assert d.rows("sessions", "select count(distinct tutor_id) from t") == [(2,)]


def test_no_fixture_produces_a_traceback_through_the_cli(tmp_path):
    """`validate` on a delivery holding every broken file at once: gate 1 fails cleanly (exit 1)."""
    from orchestration.config import load_config
    c = load_config(write_config(tmp_path, YEAR))
    inbox = c.inbox / CYCLE
    write_roster(inbox / "sis", LOCAL_IDS)
    for p in sorted(FIXTURES.iterdir()):
        if p.name == "README.md":
            continue
        folder = "sis" if "users" in p.name else "tutoring"
        (inbox / folder).mkdir(exist_ok=True)
        shutil.copy(p, inbox / folder / ("x_" + p.name if "users" in p.name else p.name))
    (inbox / "_READY").write_text("2025-10-01\n")
    r = cli("validate", "--config", str(c.path), "--cycle", CYCLE)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "unrecognised file tutoring/unrecognised_columns.csv" in r.stdout
    assert "tutoring/xlsx_content_sessions.csv: UNRECOGNISED" in r.stdout
    from sources.landing import read_manifest
    m = read_manifest(c, CYCLE)
    assert all(f.rows_read == f.rows_loaded + f.rows_quarantined for f in m.files)
    assert len([f for f in m.files if f.error]) >= 8
