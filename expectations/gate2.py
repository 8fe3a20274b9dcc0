"""Gate 2 — are the marts right and safe to publish? (DESIGN §8)

Runs on the build database after `dbt build` (whose tests, at error severity, are part of this gate
too: a failing dbt test stops the build before this runs). Checks: GX suites on the marts, tier
shares sum to 100 %, one tier per student × subject × cycle, attainment ≥ 0, no aggregate cell with
0 < n < min_n, no withheld count recoverable from the published ones (recoverability.py: margins,
a cell's counts, other grains and marts), no student identifier in an aggregate mart, and reconciliation of landed sessions
with `student_dosage` (every session in exactly one row; attended minutes in = minutes out).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.config import Config, Cycle
from orchestration.marts import AGGREGATE, NON_STUDENT_COUNTS, STUDENT_COLUMNS

from .recoverability import TABLES, check_recoverability
from .results import CheckResult, GateOutcome
from .suites import Expectation, run_suite

MART_SUITES = {
    "student_tiers": [Expectation("not_null", "student_tiers", ("student_key",)),
                      Expectation("in_set", "student_tiers", ("tier",), value_set=(1, 2, 3)),
                      Expectation("unique", "student_tiers", ("cycle_id", "student_key", "subject"))],
    "student_dosage": [Expectation("between", "student_dosage", ("dosage_attainment",), min=0),
                       Expectation("between", "student_dosage", ("attendance_rate",), min=0, max=1),
                       Expectation("unique", "student_dosage", ("cycle_id", "student_key", "subject"))],
    "tier_distribution": [Expectation("unique", "tier_distribution", ("cycle_id", "subject", "school_id", "grade")),
                          Expectation("in_set", "tier_distribution", ("pyramid_shape",),
                                      value_set=("healthy", "top_heavy", "inverted"))],
}


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("select table_name from information_schema.tables "
                                      "where table_schema = 'main'").fetchall()}


def _columns(con, t: str) -> list[str]:
    return [r[0] for r in con.execute("select column_name from information_schema.columns "
                                      "where table_schema = 'main' and table_name = ? order by ordinal_position",
                                      [t]).fetchall()]


RECOVERABILITY_SEVERITY = "error"


def recoverability_check(con, tables: set[str], min_n: int, relation=lambda m: m) -> CheckResult:
    """The attacker's check (expectations/recoverability.py) on the aggregate marts: no withheld
    count is determined by the published ones, and no small count is published by subtraction.
    The cycle runs ``complete_suppression`` (the same attacker, to a fixed point) on the build
    before this gate, so a failure here means the marts changed after it, or a pipeline bug.
    Names cells by their keys (cycle, subject, school, dimension, value) only."""
    rec = check_recoverability(con, relation=relation, present=tables, min_n=min_n)
    if rec.contradicted:
        return CheckResult("aggregates.no_recoverable_count", "gate2", RECOVERABILITY_SEVERITY, False,
                           table=", ".join(sorted({t.mart for t in TABLES} & tables)), failed_count=len(rec.contradicted),
                           message=f"{len(rec.contradicted)} lines of the aggregate marts do not add up as the privacy "
                                   f"attack assumes, so it cannot vouch for them: {'; '.join(rec.contradicted[:3])}",
                           fix="pipeline bug: a mart's totals no longer equal the sum of its cells "
                               "(expectations/recoverability.py TABLES, CELL_EQUATIONS); nothing was published")
    bad = rec.recovered + rec.exposed
    where = "; ".join(f"{f.mart}.{f.column} at {f.where}" for f in bad[:5]) + (" …" if len(bad) > 5 else "")
    return CheckResult("aggregates.no_recoverable_count", "gate2", RECOVERABILITY_SEVERITY, not bad,
                       table=", ".join(sorted({t.mart for t in TABLES} & tables)), failed_count=len(bad),
                       message=(f"{len(rec.recovered)} withheld counts can be recovered and {len(rec.exposed)} small "
                                f"counts are implied by subtraction from the published aggregates: {where}") if bad else
                       f"none of {rec.n_targets} withheld counts can be recovered from the published aggregates "
                       f"({rec.n_equations} equations over {rec.n_unknowns} unknowns)",
                       fix="" if not bad else "pipeline bug: the build's complementary suppression "
                                              "(expectations/recoverability.py complete_suppression) did not run "
                                              "or the marts changed after it; nothing was published")


def run_gate2(config: Config, cycle: Cycle, build_db: Path, landing_dir: Path, dbt_results: list[dict]) -> GateOutcome:
    res: list[CheckResult] = []
    for f in dbt_results:
        res.append(CheckResult(f"dbt:{f['node']}", "gate2", "error", False, failed_count=int(f.get("failures") or 1),
                               message=f"dbt {f['status']}: {f['node']} — {f['message']}", engine="dbt",
                               fix="read the dbt test's description in dbt docs; the marts contradict a definition"))
    con = duckdb.connect(str(build_db), read_only=True)
    tables = _tables(con)
    min_n = int(config["privacy"]["min_n"])
    for m, suite in MART_SUITES.items():
        if m in tables:
            res += run_suite(con, m, f"main.{m}", suite, "gate2",
                             fixes={k: "a mart breaks its definition: report it as a pipeline bug" for k in
                                    ("not_null", "in_set", "between", "unique", "columns")})
    if "tier_distribution" in tables:
        n = con.execute("select count(*) from tier_distribution where not coalesce(suppressed, false) and n_students > 0 "
                        "and abs(coalesce(pct_tier1, 0) + coalesce(pct_tier2, 0) + coalesce(pct_tier3, 0) - 100) > 0.5"
                        ).fetchone()[0]
        res.append(CheckResult("tier_distribution.shares_sum_to_100", "gate2", "error", n == 0, table="tier_distribution",
                               failed_count=int(n), message=f"{n} published cells whose tier shares do not sum to 100 %",
                               fix="" if n == 0 else "pipeline bug: tier counts and shares disagree"))
    for m in sorted(tables & set(AGGREGATE)):
        cols = _columns(con, m)
        leaked = [c for c in cols if c in STUDENT_COLUMNS]
        res.append(CheckResult(f"{m}.no_student_identifiers", "gate2", "error", not leaked, table=m,
                               failed_count=len(leaked),
                               message=f"aggregate mart {m} has student columns {leaked}" if leaked else
                               f"aggregate mart {m} carries no student identifier",
                               fix="" if not leaked else "remove the columns from the aggregate mart"))
        counts = [c for c in cols if (c == "n" or c.startswith("n_")) and c not in NON_STUDENT_COUNTS]
        if counts:
            # count by count: a withheld count is NULL, whatever the row's `suppressed` flag says
            cond = " or ".join(f"({c} > 0 and {c} < {min_n})" for c in counts)
            n = con.execute(f"select count(*) from {m} where {cond}").fetchone()[0]
            res.append(CheckResult(f"{m}.small_cells_suppressed", "gate2", "error", n == 0, table=m,
                                   failed_count=int(n),
                                   message=f"{m}: {n} published rows show a count below min_n={min_n}",
                                   fix="" if n == 0 else "pipeline bug: suppression missed these cells"))
    res.append(recoverability_check(con, tables, min_n))
    if "student_dosage" in tables:
        sess = landing_dir / "sessions.parquet"
        con.execute(f"create temp view landed_sessions as select * from read_parquet('{sess}') "
                    f"where cast(session_start as date) between date '{cycle.start}' and date '{cycle.as_of}' "
                    f"and subject in ('reading', 'math')")
        missing = con.execute("""
            select count(*) from (select distinct student_id, subject from landed_sessions) s
            where (select count(*) from student_dosage d where d.student_id = s.student_id
                   and d.subject = s.subject and d.cycle_id = ?) <> 1""", [cycle.id]).fetchone()[0]
        res.append(CheckResult("reconciliation.sessions_in_one_dosage_row", "gate2", "error", missing == 0,
                               table="student_dosage", failed_count=int(missing),
                               message=f"{missing} student × subject pairs with landed sessions are not in exactly "
                                       f"one student_dosage row",
                               fix="" if missing == 0 else "pipeline bug: dosage rows lost or duplicated sessions"))
        m_in, m_out = con.execute(f"""
            select (select coalesce(sum(session_duration), 0) from landed_sessions where attendance_status = 'attended'),
                   (select coalesce(sum(minutes_attended), 0) from student_dosage where cycle_id = ?)""",
                                  [cycle.id]).fetchone()
        ok = abs(float(m_in) - float(m_out)) < 0.5
        res.append(CheckResult("reconciliation.minutes_in_equal_out", "gate2", "error", ok, table="student_dosage",
                               column="minutes_attended", failed_count=0 if ok else 1,
                               message=f"attended minutes landed {m_in:,.0f} vs in student_dosage {m_out:,.0f}",
                               fix="" if ok else "pipeline bug: dosage minutes do not reconcile with landing"))
    con.close()
    return GateOutcome("gate2", res)
