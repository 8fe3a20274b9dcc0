"""Gate 1 — is this delivery good enough to build marts from? (DESIGN §8)

Judges the landed delivery: every file recognised and readable, required columns present, the
share of quarantined rows per file, the student ID match rate, required tables present, keys unique
after supersede, referential integrity, freshness and volume against the previous delivery; then
the GX suites re-check every landed table. Errors block the cycle; warnings publish.
"""
from __future__ import annotations

import datetime as dt
import json

import duckdb

from orchestration.config import Config
from sources.contracts import TABLES
from sources.landing import LandingResult, read_manifest

from .results import CheckResult, GateOutcome
from .suites import SUITES, landed, run_suite

REQUIRED_TABLES = {
    "students": "deliver the OneRoster users.csv (or another SIS student file) in sis/",
    "schools": "deliver the OneRoster orgs.csv in sis/",
    "sessions": "deliver the tutoring vendors' sessions files in tutoring/",
}

# (child table, column, parent table, parent column, severity, what to fix)
REFERENCES = [
    ("students", "school_id", "schools", "school_id", "error",
     "every student's school (users.csv orgSourcedIds) must be an org in orgs.csv"),
    ("enrollments", "class_id", "classes", "class_id", "error", "enrollments must name classes in classes.csv"),
    ("attendance", "school_id", "schools", "school_id", "error", "attendance school_id must be an org in orgs.csv"),
    ("sessions", "school_id", "schools", "school_id", "error",
     "the SIS is missing a school the tutoring sessions refer to: add it to orgs.csv or correct school_id"),
    ("sessions", "tutor_id", "tutors", "tutor_id", "warn", "add the tutors to tutors.csv"),
]


def last_school_day(config: Config, end: dt.date) -> dt.date:
    d = end
    while d.weekday() >= 5 or config.is_break_day(d):
        d -= dt.timedelta(days=1)
    return d


def run_gate1(config: Config, landing: LandingResult) -> GateOutcome:
    res: list[CheckResult] = []
    g = config["gates"]
    id_min = config["identity"]["id_match_min"]
    cycle = config.cycle(landing.cycle_id)
    for f in landing.files:
        if f.error:
            res.append(CheckResult("file.readable", "gate1", "error", False, source_file=f.source_file,
                                   failed_count=1, message=f.error, engine="manifest",
                                   fix="correct or remove the file and run the cycle again"))
            continue
        for w in f.warnings:
            res.append(CheckResult("file.warning", "gate1", "warn", False, source_file=f.source_file,
                                   message=f"{f.source_file}: {w}", engine="manifest"))
        if f.rows_read:
            share = f.rows_quarantined / f.rows_read
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(f.quarantined_by_reason.items()))
            sev = "error" if share > g["quarantine_fail"] else "warn"
            ok = share <= g["quarantine_warn"]
            res.append(CheckResult(
                "file.quarantine_rate", "gate1", sev, ok, table=",".join(f.tables), source_file=f.source_file,
                failed_count=f.rows_quarantined, total_count=f.rows_read,
                message=f"{f.source_file}: {f.rows_quarantined} of {f.rows_read} rows quarantined ({share:.1%})"
                        + (f" — {reasons}" if reasons else ""),
                fix="" if ok else "open landing/<cycle>/quarantine.parquet (restricted) for the lines and reasons; "
                                  "ask the vendor for a corrected file", engine="manifest"))
        if f.id_match and f.id_match.get("rows"):
            rate = f.id_match["rate"] or 0.0
            pad = f.id_match.get("suggested_id_pad_width")
            hint = (f"; the IDs look like they lost their leading zeros: with id_pad_width: {pad} "
                    f"{f.id_match.get('padded_rate', 0):.1%} would match" if pad and rate < id_min else "")
            fix = ("check the vendor exports the district's student ID; if IDs lost their leading zeros "
                   "(Excel strips them), set id_pad_width for this feed in config.yml")
            if pad:
                fix = (f"add id_pad_width: {pad} to this feed's entry under sources: in config.yml (e.g. "
                       f"{{name: vendor, pattern: \"{f.source_file.split('/')[-1]}\", id_pad_width: {pad}}}), "
                       "or ask the vendor to export IDs as text with their leading zeros")
            res.append(CheckResult(
                "file.id_match_rate", "gate1", "error", rate >= id_min, source_file=f.source_file,
                column=f.id_match["column"], failed_count=f.id_match["rows"] - f.id_match["matched"],
                total_count=f.id_match["rows"],
                message=f"{f.source_file}: {rate:.1%} of student IDs in '{f.id_match['column']}' match the SIS "
                        f"({f.id_match['sis_identifier'] or 'no identifier matched'}); at least {id_min:.0%} "
                        f"required{hint}",
                fix="" if rate >= id_min else fix, engine="manifest"))
    con = duckdb.connect()
    d = landing.landing_dir
    for t, fix in REQUIRED_TABLES.items():
        n = landing.rows_loaded.get(t, 0)
        res.append(CheckResult(f"{t}.present", "gate1", "error", n > 0, table=t, failed_count=0 if n else 1,
                               total_count=n, message=f"{t}: {n} rows landed", fix="" if n else fix,
                               engine="manifest"))
    # a duplicated roster sourcedId fails the gate (DESIGN §4.5)
    qpath = d / "quarantine.parquet"
    dup_students = con.execute(f"select count(*) from read_parquet('{qpath}') where table_name = 'students' "
                               f"and reason = 'duplicate_key'").fetchone()[0]
    res.append(CheckResult("students.sourcedId_unique", "gate1", "error", dup_students == 0, table="students",
                           column="student_id", failed_count=int(dup_students),
                           message=f"{dup_students} roster rows share a sourcedId",
                           fix="" if not dup_students else "the SIS export lists a student twice: fix users.csv",
                           engine="sql"))
    for child, col, parent, pcol, sev, fix in REFERENCES:
        if landing.rows_loaded.get(child, 0) == 0 or (sev == "warn" and landing.rows_loaded.get(parent, 0) == 0):
            continue
        n = con.execute(f"select count(*) from {landed(d, child)} c where c.{col} is not null and not exists "
                        f"(select 1 from {landed(d, parent)} p where p.{pcol} = c.{col})").fetchone()[0]
        res.append(CheckResult(f"{child}.{col}.references_{parent}", "gate1", sev, n == 0, table=child, column=col,
                               failed_count=int(n), total_count=landing.rows_loaded.get(child),
                               message=f"{child}.{col}: {n} rows refer to a {parent} row that does not exist",
                               fix="" if n == 0 else fix, engine="sql"))
    # freshness: the newest session and attendance date reach the cycle's last school day − grace
    due = last_school_day(config, cycle.end) - dt.timedelta(days=config.grace_days)
    for t, col in (("sessions", "session_start"), ("attendance", "attendance_date")):
        if landing.rows_loaded.get(t, 0) == 0:
            continue
        last = con.execute(f"select cast(max({col}) as date) from {landed(d, t)}").fetchone()[0]
        ok = last is not None and last >= due
        res.append(CheckResult(f"{t}.freshness", "gate1", "error", ok, table=t, column=col,
                               failed_count=0 if ok else 1,
                               message=f"{t}: newest {col} is {last}; the cycle needs data through at least {due}",
                               fix="" if ok else "the delivery is old or partial: ask for a year-to-date export "
                                                 "through the cycle end", engine="sql"))
    # volume against the previous delivery (snapshot feeds are year-to-date, so they only grow)
    prev = config.previous_cycle(landing.cycle_id)
    prev_m = read_manifest(config, prev.id) if prev else None
    if prev_m:
        for t, n in landing.rows_loaded.items():
            before = prev_m.rows_loaded.get(t, 0)
            if before >= 100:
                drop = 1 - n / before
                ok = drop <= g["volume_drop_fail"]
                res.append(CheckResult(f"{t}.volume", "gate1", "error", ok, table=t,
                                       failed_count=0 if ok else before - n, total_count=before,
                                       message=f"{t}: {n} rows landed vs {before} in {prev.id} ({-drop:+.0%})",
                                       fix="" if ok else "a year-to-date export should not shrink: ask the vendor "
                                                         "whether the export was cut short", engine="sql"))
    # screener files without percentiles are tiered by level (warn)
    if landing.rows_loaded.get("screener_results", 0):
        for vendor, n, with_pct in con.execute(
                f"select vendor, count(*), count(percentile) from {landed(d, 'screener_results')} group by 1 order by 1"
        ).fetchall():
            if with_pct == 0:
                res.append(CheckResult("screener_results.percentile_present", "gate1", "warn", False,
                                       table="screener_results", column="percentile", failed_count=int(n),
                                       message=f"{vendor}: no percentiles in {n} results; tiers come from levels",
                                       fix="ask the vendor to include national percentiles", engine="sql"))
    for t in TABLES:
        res += run_suite(con, t, landed(d, t), SUITES[t], "gate1")
    con.close()
    return GateOutcome("gate1", res)


def gate1_json(outcome: GateOutcome) -> str:
    return json.dumps([r.to_dict() for r in outcome.results], indent=1, default=str)
