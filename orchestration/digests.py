"""Teacher digests: one printable page per classroom teacher with their students' tutoring this
cycle (the seed's teacher-communication loop; DESIGN §1, §9).

Read from the publication's ``teacher_digest`` mart (one row per cycle × teacher × student ×
subject) and written beside the restricted serving file as
``teacher_digests/<teacher_id>.html`` plus ``teacher_digests/index.html``. They name students, so
they are restricted outputs: files 0640 (folder 0750) with the configured group, never linked from
the aggregate report. Pages are self-contained (inline CSS, no script, no fetch) and print one
teacher per page. The HTML rows are built in DuckDB (one pass over the mart), so a district's
thousands of teachers cost one query, not a Python loop over students.
"""
from __future__ import annotations

import os
import re
import shutil
from html import escape
from pathlib import Path

import duckdb

from orchestration.config import Config, Cycle

DIGEST_DIR = "teacher_digests"
FILE_MODE = 0o640
DIR_MODE = 0o750

CSS = """
body{font:13px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem auto;max-width:1400px;color:#1d232b;padding:0 1rem}
h1{font-size:1.35rem;margin:0 0 .2rem}.meta{color:#555;margin:0 0 1rem}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d5dae0;padding:3px 6px;text-align:right;vertical-align:top}th{background:#eef2f6}
td.l,th.l{text-align:left}td.notes{text-align:left;color:#444;min-width:14rem}.yes{color:#2e7d4a;font-weight:bold}
.note{color:#555;font-size:.9em}.restricted{color:#a00;font-weight:bold}
@media print{body{margin:0;max-width:none;font-size:11px}a{color:inherit;text-decoration:none}tr{break-inside:avoid}}
"""

# html-escape a text expression inside DuckDB (the same five characters html.escape replaces)
_ESC = "replace(replace(replace(replace(replace(coalesce({x}, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), " \
       "'\"', '&quot;'), '''', '&#x27;')"
DASH = "—"


def _esc(expr: str) -> str:
    return _ESC.format(x=expr)


def _num(expr: str, fmt: str) -> str:
    return f"coalesce(printf('{fmt}', {expr}), '{DASH}')"


def cell_sql() -> list[tuple[str, str]]:
    """(header, SQL for the cell's HTML) of a digest row, in column order. Tests format the mart's
    values with ``format_cells`` and find them in the page."""
    return [
        ("student", "'<td class=\"l\">' || " + _esc("student_name") + " || '</td>'"),
        ("grade", "'<td>' || " + _esc("grade") + " || '</td>'"),
        ("subject", "'<td class=\"l\">' || " + _esc("subject") + " || '</td>'"),
        ("sessions attended", "'<td>' || " + _num("sessions_attended", "%d") + " || '</td>'"),
        ("minutes", "'<td>' || " + _num("minutes_attended", "%d") + " || '</td>'"),
        ("attendance", "'<td>' || " + _num("100 * attendance_rate", "%.0f%%") + " || '</td>'"),
        ("dosage vs target", "'<td>' || " + _num("100 * dosage_attainment", "%.0f%%") + " || '</td>'"),
        ("skills focused", "'<td class=\"l\">' || " + _esc("replace(skills_focused, '_', ' ')") + " || '</td>'"),
        ("tutor", "'<td class=\"l\">' || " + _esc("tutor_name") + " || '</td>'"),
        ("tier", "'<td>' || " + _num("tier", "%d") + " || '</td>'"),
        ("latest level", "'<td>' || " + _num("latest_level", "%d") + " || case when latest_vendor_level is not null then ' (' || "
         + _esc("latest_vendor_level") + " || ')' else '' end || '</td>'"),
        ("growth (points)", "'<td>' || " + _num("growth", "%+.0f") + " || '</td>'"),
        ("growth (SD)", "'<td>' || " + _num("growth_z", "%+.2f") + " || '</td>'"),
        ("exit eligible", "'<td>' || case when exit_eligible then '<span class=\"yes\">yes</span>' else 'no' end || '</td>'"),
        ("last session", "'<td class=\"notes\">' || coalesce(strftime(last_session_date, '%Y-%m-%d') || ': ', '') || "
         + _esc("last_session_notes") + " || '</td>'"),
    ]


def format_cells(row: dict) -> list[str]:
    """The cells ``cell_sql`` prints for one mart row, formatted in Python (for tests)."""
    def num(v, f):
        return DASH if v is None else f % v
    lvl = num(row["latest_level"], "%d") + (f" ({escape(row['latest_vendor_level'])})"
                                             if row["latest_vendor_level"] is not None else "")
    last = (row["last_session_date"].isoformat() + ": " if row["last_session_date"] else "") + \
        escape(row["last_session_notes"] or "")
    return [f'<td class="l">{escape(row["student_name"] or "")}</td>', f'<td>{escape(row["grade"] or "")}</td>',
            f'<td class="l">{escape(row["subject"] or "")}</td>', f'<td>{num(row["sessions_attended"], "%d")}</td>',
            f'<td>{num(row["minutes_attended"], "%d")}</td>',
            f'<td>{DASH if row["attendance_rate"] is None else "%.0f%%" % (100 * row["attendance_rate"])}</td>',
            f'<td>{DASH if row["dosage_attainment"] is None else "%.0f%%" % (100 * row["dosage_attainment"])}</td>',
            f'<td class="l">{escape((row["skills_focused"] or "").replace("_", " "))}</td>', f'<td class="l">{escape(row["tutor_name"] or "")}</td>',
            f'<td>{num(row["tier"], "%d")}</td>', f"<td>{lvl}</td>", f'<td>{num(row["growth"], "%+.0f")}</td>',
            f'<td>{num(row["growth_z"], "%+.2f")}</td>',
            "<td>" + ('<span class="yes">yes</span>' if row["exit_eligible"] else "no") + "</td>",
            f'<td class="notes">{last}</td>']


def page_name(teacher_id: str) -> str:
    """A file name for a teacher's page: the SIS id with anything outside [A-Za-z0-9._-] replaced."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", teacher_id).lstrip(".") or "_"
    return f"{name}.html"


def _secure(path: Path, mode: int, group: str | None) -> None:
    os.chmod(path, mode)
    if group:
        try:
            shutil.chown(path, group=group)
        except (LookupError, PermissionError):
            pass


def _write_page(path: Path, text: str, gid: int | None) -> None:
    """Create one page with its restricted mode (and group) set on the open file: no chmod/chown by
    path and no fsync per page — the publish makes the whole folder durable once before it is
    renamed into place (``publish._fsync_tree``), and a page is never seen before that rename."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)            # the umask may have cleared bits of FILE_MODE
        if gid is not None:
            try:
                os.fchown(fd, -1, gid)
            except PermissionError:
                pass
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _group_id(group: str | None) -> int | None:
    if not group:
        return None
    import grp
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return None


def write_teacher_digests(config: Config, cycle: Cycle, folder: Path, version: str) -> Path | None:
    """Write ``<folder>/teacher_digests/`` for ``cycle`` from ``<folder>/parquet/teacher_digest.parquet``;
    returns the index page, or None when the publication has no teacher_digest mart."""
    mart = folder / "parquet" / "teacher_digest.parquet"
    if not mart.is_file():
        return None
    group = config["privacy"].get("restricted_group")
    out = folder / DIGEST_DIR
    out.mkdir()
    _secure(out, DIR_MODE, group)
    gid = _group_id(group)
    cells = cell_sql()
    left = ('class="l"', 'class="notes"')
    header = "<tr>" + "".join("<th class='" + ("l" if any(k in c for k in left) else "") + f"'>{escape(h)}</th>"
                              for h, c in cells) + "</tr>"
    con = duckdb.connect()
    row_html = " || ".join(c for _, c in cells)
    pages = con.execute(f"""
        select teacher_id, any_value(teacher_name), any_value(teacher_email),
               string_agg(distinct school_id, ', ' order by school_id), count(distinct student_id),
               string_agg('<tr id="' || {_esc('student_key')} || '-' || subject || '">' || {row_html} || '</tr>', ''
                          order by student_name, student_id, subject)
        from read_parquet(?) where cycle_id = ?
        group by teacher_id order by any_value(teacher_name), teacher_id""", [str(mart), cycle.id]).fetchall()
    con.close()
    district = escape(config["district"]["name"])
    title_tail = f"cycle {escape(cycle.id)} ({cycle.start} – {cycle.end})"
    names: dict[str, str] = {}
    index_rows = []
    for teacher_id, name, email, schools, n_students, rows in pages:
        fname = page_name(teacher_id)
        if fname in names.values():       # two ids that differ only in replaced characters
            fname = fname[:-5] + f"-{len(names)}.html"
        names[teacher_id] = fname
        who = escape(name or teacher_id)
        doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tutoring digest — {who}</title>"
               f"<style>{CSS}</style></head><body><h1>Your students' tutoring — {who}</h1>"
               f"<p class='meta'>{district} · {title_tail}, data as of {cycle.as_of} · school {escape(schools or '')} · "
               f"publication <code>{escape(version)}</code><br><span class='restricted'>Restricted</span>: names "
               f"students; for {who} and staff with a legitimate educational interest. Do not forward.</p>"
               f"<table>{header}{rows}</table>"
               "<p class='note'>Sessions and minutes count attended sessions this cycle; attendance = attended ÷ "
               "(attended + student absences); dosage vs target = minutes ÷ (weekly target × enrolled weeks). Latest "
               "level is the 1–4 performance level of the latest screener (the vendor's level in brackets); growth "
               "is since this year's baseline (— until a later result exists). Exit eligible: the targeted skill "
               "reached mastery or the latest result meets benchmark — talk to the coordinator about exiting.</p>"
               "</body></html>")
        _write_page(out / fname, doc, gid)
        index_rows.append(f"<tr><td class='l'><a href='{escape(fname)}'>{who}</a></td><td class='l'>"
                          f"{escape(email or '')}</td><td class='l'>{escape(schools or '')}</td><td>{n_students}</td></tr>")
    index = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Teacher digests — {escape(cycle.id)}</title>"
             f"<style>{CSS}</style></head><body><h1>Teacher digests — {district}</h1><p class='meta'>{title_tail} · "
             f"publication <code>{escape(version)}</code> · <span class='restricted'>Restricted</span></p>"
             "<table><tr><th class='l'>teacher</th><th class='l'>email</th><th class='l'>school</th><th>tutored students</th></tr>"
             + ("".join(index_rows) or "<tr><td class='l' colspan='4'>No teacher has a tutored student this cycle.</td></tr>")
             + "</table></body></html>")
    ip = out / "index.html"
    _write_page(ip, index, gid)
    return ip
