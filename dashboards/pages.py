"""The role pages: which dashboards exist, what each chart shows and the SQL it reads.

Every chart reads one published mart (or a join of marts on their keys) through a virtual dataset;
figures are the marts' own values (rounded for display), never re-derived with another rule.
``LATEST`` narrows a mart to the newest cycle in the publication; charts "over time" keep every cycle.
Public pages read only aggregate marts (orchestration/marts.py); the builder refuses otherwise.

Kinds: ``table`` (rows as they are), ``bar`` / ``line`` (x = a column, one series per metric or per
``group`` value), ``number`` (one big figure). ``metrics`` are SQL aggregates over rows that are
already unique at the chart's grain (MAX of one row is that row's value).
"""
from __future__ import annotations

from dataclasses import dataclass, field


def latest(mart: str) -> str:
    return f"as_of_date = (select max(as_of_date) from {mart})"


@dataclass
class Chart:
    kind: str
    title: str
    sql: str
    marts: tuple[str, ...]
    columns: tuple[str, ...] = ()          # table: shown columns, in order
    x: str | None = None                   # bar / line
    metrics: tuple[tuple[str, str], ...] = ()   # (label, SQL aggregate)
    group: str | None = None
    width: int = 6
    height: int = 50
    stack: bool = False
    number_format: str = ",.3~f"
    description: str = ""
    optional: bool = False                 # left out (and said so on the page) when its mart is not published


@dataclass
class Page:
    slug: str
    title: str
    role: str
    intro: str
    charts: list[Chart] = field(default_factory=list)


# ---------------------------------------------------------------- district leadership (aggregate marts)
def leadership() -> Page:
    p = Page("leadership", "District leadership", "district leadership",
             "Tier pyramids against the MTSS bands, impact with 95 % confidence intervals, equity gaps, "
             "cost per 0.1 SD and the 30-60-90 status board. Cells under the privacy minimum show N/A.")
    p.charts += [
        Chart("bar", "District tier shares by cycle (%), reading",
              "select cycle_id, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3 from tier_distribution "
              "where school_id = 'ALL' and grade = 'ALL' and subject = 'reading'",
              ("tier_distribution",), x="cycle_id", stack=True,
              metrics=(("Tier 1 %", "MAX(pct_tier1)"), ("Tier 2 %", "MAX(pct_tier2)"), ("Tier 3 %", "MAX(pct_tier3)")),
              description="MTSS bands: Tier 1 75–85 %, Tier 2 10–15 %, Tier 3 3–5 %."),
        Chart("bar", "District tier shares by cycle (%), math",
              "select cycle_id, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3 from tier_distribution "
              "where school_id = 'ALL' and grade = 'ALL' and subject = 'math'",
              ("tier_distribution",), x="cycle_id", stack=True,
              metrics=(("Tier 1 %", "MAX(pct_tier1)"), ("Tier 2 %", "MAX(pct_tier2)"), ("Tier 3 %", "MAX(pct_tier3)"))),
        Chart("table", "School pyramids, latest cycle (vs MTSS bands)",
              "select subject, school_id, n_students, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3, tier1_in_band, tier2_in_band, tier3_in_band, pyramid_shape "
              f"from tier_distribution where grade = 'ALL' and {latest('tier_distribution')} order by subject, school_id",
              ("tier_distribution",), width=12, height=60,
              columns=("subject", "school_id", "n_students", "pct_tier1", "pct_tier2", "pct_tier3", "tier1_in_band",
                       "tier2_in_band", "tier3_in_band", "pyramid_shape")),
        Chart("line", "District effect of tutoring by cycle (SD, ITT, matched comparison)",
              "select cycle_id, subject, round(effect_sd, 3) as effect_sd from impact_estimates "
              "where scope_type = 'district' and group_name = 'itt' and not suppressed",
              ("impact_estimates",), x="cycle_id", group="subject", metrics=(("effect (SD)", "MAX(effect_sd)"),),
              width=12, height=45),
        Chart("table", "Cost per 0.1 SD by vendor, by cycle",
              "select cycle_id, vendor, round(allocated_cost_usd, 0) as allocated_cost_usd, n_students_served, "
              "round(cost_per_student, 0) as cost_per_student, round(cost_per_student_hour, 2) as cost_per_student_hour, "
              "round(effect_sd, 3) as effect_sd, round(cost_per_0_1_sd, 0) as cost_per_0_1_sd from program_costs "
              "where not suppressed order by cycle_id desc, vendor",
              ("program_costs",), width=12, height=50,
              columns=("cycle_id", "vendor", "allocated_cost_usd", "n_students_served", "cost_per_student",
                       "cost_per_student_hour", "effect_sd", "cost_per_0_1_sd")),
        Chart("table", "Impact with 95 % CI, latest cycle (subject × school, subgroup, provider)",
              "select subject, scope_type, scope_value, group_name, n_treated, n_comparison, round(effect_sd, 3) as effect_sd, "
              "round(ci_low, 3) as ci_low, round(ci_high, 3) as ci_high, wwc_baseline_status from impact_estimates "
              f"where group_name in ('itt', 'adequate') and not suppressed and {latest('impact_estimates')} "
              "order by subject, scope_type, scope_value, group_name",
              ("impact_estimates",), width=12, height=70,
              columns=("subject", "scope_type", "scope_value", "group_name", "n_treated", "n_comparison", "effect_sd",
                       "ci_low", "ci_high", "wwc_baseline_status")),
        Chart("table", "Equity gaps, latest cycle (district)",
              "select subject, dimension, value, n_need, round(need_rate, 3) as need_rate, "
              "round(service_rate_among_need, 3) as service_rate_among_need, round(representation_index, 2) as "
              "representation_index, round(adequate_dosage_pct, 1) as adequate_dosage_pct, round(mean_growth_z, 3) as "
              "mean_growth_z, round(effect_sd, 3) as effect_sd from equity_by_subgroup "
              # a row whose population is withheld (complementary suppression) still shows its rates
              f"where scope_type = 'district' and {latest('equity_by_subgroup')} and coalesce(n_need, need_rate, "
              "service_rate_among_need, representation_index, adequate_dosage_pct, mean_growth_z, effect_sd) is not null "
              "order by subject, dimension, value",
              ("equity_by_subgroup",), width=12, height=60,
              columns=("subject", "dimension", "value", "n_need", "need_rate", "service_rate_among_need",
                       "representation_index", "adequate_dosage_pct", "mean_growth_z", "effect_sd")),
        Chart("table", "30-60-90 status board, latest cycle (owners and actions)",
              "select metric, category, owner, round(value, 3) as value, round(target, 3) as target, status, "
              f"action_if_low from metric_status where {latest('metric_status')} order by status desc, owner, metric",
              ("metric_status",), width=12, height=50,
              columns=("metric", "category", "owner", "value", "target", "status", "action_if_low")),
        Chart("table", "30-60-90 checkpoints by cycle (district)",
              "select cycle_id, subject, checkpoint_day, metric, round(value, 3) as value, round(target, 3) as target, "
              "status, owner from checkpoint_30_60_90 where scope_type = 'district' and not suppressed "
              "order by cycle_id desc, subject, checkpoint_day, metric",
              ("checkpoint_30_60_90",), width=12, height=60,
              columns=("cycle_id", "subject", "checkpoint_day", "metric", "value", "target", "status", "owner")),
    ]
    return p


# ---------------------------------------------------------------- principal: one page per school
def principal(school_id: str, school_name: str | None = None) -> Page:
    s = school_id.replace("'", "''")
    name = school_name or school_id
    p = Page(f"principal-{slugify(school_id)}", f"Principal — {name}", "principal",
             f"{name} ({school_id}): its pyramid, who is served and who needs it, dosage and no-shows, growth "
             "against the matched comparison, and overdue exits.")
    p.charts += [
        # every cycle's row: a share withheld for a small count is NULL (no bar); the others still show
        Chart("bar", "Our pyramid by cycle (%), reading, all grades",
              "select cycle_id, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3 from tier_distribution "
              f"where school_id = '{s}' and grade = 'ALL' and subject = 'reading'",
              ("tier_distribution",), x="cycle_id", stack=True,
              metrics=(("Tier 1 %", "MAX(pct_tier1)"), ("Tier 2 %", "MAX(pct_tier2)"), ("Tier 3 %", "MAX(pct_tier3)"))),
        Chart("bar", "Our pyramid by cycle (%), math, all grades",
              "select cycle_id, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3 from tier_distribution "
              f"where school_id = '{s}' and grade = 'ALL' and subject = 'math'",
              ("tier_distribution",), x="cycle_id", stack=True,
              metrics=(("Tier 1 %", "MAX(pct_tier1)"), ("Tier 2 %", "MAX(pct_tier2)"), ("Tier 3 %", "MAX(pct_tier3)"))),
        Chart("table", "Served vs need, latest cycle (identification audit)",
              "select subject, dimension, value, n_tested, n_need, n_tier3, n_tier3_not_served, n_referred, "
              "n_hidden_need from identification_audit "
              f"where school_id = '{s}' and value = 'ALL' and {latest('identification_audit')} "
              "qualify row_number() over (partition by subject order by dimension) = 1 order by subject",
              ("identification_audit",),
              columns=("subject", "n_tested", "n_need", "n_tier3", "n_tier3_not_served", "n_referred", "n_hidden_need")),
        Chart("table", "Tier 2/3 students not in tutoring, latest cycle",
              "select t.subject, t.student_name, t.grade, t.tier, t.percentile, t.hidden_need from student_tiers t "
              "left join student_dosage d on d.cycle_id = t.cycle_id and d.student_key = t.student_key "
              f"and d.subject = t.subject where t.school_id = '{s}' and t.tier in (2, 3) and d.student_key is null "
              f"and t.{latest('student_tiers')} order by t.tier desc, t.subject, t.student_name",
              ("student_tiers", "student_dosage"), width=12,
              columns=("subject", "student_name", "grade", "tier", "percentile", "hidden_need")),
        Chart("bar", "Dosage by cycle: students adequate vs no-shows",
              "select cycle_id, count(*) filter (where adequate_dosage) as adequate, "
              "count(*) filter (where sessions_attended = 0) as no_shows, count(*) as enrolled from student_dosage "
              f"where school_id = '{s}' group by cycle_id",
              ("student_dosage",), x="cycle_id",
              metrics=(("enrolled", "MAX(enrolled)"), ("adequate dosage (≥ 0.8)", "MAX(adequate)"),
                       ("no-shows (0 attended)", "MAX(no_shows)"))),
        Chart("line", "Growth vs matched comparison by cycle (effect in SD, ITT)",
              "select cycle_id, subject, round(effect_sd, 3) as effect_sd from impact_estimates "
              f"where scope_type = 'school' and scope_value = '{s}' and group_name = 'itt' and not suppressed",
              ("impact_estimates",), x="cycle_id", group="subject", metrics=(("effect (SD)", "MAX(effect_sd)"),)),
        Chart("table", "Overdue exits, latest cycle (stale or perpetual)",
              "select subject, student_name, grade, weeks_in_program, exit_eligible_date, stale_exit, perpetual, "
              "round(growth_percentile, 0) as growth_percentile from student_entry_exit "
              f"where school_id = '{s}' and (stale_exit or perpetual) and not exited and {latest('student_entry_exit')} "
              "order by weeks_in_program desc",
              ("student_entry_exit",), width=12,
              columns=("subject", "student_name", "grade", "weeks_in_program", "exit_eligible_date", "stale_exit",
                       "perpetual", "growth_percentile")),
    ]
    return p


# ---------------------------------------------------------------- program manager / coach
_TUTOR_OF = ("join tutor_fidelity f on f.cycle_id = d.cycle_id and f.tutor_id = d.primary_tutor_id "
             "and f.rollup_level = 'tutor'")


def coach() -> Page:
    p = Page("coach", "Program manager / coach", "program manager or coach",
             "Dosage attainment and weekly minutes by vendor, tutor groups meeting the target three or more weeks "
             "running, fidelity (length, group size, alignment, rubric), caseloads and tutor absences.")
    p.charts += [
        Chart("line", "Mean weekly minutes per student, by vendor",
              "select w.week_start, f.partner_org, round(avg(w.minutes_attended), 1) as mean_minutes "
              "from student_weekly_dosage w join student_dosage d on d.cycle_id = w.cycle_id "
              f"and d.student_key = w.student_key and d.subject = w.subject {_TUTOR_OF} "
              "group by w.week_start, f.partner_org",
              ("student_weekly_dosage", "student_dosage", "tutor_fidelity"), x="week_start", group="partner_org",
              metrics=(("minutes", "MAX(mean_minutes)"),), description="Target: 90 minutes a week."),
        Chart("bar", "Students at adequate dosage (%), by vendor and cycle",
              "select d.cycle_id, f.partner_org, round(100.0 * avg(case when d.adequate_dosage then 1 else 0 end), 1) "
              f"as pct_adequate from student_dosage d {_TUTOR_OF} group by d.cycle_id, f.partner_org",
              ("student_dosage", "tutor_fidelity"), x="cycle_id", group="partner_org",
              metrics=(("% adequate", "MAX(pct_adequate)"),)),
        Chart("table", "Tutor groups: longest run of weeks meeting the target, latest cycle (≥ 3 = on track)",
              "with wk as (select d.primary_tutor_id as tutor_id, w.week_start, bool_and(w.meets_target) as all_met "
              "from student_weekly_dosage w join student_dosage d on d.cycle_id = w.cycle_id "
              "and d.student_key = w.student_key and d.subject = w.subject "
              f"where d.primary_tutor_id is not null and w.{latest('student_weekly_dosage')} group by 1, 2), "
              "runs as (select tutor_id, week_start, all_met, "
              "row_number() over (partition by tutor_id order by week_start) - "
              "row_number() over (partition by tutor_id, all_met order by week_start) as run_id from wk), "
              "streaks as (select tutor_id, count(*) as weeks_running from runs where all_met group by tutor_id, run_id) "
              "select s.tutor_id, f.tutor_name, f.partner_org, max(s.weeks_running) as longest_run_weeks "
              "from streaks s join tutor_fidelity f on f.tutor_id = s.tutor_id and f.rollup_level = 'tutor' "
              f"and f.{latest('tutor_fidelity')} group by 1, 2, 3 "
              "order by longest_run_weeks desc, tutor_id",
              ("student_weekly_dosage", "student_dosage", "tutor_fidelity"),
              columns=("tutor_id", "tutor_name", "partner_org", "longest_run_weeks"),
              description="A group meets the target in a week when every student it tutors had ≥ 2 sessions "
                          "and ≥ 90 minutes (student_weekly_dosage.meets_target)."),
        Chart("line", "Fidelity by vendor and cycle",
              "select cycle_id, partner_org, round(length_adherence, 3) as length_adherence, "
              "round(group_size_adherence, 3) as group_size_adherence, round(gap_alignment_rate, 3) as gap_alignment_rate "
              "from tutor_fidelity where rollup_level = 'partner_org'",
              ("tutor_fidelity",), x="cycle_id", group="partner_org",
              metrics=(("length adherence", "MAX(length_adherence)"),)),
        Chart("table", "Tutors, latest cycle: fidelity, caseload and absences",
              "select tutor_id, tutor_name, tutor_type, partner_org, caseload, over_caseload, sessions_delivered, "
              "round(length_adherence, 2) as length_adherence, round(group_size_adherence, 2) as group_size_adherence, "
              "round(gap_alignment_rate, 2) as gap_alignment_rate, round(core_alignment_rate, 2) as core_alignment_rate, "
              "round(mean_rubric_score, 2) as mean_rubric_score, round(tutor_absence_rate, 3) as tutor_absence_rate, "
              f"training_completed from tutor_fidelity where rollup_level = 'tutor' and {latest('tutor_fidelity')} "
              "order by over_caseload desc, caseload desc",
              ("tutor_fidelity",), width=12, height=70,
              columns=("tutor_id", "tutor_name", "tutor_type", "partner_org", "caseload", "over_caseload",
                       "sessions_delivered", "length_adherence", "group_size_adherence", "gap_alignment_rate",
                       "core_alignment_rate", "mean_rubric_score", "tutor_absence_rate", "training_completed")),
        Chart("table", "Groups not built on need, latest cycle",
              "select group_id, school_id, subject, tutor_id, n_members, modal_skill_focus, "
              "round(share_members_with_gap, 2) as share_members_with_gap from group_coherence "
              f"where not_need_based and {latest('group_coherence')} order by share_members_with_gap, group_id",
              ("group_coherence",), width=12,
              columns=("group_id", "school_id", "subject", "tutor_id", "n_members", "modal_skill_focus",
                       "share_members_with_gap")),
    ]
    return p


# ---------------------------------------------------------------- school coordinator
def coordinator() -> Page:
    p = Page("coordinator", "School coordinator", "school coordinator",
             "Attendance and no-show lists, students not yet started, and family contact rates (day-30 checkpoint).")
    p.charts += [
        Chart("table", "Operational watchlist, latest cycle",
              "select * exclude (cycle_id) from operational_watchlist "
              f"where {latest('operational_watchlist')}",
              ("operational_watchlist",), width=12, optional=True,
              description="No-show schools, groups missing dosage ≥ 3 weeks, plateauing students, tutors over "
                          "caseload, Tier 3 unserved, overdue exits (the operational_watchlist mart)."),
        Chart("table", "No-shows this cycle (enrolled, no attended session)",
              "select school_id, subject, student_name, grade, entry_date, sessions_scheduled, sessions_student_absent "
              f"from student_dosage where sessions_attended = 0 and {latest('student_dosage')} "
              "order by school_id, subject, student_name",
              ("student_dosage",), width=12,
              columns=("school_id", "subject", "student_name", "grade", "entry_date", "sessions_scheduled",
                       "sessions_student_absent")),
        Chart("table", "Attendance below 80 %, latest cycle",
              "select school_id, subject, student_name, grade, sessions_attended, sessions_student_absent, "
              "round(attendance_rate, 2) as attendance_rate, last_attended_date from student_dosage "
              f"where attendance_rate < 0.8 and sessions_attended > 0 and {latest('student_dosage')} "
              "order by attendance_rate, school_id, student_name",
              ("student_dosage",), width=12,
              columns=("school_id", "subject", "student_name", "grade", "sessions_attended", "sessions_student_absent",
                       "attendance_rate", "last_attended_date")),
        Chart("table", "Not started: enrolled, no attended session all year",
              "select school_id, subject, student_name, grade, entry_date, entry_basis from student_dosage "
              f"where minutes_ytd = 0 and {latest('student_dosage')} order by school_id, entry_date, student_name",
              ("student_dosage",), width=6,
              columns=("school_id", "subject", "student_name", "grade", "entry_date", "entry_basis")),
        Chart("table", "Family contact rate by school (day 30)",
              "select cycle_id, subject, scope_value as school_id, round(value, 3) as family_contact_rate, "
              "round(target, 3) as target, status, n from checkpoint_30_60_90 "
              "where metric = 'family_contact_rate' and scope_type = 'school' and not suppressed "
              "order by cycle_id desc, school_id, subject",
              ("checkpoint_30_60_90",), width=6,
              columns=("cycle_id", "subject", "school_id", "family_contact_rate", "target", "status", "n")),
    ]
    return p


# ---------------------------------------------------------------- data team
def data_team() -> Page:
    p = Page("data-team", "Data team", "data team",
             "Rows read, loaded and quarantined per cycle, quarantine reasons, and gate results and warnings per run.")
    p.charts += [
        Chart("bar", "Rows loaded and quarantined by cycle",
              "select cycle_id, sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined "
              "from cycle_audit group by cycle_id",
              ("cycle_audit",), x="cycle_id",
              metrics=(("rows loaded", "MAX(rows_loaded)"), ("rows quarantined", "MAX(rows_quarantined)"))),
        Chart("table", "Quarantined rows by reason and cycle",
              "select cycle_id, r.key as reason, sum(cast(r.value as bigint)) as rows_quarantined from cycle_audit, "
              "json_each(quarantined_by_reason) r group by 1, 2 order by cycle_id desc, rows_quarantined desc",
              ("cycle_audit",), columns=("cycle_id", "reason", "rows_quarantined")),
        Chart("table", "Gate results and warnings per run",
              "select cycle_id, published_version, gate1_status, gate2_status, count(*) as files, "
              "sum(rows_read) as rows_read, sum(rows_quarantined) as rows_quarantined, "
              "string_agg(distinct nullif(warnings, '[]'), '; ') as warnings from cycle_audit "
              "group by 1, 2, 3, 4 order by cycle_id desc",
              ("cycle_audit",), width=12,
              columns=("cycle_id", "published_version", "gate1_status", "gate2_status", "files", "rows_read",
                       "rows_quarantined", "warnings")),
        Chart("table", "Input files, latest cycle",
              "select source_file, layout, rows_read, rows_loaded, rows_quarantined, quarantined_by_reason "
              f"from cycle_audit where {latest('cycle_audit')} order by rows_quarantined desc, source_file",
              ("cycle_audit",), width=12,
              columns=("source_file", "layout", "rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_reason")),
    ]
    return p


# ---------------------------------------------------------------- board / public (aggregate only)
def public() -> Page:
    p = Page("public", "Board and public", "board and public",
             "Aggregate figures only. Any group smaller than the privacy minimum is suppressed (shown as N/A).")
    p.charts += [
        # tables only: a chart with coloured series makes Superset 6.1 try to save its colours back,
        # which an anonymous visitor may not (a 403 in the console)
        Chart("table", "Students by tier, district (%), by cycle",
              "select cycle_id, subject, n_students, round(pct_tier1, 1) as pct_tier1, round(pct_tier2, 1) as pct_tier2, "
              "round(pct_tier3, 1) as pct_tier3, pyramid_shape from tier_distribution "
              "where school_id = 'ALL' and grade = 'ALL' and not suppressed order by cycle_id desc, subject",
              ("tier_distribution",),
              columns=("cycle_id", "subject", "n_students", "pct_tier1", "pct_tier2", "pct_tier3", "pyramid_shape"),
              description="MTSS bands: Tier 1 75–85 %, Tier 2 10–15 %, Tier 3 3–5 %."),
        Chart("table", "Is tutoring moving students? District effect with 95 % CI",
              "select cycle_id, subject, n_treated, n_comparison, round(effect_sd, 3) as effect_sd, "
              "round(ci_low, 3) as ci_low, round(ci_high, 3) as ci_high, wwc_baseline_status from impact_estimates "
              "where scope_type = 'district' and group_name = 'itt' and not suppressed order by cycle_id desc, subject",
              ("impact_estimates",),
              columns=("cycle_id", "subject", "n_treated", "n_comparison", "effect_sd", "ci_low", "ci_high",
                       "wwc_baseline_status")),
        Chart("table", "Program cost, all vendors",
              "select cycle_id, round(allocated_cost_usd, 0) as allocated_cost_usd, n_students_served, "
              "round(cost_per_student, 0) as cost_per_student, round(cost_per_0_1_sd, 0) as cost_per_0_1_sd "
              "from program_costs where vendor = 'ALL' and not suppressed order by cycle_id desc",
              ("program_costs",),
              columns=("cycle_id", "allocated_cost_usd", "n_students_served", "cost_per_student", "cost_per_0_1_sd")),
        Chart("table", "Who is served, latest cycle (district, by student group)",
              "select subject, dimension, value, round(need_rate, 3) as need_rate, "
              "round(service_rate_among_need, 3) as service_rate_among_need, round(adequate_dosage_pct, 1) as "
              "adequate_dosage_pct, round(effect_sd, 3) as effect_sd from equity_by_subgroup "
              f"where scope_type = 'district' and {latest('equity_by_subgroup')} and coalesce(need_rate, "
              "service_rate_among_need, adequate_dosage_pct, effect_sd) is not null "
              "order by subject, dimension, value",
              ("equity_by_subgroup",), width=12,
              columns=("subject", "dimension", "value", "need_rate", "service_rate_among_need", "adequate_dosage_pct",
                       "effect_sd")),
        Chart("table", "Program goals, latest cycle",
              "select metric, owner, round(value, 3) as value, round(target, 3) as target, status from metric_status "
              f"where not suppressed and {latest('metric_status')} order by owner, metric",
              ("metric_status",), width=12, columns=("metric", "owner", "value", "target", "status")),
    ]
    return p


# Column headings shown in tables (the column keeps its mart name in SQL and in every export).
LABELS = {
    "cycle_id": "cycle", "subject": "subject", "school_id": "school", "grade": "grade", "n_students": "students",
    "pct_tier1": "Tier 1 %", "pct_tier2": "Tier 2 %", "pct_tier3": "Tier 3 %", "tier1_in_band": "T1 in band",
    "tier2_in_band": "T2 in band", "tier3_in_band": "T3 in band", "pyramid_shape": "pyramid",
    "scope_type": "scope", "scope_value": "scope value", "group_name": "group", "n_treated": "treated",
    "n_comparison": "comparison", "effect_sd": "effect (SD)", "ci_low": "CI low", "ci_high": "CI high",
    "wwc_baseline_status": "WWC baseline", "dimension": "dimension", "value": "value", "n_need": "need",
    "need_rate": "need rate", "service_rate_among_need": "served among need",
    "representation_index": "representation", "adequate_dosage_pct": "adequate dosage %",
    "mean_growth_z": "mean growth z", "vendor": "vendor", "allocated_cost_usd": "cost (USD)",
    "n_students_served": "students served", "cost_per_student": "per student (USD)",
    "cost_per_student_hour": "per student-hour (USD)", "cost_per_0_1_sd": "per 0.1 SD (USD)",
    "metric": "metric", "category": "category", "owner": "owner", "target": "target", "status": "status",
    "action_if_low": "action if low", "checkpoint_day": "day", "n_tested": "tested", "n_tier3": "Tier 3",
    "n_tier3_not_served": "Tier 3 not served", "n_referred": "referred", "n_hidden_need": "hidden need",
    "student_name": "student", "tier": "tier", "percentile": "percentile", "hidden_need": "hidden need",
    "weeks_in_program": "weeks in program", "exit_eligible_date": "exit-eligible since",
    "stale_exit": "stale exit", "perpetual": "perpetual", "growth_percentile": "growth percentile",
    "tutor_id": "tutor", "tutor_name": "tutor name", "partner_org": "vendor", "longest_run_weeks":
    "weeks running", "tutor_type": "tutor type", "caseload": "caseload", "over_caseload": "over caseload",
    "sessions_delivered": "sessions", "length_adherence": "length ok", "group_size_adherence": "group size ok",
    "gap_alignment_rate": "gap aligned", "core_alignment_rate": "core aligned", "mean_rubric_score": "rubric",
    "tutor_absence_rate": "tutor absence", "training_completed": "trained", "group_id": "group",
    "n_members": "members", "modal_skill_focus": "skill focus", "share_members_with_gap": "members with gap",
    "entry_date": "entry", "sessions_scheduled": "scheduled", "sessions_student_absent": "absent",
    "sessions_attended": "attended", "attendance_rate": "attendance", "last_attended_date": "last attended",
    "entry_basis": "entry basis", "family_contact_rate": "family contact rate", "n": "n",
    "reason": "reason", "rows_quarantined": "rows quarantined", "published_version": "version",
    "gate1_status": "gate 1", "gate2_status": "gate 2", "files": "files", "rows_read": "rows read",
    "rows_loaded": "rows loaded", "warnings": "warnings", "source_file": "file", "layout": "layout",
    "quarantined_by_reason": "quarantined by reason",
}


def slugify(s: str) -> str:
    import re
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def restricted_pages(schools: list[tuple[str, str]]) -> list[Page]:
    """``schools``: (school_id, school name) pairs, one principal page each."""
    return [leadership(), *[principal(s, name) for s, name in schools], coach(), coordinator(), data_team()]


def public_pages() -> list[Page]:
    return [public()]
