"""The six-week impact review (``report.html``): self-contained, printable, aggregate data only.

Every number is read from the publication being written (its Parquet marts), never recomputed from
the build. Aggregate marts are shown as published (already suppressed); restricted marts are only
ever summarised over groups of at least ``min_n`` students. Charts are Vega-Lite specs rendered to
inline SVG by vl-convert (no CDN, no script), so the file works offline and prints.
"""
from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import duckdb

from orchestration.config import Config, Cycle

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232b;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #1d5fa8;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem;margin:1rem 0 .3rem}.meta{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d5dae0;padding:4px 8px;text-align:right}th{background:#eef2f6}td.l,th.l{text-align:left}
.flag,.off_track{font-weight:bold;color:#c2412d}.on_track,.off_track,.at_risk{white-space:nowrap}.on_track,.ok{color:#2e7d4a;font-weight:bold}.at_risk,.warn{color:#a66300;font-weight:bold}
.note{color:#555;font-size:.9em}.chart svg{max-width:100%;height:auto}nav a{margin-right:1em}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,.chart{break-inside:avoid}nav{display:none}}
"""


_NUMBER = re.compile(r"^[\s$+\-−—0-9.,%]*(?:to[\s$+\-−—0-9.,%]*)?$")


def _table(headers: list[str], rows: list[list], left: int = 1) -> str:
    """Columns before ``left`` and columns holding text (not numbers) are left-aligned."""
    def is_text(i: int) -> bool:
        return any(not _NUMBER.match(re.sub(r"<[^>]+>", "", str(r[i]))) for r in rows if i < len(r))
    lefts = {i for i in range(len(headers)) if i < left or is_text(i)}
    th = "".join(f"<th class='{'l' if i in lefts else ''}'>{escape(str(h))}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td class='{'l' if i in lefts else ''}'>{c}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>" if rows else "<p class='note'>No rows this cycle.</p>"


def fmt(v, kind: str = "num") -> str:
    """How the report prints a value; tests use the same function to find mart values in the HTML."""
    if v is None:
        return "<span class='note'>—</span>"
    if kind == "pct":          # a 0–1 share printed as a percentage
        return f"{100 * float(v):.1f}%"
    if kind == "pct100":       # already 0–100
        return f"{float(v):.1f}%"
    if kind == "sd":
        return f"{float(v):+.2f}"
    if kind == "usd":
        return f"${float(v):,.0f}"
    if kind == "int":
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:.2f}"
    return escape(str(v))


def _status(s) -> str:
    return f"<span class='{escape(str(s))}'>{escape(str(s).replace('_', ' '))}</span>" if s else fmt(None)


def _svg(spec: dict) -> str:
    import vl_convert as vlc
    try:
        return "<div class='chart'>" + vlc.vegalite_to_svg(json.dumps(spec)) + "</div>"
    except Exception as e:          # a chart must never cost the report
        return f"<p class='note'>(chart unavailable: {escape(str(e)[:120])})</p>"


class _Marts:
    def __init__(self, folder: Path, cycle_id: str):
        self.pq = folder / "parquet"
        self.con = duckdb.connect()
        self.cycle_id = cycle_id

    def has(self, m: str) -> bool:
        return (self.pq / f"{m}.parquet").is_file()

    def rel(self, m: str) -> str:
        return f"read_parquet('{self.pq / (m + '.parquet')}')"

    def rows(self, m: str, sql: str, params=()):
        if not self.has(m):
            return []
        return self.con.execute(sql.replace("{m}", self.rel(m)), [self.cycle_id, *params]).fetchall()

    def school(self, school_id) -> str:
        """A school's name from the ``schools`` mart (its id when the mart or the school is missing;
        ``ALL`` reads as the district)."""
        if not hasattr(self, "_school_names"):
            self._school_names = dict(self.rows("schools", "select school_id, school_name from {m} where cycle_id = ?"))
        if school_id == "ALL":
            return "district (all schools)"
        return self._school_names.get(school_id) or str(school_id)

    def scope_value(self, scope_type: str, scope_value) -> str:
        """A scope's value as the report shows it: a school by name, anything else as it is."""
        return self.school(scope_value) if scope_type == "school" else str(scope_value)


WATCHLIST_ITEMS = {
    "no_show_school": "schools where enrolled students attend no session",
    "group_missing_dosage": "tutor groups missing the weekly dosage target ≥ 3 weeks in a row",
    "group_meeting_dosage": "tutor groups meeting the weekly dosage target ≥ 3 weeks in a row",
    "plateauing_student": "students in the program ≥ 6 weeks with no screener gain",
    "tutor_over_caseload": "tutors over the caseload limit",
    "tier3_not_served": "Tier 3 students not served",
    "exit_overdue": "Tier 1 students still enrolled (exit overdue)",
}


def _priority_section(config: Config, M: _Marts, min_n: int) -> tuple[str, str, str] | None:
    """The district's academic priority first (config priority): its impact, tiers, state-test
    alignment and watchlist, so the review starts from the stated goal."""
    p = config.priority if hasattr(config, "priority") else {}
    subject, grades = p.get("subject"), p.get("grades") or []
    if not subject:
        return None
    label = f"{subject}" + (f", grade{'s' if len(grades) > 1 else ''} {', '.join(grades)}" if grades else ", every grade")
    html = [f"<p><b>The district's stated goal is {escape(label)}.</b> Everything below is tagged "
            "<code>in_priority</code> in the marts; this section gathers it.</p>"]
    rows = M.rows("impact_estimates", """select scope_type, scope_value, n_treated, n_comparison, effect_sd, ci_low, ci_high,
        wwc_baseline_status from {m} where cycle_id = ? and subject = ? and group_name = 'itt' and not suppressed
        and (scope_type = 'district' or scope_type = 'grade') order by scope_type = 'district' desc, scope_value""", (subject,))
    rows = [r for r in rows if r[0] == "district" or not grades or r[1] in grades]
    html.append("<h3>Is tutoring moving the priority students?</h3>")
    html.append(_table(["scope", "value", "treated", "comparison", "effect (SD)", "95 % CI", "WWC baseline"],
                       [[escape(r[0]), escape(str(r[1])), fmt(r[2], "int"), fmt(r[3], "int"), fmt(r[4], "sd"),
                         f"{fmt(r[5], 'sd')} to {fmt(r[6], 'sd')}", escape(str(r[7] or ""))] for r in rows], 2))
    rows = M.rows("tier_distribution", """select grade, n_students, pct_tier1, pct_tier2, pct_tier3, pyramid_shape from {m}
        where cycle_id = ? and subject = ? and school_id = 'ALL' and not suppressed order by grade = 'ALL' desc, grade""",
                  (subject,))
    rows = [r for r in rows if r[0] == "ALL" or not grades or r[0] in grades]
    html.append("<h3>Need in the priority grades (district)</h3>")
    html.append(_table(["grade", "tested", "Tier 1", "Tier 2", "Tier 3", "shape"],
                       [[escape(str(r[0])), fmt(r[1], "int"), fmt(r[2], "pct100"), fmt(r[3], "pct100"), fmt(r[4], "pct100"),
                         escape(str(r[5]))] for r in rows]))
    rows = M.rows("accountability_alignment", """select value, group_name, n_students, pct_prior_proficient,
        pct_screener_proficient, pct_current_proficient, pct_level_up from {m} where cycle_id = ? and subject = ?
        and scope_type = 'district' and dimension = 'grade' and in_priority order by value = 'ALL' desc, value, group_name""",
                  (subject,))
    if rows:
        html.append("<h3>State accountability in the priority grades</h3>")
        html.append(_table(["grade (this year)", "group", "students", "proficient last year", "screener meets benchmark",
                            "proficient this year", "moved up ≥ 1 level"],
                           [[escape(str(r[0])), escape(r[1]), fmt(r[2], "int"), fmt(r[3], "pct100"), fmt(r[4], "pct100"),
                             fmt(r[5], "pct100"), fmt(r[6], "pct100")] for r in rows], 2))
    return ("priority", f"District priority: {label}", "".join(html))


def _provider_section(M: _Marts) -> tuple[str, str, str]:
    """Teacher-delivered tutoring held to the vendors' standard: ITT effect with CI per tutor type
    and per provider, beside the provider's cost per 0.1 SD."""
    html = ["<p class='note'>Each student counts for the tutor type and provider of their primary tutor (most attended "
            "sessions this year); each is compared with never-tutored Tier 2/3 peers in the schools it serves, by the same "
            "stratified estimate as the district's. Overlapping confidence intervals mean the data cannot yet rank them.</p>"]
    costs = {r[0]: r[1:] for r in M.rows("program_costs", """select vendor, cost_per_student, cost_per_0_1_sd from {m}
        where cycle_id = ? and not suppressed""")}
    best_lines = []
    for scope, title in (("tutor_type", "By tutor type (district teachers, paraprofessionals, vendors, partners)"),
                         ("partner_org", "By provider: which partnerships helped the most?")):
        rows = M.rows("impact_estimates", """select subject, scope_value, n_treated, n_comparison, effect_sd, se, ci_low, ci_high,
            wwc_baseline_status from {m} where cycle_id = ? and scope_type = ? and group_name = 'itt' and not suppressed
            order by subject, effect_sd desc""", (scope,))
        html.append(f"<h3>{escape(title)}</h3>")
        body = []
        for r in rows:
            c = costs.get(r[1], (None, None)) if scope == "partner_org" else (None, None)
            body.append([escape(r[0]), escape(str(r[1])), fmt(r[2], "int"), fmt(r[3], "int"), fmt(r[4], "sd"), fmt(r[5]),
                         f"{fmt(r[6], 'sd')} to {fmt(r[7], 'sd')}", escape(str(r[8] or ""))]
                        + ([fmt(c[0], "usd"), fmt(c[1], "usd")] if scope == "partner_org" else []))
        html.append(_table(["subject", scope.replace("_", " "), "treated", "comparison", "effect (SD)", "SE", "95 % CI",
                            "WWC baseline"] + (["cost per student", "cost per 0.1 SD"] if scope == "partner_org" else []),
                           body, 2))
        if scope == "partner_org":
            for subj in sorted({r[0] for r in rows}):
                sub = [r for r in rows if r[0] == subj and r[4] is not None]
                if len(sub) >= 2:
                    top, rest = sub[0], sub[1:]
                    clear = all(top[6] > o[7] for o in rest)
                    best_lines.append(f"<li>{escape(subj)}: <b>{escape(str(top[1]))}</b> has the largest effect "
                                      f"({fmt(top[4], 'sd')} SD, CI {fmt(top[6], 'sd')} to {fmt(top[7], 'sd')}); "
                                      + ("its interval lies above every other provider's." if clear else
                                         "its interval overlaps another provider's, so the ranking is not yet certain.")
                                      + "</li>")
    if best_lines:
        html.insert(1, "<ul>" + "".join(best_lines) + "</ul>")
    return ("providers", "Providers: teacher-delivered tutoring held to the same standard", "".join(html))


def _state_section(M: _Marts) -> tuple[str, str, str]:
    """accountability_alignment: tutored vs matched comparison on the state test, by ESSA subgroup."""
    html = ["<p class='note'>Students with a state test result last year or this year. <i>Tutored</i> and <i>comparison</i> "
            "are the impact estimate's matched students (same grade and baseline band); comparison shares are reweighted to "
            "the tutored students' strata. Bubble students were one level below proficient last year. Until this year's "
            "state results arrive, the screener's benchmark status is the in-year prediction. Cells under the state's "
            "minimum n are withheld.</p>"]
    rows = M.rows("accountability_alignment", """select subject, group_name, n_students, pct_prior_proficient,
        pct_screener_proficient, pct_current_proficient, pct_level_up, n_bubble, pct_bubble_served, pct_bubble_to_proficient
        from {m} where cycle_id = ? and scope_type = 'district' and dimension = 'grade' and value = 'ALL'
        order by subject, group_name = 'all_students' desc, group_name desc""")
    html.append(_table(["subject", "group", "students", "proficient last year", "screener meets benchmark",
                        "proficient this year", "moved up ≥ 1 level", "bubble students", "bubble served",
                        "bubble → proficient"],
                       [[escape(r[0]), escape(r[1]), fmt(r[2], "int"), fmt(r[3], "pct100"), fmt(r[4], "pct100"),
                         fmt(r[5], "pct100"), fmt(r[6], "pct100"), fmt(r[7], "int"), fmt(r[8], "pct100"),
                         fmt(r[9], "pct100")] for r in rows], 2))
    rows = M.rows("accountability_alignment", """select subject, dimension, value, group_name, n_students,
        pct_prior_proficient, pct_screener_proficient, pct_current_proficient, pct_level_up, pct_bubble_served from {m}
        where cycle_id = ? and scope_type = 'district' and dimension in ('ell', 'iep', 'econ_disadv', 'race')
        and value not in ('ALL', 'unknown') and n_students is not null
        order by subject, dimension, value, group_name = 'all_students' desc, group_name desc""")
    html.append("<h3>By ESSA subgroup (district)</h3>")
    html.append(_table(["subject", "dimension", "value", "group", "students", "proficient last year", "screener meets benchmark",
                        "proficient this year", "moved up ≥ 1 level", "bubble served"],
                       [[escape(r[0]), escape(r[1]), escape(str(r[2])), escape(r[3]), fmt(r[4], "int"), fmt(r[5], "pct100"),
                         fmt(r[6], "pct100"), fmt(r[7], "pct100"), fmt(r[8], "pct100"), fmt(r[9], "pct100")]
                        for r in rows], 4))
    return ("state", "State accountability: tutoring against the state test", "".join(html))


def _watchlist_section(M: _Marts, min_n: int) -> tuple[str, str, str]:
    """The operational watchlist, as counts (its names are in the restricted mart only)."""
    html = [f"<p class='note'>Counts from <code>operational_watchlist_summary</code>; the names are in the restricted "
            f"<code>operational_watchlist</code> for the staff who act on them. Between cycles, "
            f"<code>tutoring-impact run --as-of DATE</code> refreshes it weekly.</p>"]
    rows = M.rows("operational_watchlist_summary", """select item, subject, n_students, n_groups, n_tutors, n_schools,
        n_schools_over_20pct, suppressed from {m} where cycle_id = ? order by item, subject""")
    order = list(WATCHLIST_ITEMS)
    rows.sort(key=lambda r: (order.index(r[0]) if r[0] in order else 99, r[1]))
    body = []
    for r in rows:
        what = {"no_show_school": f"{fmt(r[6], 'int')} of {fmt(r[5], 'int')} schools above 20 %",
                "group_missing_dosage": f"{fmt(r[3], 'int')} groups", "group_meeting_dosage": f"{fmt(r[3], 'int')} groups",
                "tutor_over_caseload": f"{fmt(r[4], 'int')} tutors"}.get(
            r[0], f"fewer than {min_n} students" if r[7] else f"{fmt(r[2], 'int')} students")
        body.append([escape(WATCHLIST_ITEMS.get(r[0], r[0])), escape(r[1]), what])
    html.append(_table(["item", "subject", "listed"], body, 2))
    rows = M.rows("operational_watchlist", f"""select school_id, school_name, item_value, item_n from {{m}}
        where cycle_id = ? and item = 'no_show_school' and subject = 'ALL' and item_n >= {min_n}
        order by item_rank limit 5""")
    if rows:
        html.append("<h3>Schools with the highest no-show rate (both subjects)</h3>")
        out = []
        for sid, name, rate, n in rows:
            k = round((rate or 0) * n)
            shown = fmt(rate, "pct") if k == 0 or k >= min_n else f"<span class='note'>fewer than {min_n} students</span>"
            out.append([escape(str(name or sid)), fmt(n, "int"), shown])
        html.append(_table(["school", "students with a dosage row", "no-show rate"], out))
    return ("watchlist", "Watchlist: what to act on before the next review", "".join(html))


def accountability_sections(config: Config, M: _Marts, min_n: int,
                            sections: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The accountability sections (issue #10) placed among the core ones: the priority first, the
    provider comparison and state alignment after impact, the watchlist before data quality."""
    out = list(sections)
    at = next((i + 1 for i, s in enumerate(out) if s[0] == "impact"), len(out))
    extra = [_provider_section(M)]
    if M.has("accountability_alignment"):
        extra.append(_state_section(M))
    out[at:at] = extra
    if M.has("operational_watchlist_summary"):
        q = next((i for i, s in enumerate(out) if s[0] == "quality"), len(out))
        out.insert(q, _watchlist_section(M, min_n))
    prio = _priority_section(config, M, min_n)
    if prio:
        out.insert(0, prio)
    return out


def write_report(config: Config, cycle: Cycle, folder: Path, version: str, outcomes: list) -> Path:
    M = _Marts(folder, cycle.id)
    min_n = int(config["privacy"]["min_n"])
    sections: list[tuple[str, str, str]] = []       # (anchor, title, html)

    # ---- 30-60-90 and the named owners
    html = []
    rows = M.rows("metric_status", "select metric, category, owner, value, target, direction, status, action_if_low, n "
                                   "from {m} where cycle_id = ? order by category")
    html.append("<h3>Named owners: this cycle's headline metrics</h3>")
    html.append(_table(["metric", "category", "owner", "value", "target", "status", "action if low", "n"],
                       [[escape(r[0]), escape(r[1]), escape(r[2]), fmt(r[3]), fmt(r[4]), _status(r[6]),
                         escape(r[7] or "") if r[6] in ("at_risk", "off_track") else "", fmt(r[8], "int")] for r in rows], 3))
    rows = M.rows("checkpoint_30_60_90", "select subject, checkpoint_day, metric, category, value, target, status, owner, "
                                         "action_if_low, n, unit from {m} where cycle_id = ? and scope_type = 'district' "
                                         "order by subject, checkpoint_day, category, metric")
    html.append("<h3>The 30-60-90 rhythm (district)</h3><p class='note'>A student counts at day k once entry + k ≤ "
                "the cycle's end, with data up to entry + k. Status compares with the target in the metric's direction.</p>")
    html.append(_table(["subject", "day", "metric", "category", "value", "target", "status", "owner", "action if low", "n"],
                       [[escape(r[0]), r[1], escape(r[2]), escape(r[3]), fmt(r[4]), fmt(r[5]), _status(r[6]), escape(r[7] or ""),
                         escape(r[8] or "") if r[6] in ("at_risk", "off_track") else "", fmt(r[9], "int")] for r in rows], 4))
    sections.append(("owners", "30-60-90 review and named owners", "".join(html)))

    # ---- tiers
    html = []
    b = config["mtss_bands"]
    rows = M.rows("tier_distribution", "select subject, school_id, n_students, pct_tier1, pct_tier2, pct_tier3, pyramid_shape, "
                                       "suppressed from {m} where cycle_id = ? and grade = 'ALL' order by subject, "
                                       "school_id = 'ALL' desc, school_id")
    html.append(f"<p class='note'>MTSS model: Tier 1 {b['tier1'][0]}–{b['tier1'][1]} %, Tier 2 {b['tier2'][0]}–{b['tier2'][1]} %, "
                f"Tier 3 {b['tier3'][0]}–{b['tier3'][1]} %. Under 50 % in Tier 1 is an inverted pyramid: the gap is in Tier 1 "
                "instruction, not intervention capacity.</p>")
    # a share withheld for a small count is NULL (—); the row's other published figures still show
    data = [{"school": M.school(r[1]), "subject": r[0], "tier": f"Tier {k}", "pct": r[2 + k]}
            for r in rows if r[3] is not None for k in (1, 2, 3) if r[2 + k] is not None]
    if data:
        html.append(_svg({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": data},
                          "facet": {"column": {"field": "subject", "title": None}},
                          "spec": {"width": 360, "height": {"step": 18}, "mark": "bar",
                                   "encoding": {"y": {"field": "school", "sort": None, "title": None},
                                                "x": {"field": "pct", "type": "quantitative", "stack": "zero",
                                                      "title": "% of tested students", "scale": {"domain": [0, 100]}},
                                                "color": {"field": "tier", "scale": {"range": ["#3c8d5a", "#e0a526", "#c2412d"]}},
                                                "order": {"field": "tier"}}}}))
    html.append(_table(["subject", "school", "students", "Tier 1", "Tier 2", "Tier 3", "shape"],
                       [[escape(r[0]), escape(M.school(r[1])), fmt(r[2], "int"), fmt(r[3], "pct100"), fmt(r[4], "pct100"),
                         fmt(r[5], "pct100"), f"<span class='flag'>inverted</span>" if r[6] == "inverted" else
                         ("<span class='note'>suppressed</span>" if r[6] is None else
                          escape(str(r[6])) + (" <span class='note'>(some counts withheld)</span>" if r[7] else ""))]
                        for r in rows], 2))
    sections.append(("tiers", "Who needs support: tier pyramids against the MTSS bands", "".join(html)))

    # ---- dosage (restricted marts summarised over ≥ min_n students)
    html = []
    rows = M.rows("student_dosage", f"""select subject, count(*), avg(dosage_attainment), avg(case when adequate_dosage then 1.0 else 0 end),
        avg(attendance_rate), sum(minutes_attended), avg(delivery_loss_rate) from {{m}} where cycle_id = ?
        group by subject having count(*) >= {min_n} order by subject""")
    html.append(_table(["subject", "students with a dosage row", "mean attainment", "adequate dosage", "attendance rate",
                        "minutes attended", "delivery loss"],
                       [[escape(r[0]), fmt(r[1], "int"), fmt(r[2]), fmt(r[3], "pct"), fmt(r[4], "pct"), fmt(r[5], "int"),
                         fmt(r[6], "pct")] for r in rows]))
    bins = M.rows("student_dosage", f"""select subject, least(floor(coalesce(dosage_attainment, 0) * 10) / 10, 1.5) as bin, count(*)
        from {{m}} where cycle_id = ? group by all having count(*) >= {min_n} order by 1, 2""")
    if bins:
        html.append("<h3>Distribution of dosage attainment</h3>")
        html.append(_svg({"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
                          "data": {"values": [{"subject": s, "attainment": float(x), "attainment_end": float(x) + 0.1,
                                               "students": n} for s, x, n in bins]},
                          "facet": {"column": {"field": "subject", "title": None}},
                          "spec": {"width": 360, "height": 160, "layer": [
                              {"mark": "bar", "encoding": {"x": {"field": "attainment", "type": "quantitative", "bin": {"step": 0.1, "binned": True},
                                                                 "title": "minutes ÷ (target × weeks)",
                                                                 "scale": {"domain": [0, max(float(x) for _, x, _ in bins) + 0.1]}},
                                                           "x2": {"field": "attainment_end"},
                                                           "y": {"field": "students", "type": "quantitative"}}},
                              {"mark": {"type": "rule", "color": "#c2412d"}, "encoding": {"x": {"datum": config["dosage"]["adequate_share"]}}}]}}))
        html.append(f"<p class='note'>Bars with fewer than {min_n} students are left out; attainment of 1.5 and more is "
                    f"in the 1.5 bar. The red line is the adequate "
                    f"share ({config['dosage']['adequate_share']}).</p>")
    weeks = M.rows("student_weekly_dosage", f"""select subject, cast(week_start as varchar), avg(minutes_attended), count(*)
        from {{m}} where cycle_id = ? group by all having count(*) >= {min_n} order by 1, 2""")
    if weeks:
        html.append("<h3>Weekly minutes per enrolled student</h3>")
        html.append(_svg({"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
                          "data": {"values": [{"subject": s, "week": w, "minutes": float(m)} for s, w, m, _ in weeks]},
                          "width": 700, "height": 180, "layer": [
                              {"mark": {"type": "line", "point": True}, "encoding": {
                                  "x": {"field": "week", "type": "ordinal", "timeUnit": "yearmonthdate", "title": "week starting",
                                        "axis": {"format": "%b %d", "labelAngle": -45}},
                                  "y": {"field": "minutes", "type": "quantitative", "title": "mean minutes attended"},
                                  "color": {"field": "subject"}}},
                              {"mark": {"type": "rule", "strokeDash": [4, 4]},
                               "encoding": {"y": {"datum": config["dosage"]["weekly_minutes"]}}}]}))
    sections.append(("dosage", "Dosage: are students getting enough tutoring?", "".join(html)))

    # ---- fidelity (staff-level mart: only the provider roll-ups appear here)
    rows = M.rows("tutor_fidelity", """select coalesce(nullif(partner_org, 'ALL'), tutor_type), n_tutors, caseload, sessions_delivered,
        length_adherence, group_size_adherence, tutor_absence_rate, gap_alignment_rate, core_alignment_rate, mean_rubric_score,
        trained_session_share from {m} where cycle_id = ? and tutor_id = 'ALL' order by 1""")
    html = [_table(["provider / tutor type", "tutors", "caseload", "sessions delivered", "length 30–45 min", "group ≤ 4",
                    "tutor absence", "gap alignment", "core alignment", "rubric (1–4)", "by trained tutors"],
                   [[escape(str(r[0])), fmt(r[1], "int"), fmt(r[2], "int"), fmt(r[3], "int"), fmt(r[4], "pct"), fmt(r[5], "pct"),
                     fmt(r[6], "pct"), fmt(r[7], "pct"), fmt(r[8], "pct"), fmt(r[9]), fmt(r[10], "pct")] for r in rows])]
    rows = M.rows("group_coherence", f"""select coalesce(t.partner_org, 'unknown'), count(*),
        sum(case when g.not_need_based then 1 else 0 end) from {{m}} g
        left join (select distinct cycle_id, tutor_id, partner_org from {M.rel('tutor_fidelity')} where tutor_id <> 'ALL') t
          on t.cycle_id = g.cycle_id and t.tutor_id = g.tutor_id
        where g.cycle_id = ? group by 1 order by 1""") if M.has("group_coherence") and M.has("tutor_fidelity") else []
    if rows:
        html.append("<h3>Are groups formed by need?</h3>")
        html.append(_table(["provider", "groups", "grouped by schedule, not need (< 50 % share the focus skill as a gap)"],
                           [[escape(str(r[0])), fmt(r[1], "int"), fmt(r[2], "int")] for r in rows]))
    sections.append(("fidelity", "Fidelity: is tutoring delivered as designed?", "".join(html)))

    # ---- impact
    html = []
    rows = M.rows("impact_estimates", """select subject, scope_type, scope_value, group_name, n_treated, n_comparison, effect_sd, se,
        ci_low, ci_high, baseline_diff_sd, wwc_baseline_status, n_treated_unmatched, suppressed from {m} where cycle_id = ?
        order by subject, scope_type = 'district' desc, scope_type, scope_value, group_name""")
    html.append("<p class='note'>Effect in standard deviations of the test score: growth (z, latest − baseline) of tutored "
                "students against never-enrolled Tier 2/3 peers in the same grade and baseline band, Hedges-corrected, "
                "with a 95 % confidence interval. WWC baseline equivalence: ≤ 0.05 SD satisfied, ≤ 0.25 requires adjustment "
                "(met by the stratification).</p>")
    forest = [{"label": f"{r[1]}: {M.scope_value(r[1], r[2])}" if r[1] != "district" else "district",
               "subject": r[0], "effect": r[6],
               "lo": r[8], "hi": r[9]} for r in rows if r[3] == "itt" and not r[13] and r[6] is not None]
    if forest:
        html.append("<h3>Effect of tutoring (intent to treat), with 95 % CI</h3>")
        html.append(_svg({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": forest},
                          "facet": {"column": {"field": "subject", "title": None}},
                          "spec": {"width": 330, "height": {"step": 16}, "layer": [
                              {"mark": "rule", "encoding": {"y": {"field": "label", "sort": None, "title": None},
                                                            "x": {"field": "lo", "type": "quantitative", "title": "effect (SD)"},
                                                            "x2": {"field": "hi"}}},
                              {"mark": {"type": "point", "filled": True}, "encoding": {"y": {"field": "label", "sort": None},
                                                                                       "x": {"field": "effect", "type": "quantitative"}}},
                              {"mark": {"type": "rule", "strokeDash": [3, 3], "color": "#888"}, "encoding": {"x": {"datum": 0}}}]}}))
    dose = [{"subject": r[0], "band": r[3].replace("dosage_", "").replace("_", "–").replace("–plus", "+") + " % of target",
             "effect": r[6], "lo": r[8], "hi": r[9]} for r in rows
            if r[1] == "district" and r[3].startswith("dosage_") and not r[13] and r[6] is not None]
    if dose:
        html.append("<h3>Dosage response: effect by attainment band</h3>")
        html.append(_svg({"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": dose},
                          "facet": {"column": {"field": "subject", "title": None}},
                          "spec": {"width": 300, "height": 160, "layer": [
                              {"mark": "rule", "encoding": {"x": {"field": "band", "sort": None, "title": "YTD attainment"},
                                                            "y": {"field": "lo", "type": "quantitative", "title": "effect (SD)"},
                                                            "y2": {"field": "hi"}}},
                              {"mark": {"type": "point", "filled": True, "size": 60},
                               "encoding": {"x": {"field": "band", "sort": None}, "y": {"field": "effect", "type": "quantitative"}}}]}}))
    html.append(_table(["subject", "scope", "value", "group", "treated", "comparison", "effect (SD)", "SE", "95 % CI",
                        "baseline diff", "WWC baseline", "treated unmatched"],
                       [[escape(r[0]), escape(r[1]), escape(M.scope_value(r[1], r[2])), escape(r[3]),
                         fmt(r[4], "int"), fmt(r[5], "int"),
                         fmt(r[6], "sd"), fmt(r[7]), f"{fmt(r[8], 'sd')} to {fmt(r[9], 'sd')}" if r[8] is not None else fmt(None),
                         fmt(r[10], "sd"), escape(str(r[11] or "")), fmt(r[12], "int")]
                        for r in rows if r[1] in ("district", "school", "tutor_type", "partner_org") and not r[13]], 4))
    sections.append(("impact", "Impact: are students moving compared with peers?", "".join(html)))

    # ---- equity and identification
    html = []
    rows = M.rows("equity_by_subgroup", """select subject, dimension, value, n_need, need_rate, service_rate_among_need,
        representation_index, adequate_dosage_pct, mean_growth_z, effect_sd from {m} where cycle_id = ? and scope_type = 'district'
        and coalesce(n_need, need_rate, service_rate_among_need, representation_index, adequate_dosage_pct, mean_growth_z,
                     effect_sd) is not null order by subject, dimension, value""")
    html.append(_table(["subject", "dimension", "group", "students in need", "need rate", "served among need",
                        "representation index", "adequate dosage", "mean growth z", "effect (SD)"],
                       [[escape(r[0]), escape(r[1]), escape(str(r[2])), fmt(r[3], "int"), fmt(r[4], "pct"), fmt(r[5], "pct"),
                         fmt(r[6]), fmt(r[7], "pct100"), fmt(r[8], "sd"), fmt(r[9], "sd")] for r in rows], 3))
    rows = M.rows("identification_audit", """select subject, dimension, value, n_need, n_tier3_not_served, referral_rate_among_need,
        referral_gap, under_referred from {m} where cycle_id = ? and school_id = 'ALL'
        and coalesce(n_need, n_tier3_not_served, referral_rate_among_need, referral_gap) is not null
        order by subject, referral_gap nulls last""")
    html.append("<h3>Identification audit: who is referred, relative to need</h3>")
    html.append(_table(["subject", "dimension", "group", "students in need", "Tier 3 not served", "referral rate among need",
                        "gap vs everyone else", ""],
                       [[escape(r[0]), escape(r[1]), escape(str(r[2])), fmt(r[3], "int"), fmt(r[4], "int"), fmt(r[5], "pct"),
                         fmt(r[6], "sd"), "<span class='flag'>under-referred</span>" if r[7] else ""] for r in rows], 3))
    sections.append(("equity", "Equity: are gains and access shared?", "".join(html)))

    # ---- cost
    rows = M.rows("program_costs", """select vendor, allocated_cost_usd, funding_mix, n_students_served, cost_per_student,
        cost_per_student_hour, cost_per_adequate_student, effect_sd, cost_per_0_1_sd, suppressed from {m} where cycle_id = ?
        order by vendor = 'ALL' desc, vendor""")
    html = [_table(["provider", "allocated cost", "funding", "students served", "per student", "per student-hour",
                    "per adequate-dosage student", "effect (SD)", "per 0.1 SD"],
                   [[escape(r[0]), fmt(r[1], "usd"), escape(str(r[2] or "")), fmt(r[3], "int"), fmt(r[4], "usd"), fmt(r[5], "usd"),
                     fmt(r[6], "usd"), fmt(r[7], "sd"), fmt(r[8], "usd")] for r in rows if not r[9]], 1),
            "<p class='note'>Invoices are allocated to the cycle by days of overlap; in-house tutors at "
            f"${config['costs']['in_house_hourly_usd']}/hour delivered. Cost per 0.1 SD only when the effect is positive.</p>"]
    sections.append(("cost", "Cost: what does a unit of growth cost?", "".join(html)))

    # ---- data quality
    html = []
    rows = M.rows("cycle_audit", """select source_file, layout, rows_read, rows_loaded, rows_quarantined, quarantined_by_reason
        from {m} where cycle_id = ? and published_version = ? order by source_file""", (version,))
    html.append(_table(["file", "layout", "rows read", "loaded", "quarantined", "by reason"],
                       [[escape(r[0]), escape(str(r[1])), fmt(r[2], "int"), fmt(r[3], "int"), fmt(r[4], "int"),
                         escape(", ".join(f"{k}: {v}" for k, v in json.loads(r[5] or "{}").items()))] for r in rows], 2))
    warns = [r for o in outcomes for r in o.warnings]
    html.append("<p><b>Warnings</b> (published anyway):</p><ul>" + "".join(f"<li class='warn'>{escape(w.message)}</li>"
                                                                            for w in warns) + "</ul>"
                if warns else "<p class='ok'>Both gates passed with no warnings.</p>")
    html.append("<p class='note'>" + " · ".join(f"{escape(o.gate)}: {escape(o.status)} ({len(o.results)} checks)"
                                                 for o in outcomes) + f" · publication {escape(version)}</p>")
    sections.append(("quality", "Data quality", "".join(html)))

    sections = accountability_sections(config, M, min_n, sections)
    prio = config["priority"] or {}
    lead = ""
    if prio.get("subject"):
        lead = (f"<p><b>District priority:</b> {escape(str(prio['subject']))}"
                f"{' in grade(s) ' + escape(', '.join(map(str, prio.get('grades') or []))) if prio.get('grades') else ''}.</p>")
    nav = "<nav>" + "".join(f"<a href='#{a}'>{escape(t.split(':')[0])}</a>" for a, t, _ in sections) + "</nav>"
    body = "".join(f"<h2 id='{a}'>{escape(t)}</h2>{h}" for a, t, h in sections)
    head = (f"<h1>Tutoring impact review — {escape(config['district']['name'])}</h1>"
            f"<p class='meta'>Cycle <b>{escape(cycle.id)}</b> ({cycle.start} – {cycle.end}), data as of {cycle.as_of}. "
            f"Publication <code>{escape(version)}</code>. Aggregate figures only; groups smaller than {min_n} students "
            f"are suppressed.</p>{lead}")
    html_doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tutoring impact — {escape(cycle.id)}</title>"
                f"<style>{CSS}</style></head><body>{head}{nav}{body}</body></html>")
    path = folder / "report.html"
    path.write_text(html_doc, encoding="utf-8")
    path.chmod(0o644)
    M.con.close()
    return path
