"""Which published marts are restricted (student- or staff-level) and which are aggregate (DESIGN §9).

Restricted marts go to ``marts_restricted.duckdb`` (0640) and carry names and SIS ids; aggregate
marts go to ``marts_aggregate.duckdb`` (0644) and carry no student identifiers at all. A mart not
listed here is treated as restricted: a new mart is private until someone decides otherwise.
"""
from __future__ import annotations

RESTRICTED = (
    "student_tiers", "student_skill_gaps", "recommended_groups", "group_coherence", "student_weekly_dosage",
    "student_dosage", "tutor_fidelity", "student_entry_exit", "student_growth", "teacher_digest",
    "operational_watchlist",
)
AGGREGATE = (
    "tier_distribution", "impact_estimates", "checkpoint_30_60_90", "equity_by_subgroup", "identification_audit",
    "program_costs", "metric_status", "accountability_alignment", "operational_watchlist_summary", "schools",
    "cycle_audit",
)
ALL_MARTS = RESTRICTED + AGGREGATE
STUDENT_COLUMNS = ("student_id", "student_key", "student_name", "first_name", "last_name")
# Count columns of aggregate marts that do not count students (never suppressed for size).
NON_STUDENT_COUNTS = ("n_strata", "n_sessions", "n_observations", "n_invoices", "n_groups", "n_tutors",
                      "n_schools", "n_schools_over_20pct")


def access(mart: str) -> str:
    return "aggregate" if mart in AGGREGATE else "restricted"
