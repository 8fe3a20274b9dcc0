"""Row rules: type the text an adapter produced, map codes, and name why a row is rejected.

One pass of SQL per output: every canonical column becomes its typed value, and each row gets the
first failing rule as ``__reason`` (a code of ``contracts.REASONS``) and ``__reason_column``. The
rules read the same seed CSVs dbt uses (``dbt_project/seeds/code_aliases.csv``) so landing and the
marts agree on codes. Nothing is coerced silently: a value that does not parse is a rejected row.
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
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%m-%d-%Y")
DEFAULT_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                      "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                      "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d", "%m/%d/%Y")


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
    return "'" + text.replace("'", "''") + "'"


@dataclass
class RuleContext:
    timezone: str
    delivery_date: dt.date
    year_start: dt.date
    year_end: dt.date
    date_format: str | None = None       # a feed's configured format (day-first dates need one)
    code_fields: dict[tuple[str, str], str] | None = None


def date_expr(v: str, ctx: RuleContext) -> str:
    fmts = (ctx.date_format,) if ctx.date_format else DEFAULT_DATE_FORMATS
    fl = "[" + ", ".join(s(f) for f in fmts) + "]"
    excel = (f"case when regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') and try_cast({v} as double) "
             f"between 20000 and 80000 then (date '1899-12-30' + cast(floor(try_cast({v} as double)) as integer)) end")
    zoned = (f"case when regexp_matches({v}, '[0-9]T?[0-9:.]*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
             f"then cast(timezone({s(ctx.timezone)}, try_cast({v} as timestamptz)) as date) end")
    local_ts = f"cast(try_strptime({v}, {_ts_list(ctx)}) as date)"
    return f"coalesce(cast(try_strptime({v}, {fl}) as date), {excel}, {zoned}, {local_ts})"


def _ts_list(ctx: RuleContext) -> str:
    fmts = DEFAULT_TS_FORMATS
    if ctx.date_format:
        fmts = (ctx.date_format + " %H:%M:%S", ctx.date_format + " %H:%M", ctx.date_format)
    return "[" + ", ".join(s(f) for f in fmts) + "]"


def timestamp_expr(v: str, ctx: RuleContext) -> str:
    zoned = (f"case when regexp_matches({v}, '[0-9]T?[0-9:.]*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
             f"then timezone({s(ctx.timezone)}, try_cast({v} as timestamptz)) end")
    excel = (f"case when regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') and try_cast({v} as double) "
             f"between 20000 and 80000 then (timestamp '1899-12-30' + to_microseconds("
             f"cast(round(try_cast({v} as double) * 86400000000) as bigint))) end")
    return f"coalesce({zoned}, try_strptime({v}, {_ts_list(ctx)}), {excel})"


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


def typed_select(table: Table, src: str, ctx: RuleContext, passthrough: list[str]) -> str:
    """SQL over ``src`` (text columns named as canonical ones): typed columns + __reason(+_column)."""
    cols, checks = [], {r: [] for r in ("missing_required", "bad_date", "bad_number", "unknown_code",
                                         "implausible_minutes", "out_of_range", "future_date", "wrong_school_year")}
    fields = ctx.code_fields or {}
    for c in table.columns:
        v = f"v.{q(c.name)}"
        if c.type == "DATE":
            t = date_expr(v, ctx)
            bad = "bad_date"
        elif c.type == "TIMESTAMP":
            t = timestamp_expr(v, ctx)
            bad = "bad_date"
        elif c.type in ("INTEGER", "BIGINT"):
            t = f"cast(round(try_cast(replace({v}, ',', '') as double)) as {c.type})"
            bad = "bad_number"
        elif c.type == "DOUBLE":
            t = f"try_cast(replace(replace({v}, ',', ''), '%', '') as double)"
            bad = "bad_number"
        elif c.type == "BOOLEAN":
            t = bool_expr(v)
            bad = "unknown_code"
        elif c.codes:
            t = code_expr(v, fields.get((table.name, c.name), c.name))
            bad = "unknown_code"
        else:
            t, bad = v, None
        if c.codes and c.type == "VARCHAR" and t == v:
            t = f"(case when {v} in ({', '.join(s(x) for x in c.codes)}) then {v} end)"
            bad = "unknown_code"
        cols.append(f"{t} as {q(c.name)}")
        if c.required:
            checks["missing_required"].append((c.name, f"{v} is null"))
        if bad:
            checks[bad].append((c.name, f"{v} is not null and {t} is null"))
        if c.min is not None or c.max is not None:
            rng = []
            if c.min is not None:
                rng.append(f"{t} < {c.min}")
            if c.max is not None:
                rng.append(f"{t} > {c.max}")
            reason = "implausible_minutes" if c.name in MINUTE_COLUMNS else "out_of_range"
            checks[reason].append((c.name, f"({' or '.join(rng)})"))
        if c.event_date:
            checks["future_date"].append((c.name, f"cast({t} as date) > date '{ctx.delivery_date}'"))
        if c.in_school_year:
            checks["wrong_school_year"].append(
                (c.name, f"cast({t} as date) not between date '{ctx.year_start}' and date '{ctx.year_end}'"))
    whens = [f"when {cond} then {s(reason)}" for reason, lst in checks.items() for _, cond in lst]
    whens_col = [f"when {cond} then {s(col)}" for reason, lst in checks.items() for col, cond in lst]
    reason = f"(case {' '.join(whens)} end)" if whens else "null"
    reason_col = f"(case {' '.join(whens_col)} end)" if whens_col else "null"
    nulls = ", ".join(f"{null_if_marker(q(c.name))} as {q(c.name)}" for c in table.columns)
    extra = "".join(f", {q(p)}" for p in passthrough)
    raw_json = "to_json({" + ", ".join(f"{s(c.name)}: v.{q(c.name)}" for c in table.columns) + "})"
    return (f"select {', '.join(cols)}{''.join(', v.' + q(p) for p in passthrough)}, "
            f"{reason} as __reason, {reason_col} as __reason_column, {raw_json} as __raw "
            f"from (select {nulls}{extra} from {src}) v")


def window_expr(v: str, vendor: str, date_sql: str) -> str:
    """Vendor window label → BOY/MOY/EOY/PM by the window_aliases seed; a label that is a date (or
    no label) falls back to the month: Jul–Nov BOY, Dec–Feb MOY, Mar–Jun EOY."""
    whens = " ".join(
        f"when regexp_matches(lower(trim({v})), {s(p)}) then {s(w)}"
        for ven, p, w in window_aliases() if not ven or ven == vendor)
    month = (f"case when month({date_sql}) in (7, 8, 9, 10, 11) then 'BOY' "
             f"when month({date_sql}) in (12, 1, 2) then 'MOY' when month({date_sql}) in (3, 4, 5, 6) then 'EOY' end")
    return f"(case {whens} else {month} end)"
