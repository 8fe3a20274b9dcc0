"""Row rules: type the text an adapter produced, map codes, and name why a row is rejected.

One SELECT per output: every canonical column becomes its typed value, and each row gets the first
failing rule as ``__reason`` (a code of ``contracts.REASONS``), ``__reason_column`` and
``__bad_value`` (the text that failed). Typed values are computed once and the checks read them
(three nested SELECTs), because the district attendance file has 63 M rows. The rules read the
same seed CSVs dbt uses (``dbt_project/seeds/code_aliases.csv``) so landing and the marts agree on
codes. Nothing is coerced silently: a value that does not parse is a rejected row.

Documented normalisation (what a loaded value is, given the text delivered):
- text: trimmed; ``NULL``, ``N/A``, ``#N/A``, ``NA``, ``-``, ``none``, ``nan`` and empty are NULL;
- numbers: ``1,234`` (thousands separators), ``85%``; integers round half away from zero
  (``30.5`` → 31); anything else (``30,5``, ``abc``, ``inf``) is ``bad_number``;
- dates: ISO ``YYYY-MM-DD``, US ``M/D/YYYY`` and ``M/D/YY``, ``YYYY/MM/DD``, ``M-D-YYYY``, Excel
  serials (20000–80000) — or ISO plus the feed's ``date_format`` when one is configured (day-first
  dates need one); a timestamp with ``Z`` or an offset is converted to the district's local date;
- timestamps: the same, with times; naive times are local to the district (or to a mapping's
  ``timezone``, then converted);
- booleans: Y/N, Yes/No, TRUE/FALSE, T/F, 1/0; blank = unknown (NULL), never false;
- codes: case-insensitive through the seed aliases (``KG`` → K, ``04`` → 4, ``P`` → present…).
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .contracts import Table
from .reader import null_if_marker

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
MINUTE_COLUMNS = {"session_duration", "scheduled_minutes"}
TRUE_WORDS = ("y", "yes", "true", "t", "1")
FALSE_WORDS = ("n", "no", "false", "f", "0")
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%Y/%m/%d", "%m-%d-%Y")   # %y first: %Y takes "25" as year 25
DEFAULT_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                      "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                      "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d", "%m/%d/%Y")
# a time with a zone: HH:MM[:SS[.fff]] then Z, ±HH, ±HHMM or ±HH:MM
ZONED = r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*(Z|z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$"
NUMBER = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
THOUSANDS = r"[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?"


@lru_cache(maxsize=1)
def code_aliases() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with open(SEEDS / "code_aliases.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["field"], {})[row["alias"].strip().lower()] = row["code"]
    return out


@lru_cache(maxsize=1)
def window_aliases() -> list[tuple[str, str, str]]:
    with open(SEEDS / "window_aliases.csv", encoding="utf-8") as f:
        return [(r["vendor"], r["pattern"], r["window"]) for r in csv.DictReader(f)]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def s(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass
class RuleContext:
    timezone: str
    delivery_date: dt.date
    year_start: dt.date
    year_end: dt.date
    date_format: str | None = None       # a feed's configured format (day-first dates need one)
    code_fields: dict[tuple[str, str], str] | None = None
    source_timezone: str | None = None   # naive timestamps are in this zone (a mapping's `timezone`)


def _list(fmts) -> str:
    return "[" + ", ".join(s(f) for f in fmts) + "]"


def _date_formats(ctx: RuleContext) -> tuple[str, ...]:
    return ("%Y-%m-%d", ctx.date_format) if ctx.date_format else DEFAULT_DATE_FORMATS


def _ts_formats(ctx: RuleContext) -> tuple[str, ...]:
    if ctx.date_format:
        f = ctx.date_format
        iso = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
        if "%H" in f:
            return (f,) + iso
        return (f + " %H:%M:%S", f + " %H:%M", f + " %I:%M %p", f) + iso
    return DEFAULT_TS_FORMATS


def _excel(v: str, kind: str) -> str:
    serial = f"try_cast({v} as double)"
    if kind == "date":
        val = f"(date '1899-12-30' + cast(floor({serial}) as integer))"
    else:
        val = f"(timestamp '1899-12-30' + to_microseconds(cast(round({serial} * 86400000000) as bigint)))"
    return (f"case when regexp_full_match({v}, '[0-9]{{5}}([.][0-9]+)?') and {serial} between 20000 and 80000 "
            f"then {val} end")


def date_expr(v: str, ctx: RuleContext) -> str:
    zoned = (f"case when regexp_matches({v}, {s(ZONED)}) "
             f"then cast(timezone({s(ctx.timezone)}, try_cast({v} as timestamptz)) as date) end")
    return (f"coalesce(cast(try_strptime({v}, {_list(_date_formats(ctx))}) as date), {_excel(v, 'date')}, "
            f"{zoned}, cast(try_strptime({v}, {_list(_ts_formats(ctx))}) as date))")


def timestamp_expr(v: str, ctx: RuleContext) -> str:
    zoned = (f"case when regexp_matches({v}, {s(ZONED)}) "
             f"then timezone({s(ctx.timezone)}, try_cast({v} as timestamptz)) end")
    naive = f"try_strptime({v}, {_list(_ts_formats(ctx))})"
    if ctx.source_timezone and ctx.source_timezone != ctx.timezone:
        # a time of day is the vendor's clock; a bare date is a calendar day and is not shifted
        naive = (f"case when regexp_matches({v}, '[0-9]:[0-9]') then timezone({s(ctx.timezone)}, "
                 f"timezone({s(ctx.source_timezone)}, {naive})) else {naive} end")
    return f"coalesce({zoned}, {naive}, {_excel(v, 'timestamp')})"


def number_text(v: str) -> str:
    """The text of a number with thousands separators and a trailing % removed, if it is one."""
    t = f"(case when {v} like '%\\%' escape '\\' then rtrim(left({v}, -1)) else {v} end)"
    return (f"(case when regexp_full_match({t}, {s(THOUSANDS)}) then replace({t}, ',', '') "
            f"when regexp_full_match({t}, {s(NUMBER)}) then {t} end)")


def code_expr(v: str, field: str) -> str:
    mapping = code_aliases().get(field, {})
    if not mapping:
        return v
    whens = " ".join(f"when {s(a)} then {s(c)}" for a, c in sorted(mapping.items()))
    return f"(case lower({v}) {whens} else null end)"


def bool_expr(v: str) -> str:
    t = ", ".join(s(w) for w in TRUE_WORDS)
    f = ", ".join(s(w) for w in FALSE_WORDS)
    return f"(case when lower({v}) in ({t}) then true when lower({v}) in ({f}) then false end)"


def _typed(c, v: str, table: Table, ctx: RuleContext) -> tuple[str, str | None]:
    """(typed expression, reason when the text does not parse)."""
    fields = ctx.code_fields or {}
    if c.type == "DATE":
        return date_expr(v, ctx), "bad_date"
    if c.type == "TIMESTAMP":
        return timestamp_expr(v, ctx), "bad_date"
    if c.type in ("INTEGER", "BIGINT"):
        return f"try_cast(round(try_cast({number_text(v)} as double)) as {c.type})", "bad_number"
    if c.type == "DOUBLE":
        return f"try_cast({number_text(v)} as double)", "bad_number"
    if c.type == "BOOLEAN":
        return bool_expr(v), "unknown_code"
    if c.codes:
        t = code_expr(v, fields.get((table.name, c.name), c.name))
        if t == v:
            t = f"(case when {v} in ({', '.join(s(x) for x in c.codes)}) then {v} end)"
        return t, "unknown_code"
    return v, None


REASON_ORDER = ("missing_required", "bad_date", "bad_number", "unknown_code", "implausible_minutes",
                "out_of_range", "future_date", "wrong_school_year")


def typed_select(table: Table, src: str, ctx: RuleContext, passthrough: list[str]) -> str:
    """SQL over ``src`` (text columns named as canonical ones): the typed columns, ``passthrough``,
    and ``__reason``, ``__reason_column``, ``__bad_value`` of the first failing rule."""
    nulls = ", ".join(f"{null_if_marker(q(c.name))} as {q(c.name)}" for c in table.columns)
    extra = "".join(f", {q(p)}" for p in passthrough)
    typed, checks = [], {r: [] for r in REASON_ORDER}
    for c in table.columns:
        v = f"v.{q(c.name)}"
        t, bad = _typed(c, v, table, ctx)
        typed.append(f"{t} as {q(c.name)}, {v} as {q('__v:' + c.name)}")
        tv, rv = f"t.{q(c.name)}", f"t.{q('__v:' + c.name)}"
        if c.required:
            checks["missing_required"].append((c.name, f"{rv} is null"))
        if bad:
            checks[bad].append((c.name, f"{rv} is not null and {tv} is null"))
        if c.min is not None or c.max is not None:
            rng = ([f"{tv} < {c.min}"] if c.min is not None else []) + ([f"{tv} > {c.max}"] if c.max is not None else [])
            checks["implausible_minutes" if c.name in MINUTE_COLUMNS else "out_of_range"].append(
                (c.name, f"({' or '.join(rng)})"))
        if c.event_date:
            checks["future_date"].append((c.name, f"cast({tv} as date) > date '{ctx.delivery_date}'"))
        if c.in_school_year:
            checks["wrong_school_year"].append(
                (c.name, f"cast({tv} as date) not between date '{ctx.year_start}' and date '{ctx.year_end}'"))
    flat = [(reason, col, cond) for reason in REASON_ORDER for col, cond in checks[reason]]
    rule = ("(case " + " ".join(f"when {cond} then {i + 1}" for i, (_, _, cond) in enumerate(flat)) + " end)"
            if flat else "null::integer")
    reasons = ("[" + ", ".join(s(r) for r, _, _ in flat) + "]") if flat else "[null::varchar]"
    cols = ("[" + ", ".join(s(c) for _, c, _ in flat) + "]") if flat else "[null::varchar]"
    raw_of = ("(case r.__rule " + " ".join(f"when {i + 1} then r.{q('__v:' + c)}" for i, (_, c, _) in enumerate(flat))
              + " end)") if flat else "null::varchar"
    inner = (f"select t.*, {rule} as __rule from (select {', '.join(typed)}{extra} from "
             f"(select {nulls}{extra} from {src}) v) t")
    return (f"select {', '.join('r.' + q(c.name) for c in table.columns)}"
            f"{''.join(', r.' + q(p) for p in passthrough)}, "
            f"{reasons}[r.__rule] as __reason, {cols}[r.__rule] as __reason_column, {raw_of} as __bad_value "
            f"from ({inner}) r")


def window_expr(v: str, vendor: str, date_sql: str) -> str:
    """Vendor window label → BOY/MOY/EOY/PM by the window_aliases seed; a label that is a date (or
    no label) falls back to the month: Jul–Nov BOY, Dec–Feb MOY, Mar–Jun EOY."""
    whens = " ".join(
        f"when regexp_matches(lower(trim({v})), {s(p)}) then {s(w)}"
        for ven, p, w in window_aliases() if not ven or ven == vendor)
    month = (f"case when month({date_sql}) in (7, 8, 9, 10, 11) then 'BOY' "
             f"when month({date_sql}) in (12, 1, 2) then 'MOY' when month({date_sql}) in (3, 4, 5, 6) then 'EOY' end")
    return f"(case {whens} else {month} end)"
