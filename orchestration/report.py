"""The six-week impact report (``report.html``): self-contained, printable, aggregate data only.

Every number is read from the publication being written (its Parquet marts), never recomputed from
the build. Student-level marts are only ever summarised over groups of at least ``min_n`` students.
"""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

import duckdb

from orchestration.config import Config, Cycle

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232b}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:2px solid #1d5fa8;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#555}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #d5dae0;padding:4px 8px;text-align:right}th{background:#eef2f6}td.l,th.l{text-align:left}
.bar{display:flex;height:14px;width:220px;border:1px solid #bbb}.t1{background:#3c8d5a}.t2{background:#e0a526}.t3{background:#c2412d}
.flag{font-weight:bold;color:#c2412d}.ok{color:#3c8d5a}.warn{color:#a66300}.note{color:#555;font-size:.9em}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{break-inside:avoid}}
"""


def _table(headers: list[str], rows: list[list], left: int = 1) -> str:
    th = "".join(f"<th class='{'l' if i < left else ''}'>{escape(str(h))}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td class='{'l' if i < left else ''}'>{c}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _fmt(v, pct=False, digits=1):
    if v is None:
        return "<span class='note'>suppressed</span>"
    if isinstance(v, float):
        return f"{v:.{digits}f}{'%' if pct else ''}"
    return escape(str(v))


def write_report(config: Config, cycle: Cycle, folder: Path, version: str, outcomes: list) -> Path:
    pq = folder / "parquet"
    con = duckdb.connect()
    min_n = int(config["privacy"]["min_n"])

    def has(m):
        return (pq / f"{m}.parquet").is_file()

    def rel(m):
        return f"read_parquet('{pq / (m + '.parquet')}')"

    parts = [f"<h1>Tutoring impact review — {escape(config['district']['name'])}</h1>",
             f"<p class='meta'>Cycle <b>{escape(cycle.id)}</b> ({cycle.start} – {cycle.end}), data as of "
             f"{cycle.as_of}. Publication <code>{escape(version)}</code>. Aggregate figures only; any group "
             f"smaller than {min_n} students is suppressed.</p>"]
    # --- tiers
    if has("tier_distribution"):
        parts.append("<h2>Tier distribution against the MTSS model</h2>")
        b = config["mtss_bands"]
        parts.append(f"<p class='note'>Model bands: Tier 1 {b['tier1'][0]}–{b['tier1'][1]} %, Tier 2 "
                     f"{b['tier2'][0]}–{b['tier2'][1]} %, Tier 3 {b['tier3'][0]}–{b['tier3'][1]} %. A school under "
                     f"50 % Tier 1 has an inverted pyramid: strengthen Tier 1 before adding intervention.</p>")
        rows = con.execute(f"""select subject, school_id, n_students, pct_tier1, pct_tier2, pct_tier3, pyramid_shape, suppressed
            from {rel('tier_distribution')} where cycle_id = ? and grade = 'ALL' order by subject, school_id = 'ALL' desc, school_id""",
                           [cycle.id]).fetchall()
        out = []
        for subj, school, n, p1, p2, p3, shape, supp in rows:
            bar = "" if supp or p1 is None else (
                f"<div class='bar'><div class='t1' style='width:{p1:.1f}%'></div><div class='t2' style='width:{p2:.1f}%'>"
                f"</div><div class='t3' style='width:{p3:.1f}%'></div></div>")
            shape_html = f"<span class='flag'>{shape}</span>" if shape == "inverted" else escape(str(shape or ""))
            out.append([escape(subj), escape(school), _fmt(n), _fmt(p1, True), _fmt(p2, True), _fmt(p3, True), bar, shape_html])
        parts.append(_table(["subject", "school", "students", "Tier 1", "Tier 2", "Tier 3", "pyramid", "shape"], out, 2))
    # --- dosage (summarised from the restricted mart over groups ≥ min_n)
    if has("student_dosage"):
        parts.append("<h2>Dosage: are students getting enough tutoring?</h2>")
        rows = con.execute(f"""select subject, count(*) n, avg(dosage_attainment), avg(case when adequate_dosage then 1.0 else 0 end) * 100,
                   avg(attendance_rate) * 100, sum(minutes_attended), avg(delivery_loss_rate) * 100
            from {rel('student_dosage')} where cycle_id = ? group by subject having count(*) >= {min_n} order by subject""",
                           [cycle.id]).fetchall()
        parts.append(_table(["subject", "students with a dosage row", "mean attainment", "% adequate dosage",
                             "attendance rate", "minutes attended", "delivery loss"],
                            [[escape(r[0]), _fmt(r[1]), _fmt(r[2], digits=2), _fmt(r[3], True), _fmt(r[4], True),
                              f"{int(r[5] or 0):,}", _fmt(r[6], True)] for r in rows]))
        parts.append("<p class='note'>Attainment = minutes attended ÷ (weekly target × enrolled weeks); adequate ⇔ ≥ "
                     f"{config['dosage']['adequate_share']}. Delivery loss = tutor-absent or cancelled meetings; it "
                     "counts against the program, never the student.</p>")
    # --- data quality
    parts.append("<h2>Data quality</h2>")
    if has("cycle_audit"):
        rows = con.execute(f"""select source_file, layout, rows_read, rows_loaded, rows_quarantined, quarantined_by_reason
            from {rel('cycle_audit')} where cycle_id = ? and published_version = ? order by source_file""",
                           [cycle.id, version]).fetchall()
        parts.append(_table(["file", "layout", "rows read", "loaded", "quarantined", "by reason"],
                            [[escape(r[0]), escape(str(r[1])), f"{r[2]:,}", f"{r[3]:,}", f"{r[4]:,}",
                              escape(", ".join(f"{k}: {v}" for k, v in json.loads(r[5] or "{}").items()))] for r in rows], 2))
    warns = [r for o in outcomes for r in o.warnings]
    if warns:
        parts.append("<p><b>Warnings</b> (published anyway):</p><ul>" +
                     "".join(f"<li class='warn'>{escape(w.message)}</li>" for w in warns) + "</ul>")
    else:
        parts.append("<p class='ok'>Both gates passed with no warnings.</p>")
    for o in outcomes:
        parts.append(f"<p class='note'>{escape(o.gate)}: {escape(o.status)} — {len(o.results)} checks.</p>")
    con.close()
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tutoring impact — {escape(cycle.id)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    path.chmod(0o644)
    return path
