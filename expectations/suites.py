"""Great Expectations suites for the landed canonical tables, derived from ``sources.contracts``.

One definition, many uses: the contract that drives landing also states the expectations gate 1
re-checks on what landing wrote (DESIGN §8: they guard against landing bugs). Severity lives in each
expectation's ``meta``. GX runs on pandas batches for tables up to ``GX_MAX_ROWS`` rows; a bigger
table is checked by the same expectations translated to DuckDB SQL (GX's SQL datasource is broken on
DuckDB, DESIGN §12), and both report in ``CheckResult``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sources.contracts import TABLES, Table

GX_MAX_ROWS = int(os.environ.get("TUTORING_IMPACT_GX_MAX_ROWS", "200000"))
PY_TYPES = {"VARCHAR": "VARCHAR", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "INTEGER": "INTEGER",
            "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN"}


@dataclass(frozen=True)
class Expectation:
    kind: str            # not_null | in_set | between | unique | columns
    table: str
    columns: tuple[str, ...]
    severity: str = "error"
    value_set: tuple | None = None
    min: float | None = None
    max: float | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{'+'.join(self.columns) if self.kind != 'columns' else 'schema'}.{self.kind}"


def suite_for(table: Table) -> list[Expectation]:
    """The landed-table suite: schema, required values, codes, ranges, unique key."""
    ex = [Expectation("columns", table.name, tuple(table.names))]
    for c in table.columns:
        if c.required:
            ex.append(Expectation("not_null", table.name, (c.name,)))
        if c.codes:
            ex.append(Expectation("in_set", table.name, (c.name,), value_set=tuple(c.codes)))
        if c.min is not None or c.max is not None:
            ex.append(Expectation("between", table.name, (c.name,), min=c.min, max=c.max))
    ex.append(Expectation("unique", table.name, tuple(table.key)))
    return ex


SUITES: dict[str, list[Expectation]] = {name: suite_for(t) for name, t in TABLES.items()}


def _gx_expectation(gx, e: Expectation):
    meta = {"severity": e.severity}
    E = gx.expectations
    if e.kind == "columns":
        return E.ExpectTableColumnsToMatchSet(column_set=list(e.columns), exact_match=True, meta=meta)
    if e.kind == "not_null":
        return E.ExpectColumnValuesToNotBeNull(column=e.columns[0], meta=meta)
    if e.kind == "in_set":
        return E.ExpectColumnValuesToBeInSet(column=e.columns[0], value_set=list(e.value_set), meta=meta)
    if e.kind == "between":
        return E.ExpectColumnValuesToBeBetween(column=e.columns[0], min_value=e.min, max_value=e.max, meta=meta)
    if e.kind == "unique":
        if len(e.columns) == 1:
            return E.ExpectColumnValuesToBeUnique(column=e.columns[0], meta=meta)
        return E.ExpectCompoundColumnsToBeUnique(column_list=list(e.columns), meta=meta)
    raise ValueError(e.kind)


def _row_condition(e: Expectation) -> str | None:
    """The rows failing a row-wise expectation, as a SQL condition (None: not row-wise)."""
    c = '"' + e.columns[0] + '"' if e.columns else ""
    if e.kind == "not_null":
        return f"{c} is null"
    if e.kind == "in_set":
        vals = ", ".join("'" + str(v).replace("'", "''") + "'" for v in e.value_set)
        return f"{c} is not null and {c} not in ({vals})"
    if e.kind == "between":
        cond = []
        if e.min is not None:
            cond.append(f"{c} < {e.min}")
        if e.max is not None:
            cond.append(f"{c} > {e.max}")
        return " or ".join(cond) or "false"
    return None


def _sql_failed(con, rel: str, e: Expectation) -> int:
    """The SQL twin of each GX expectation: how many rows fail it."""
    col = lambda c: '"' + c + '"'  # noqa: E731
    if e.kind == "columns":
        cols = [r[0] for r in con.execute(f"select column_name from (describe select * from {rel})").fetchall()]
        return 0 if set(cols) == set(e.columns) else 1
    cond = _row_condition(e)
    if cond is not None:
        sql = f"select count(*) from {rel} where {cond}"
    elif e.kind == "unique":
        keys = ", ".join(col(k) for k in e.columns)
        sql = f"select coalesce(sum(n), 0) from (select count(*) n from {rel} group by {keys} having count(*) > 1)"
    else:
        raise ValueError(e.kind)
    return int(con.execute(sql).fetchone()[0])


def _sql_failed_all(con, rel: str, expectations: list[Expectation]) -> list[int]:
    """Every expectation's failing rows; the row-wise ones share one scan of the table (a district's
    66 M attendance rows are read once for all of them, not once each)."""
    rowwise = [(i, _row_condition(e)) for i, e in enumerate(expectations)]
    rowwise = [(i, c) for i, c in rowwise if c is not None]
    out: list[int | None] = [None] * len(expectations)
    if rowwise:
        counts = con.execute("select " + ", ".join(f"count(*) filter (where {c})" for _, c in rowwise)
                             + f" from {rel}").fetchone()
        for (i, _), n in zip(rowwise, counts):
            out[i] = int(n)
    return [n if n is not None else _sql_failed(con, rel, e) for n, e in zip(out, expectations)]


_GX_CONTEXT = None


def _gx_context():
    global _GX_CONTEXT
    if _GX_CONTEXT is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        _GX_CONTEXT = ctx
    return _GX_CONTEXT


def run_suite(con, table: str, rel: str, expectations: list[Expectation], gate: str, fixes: dict[str, str] | None = None):
    """Validate one table (a DuckDB relation name or parquet scan). Returns CheckResults."""
    from .results import CheckResult
    n = int(con.execute(f"select count(*) from {rel}").fetchone()[0])
    results = []
    if n <= GX_MAX_ROWS:
        import great_expectations as gx
        ctx = _gx_context()
        name = f"{gate}_{table}"
        try:
            ds = ctx.data_sources.get(name)
        except Exception:
            ds = ctx.data_sources.add_pandas(name)
        try:
            asset = ds.get_asset(table)
        except Exception:
            asset = ds.add_dataframe_asset(table)
        try:
            bd = asset.get_batch_definition("whole")
        except Exception:
            bd = asset.add_batch_definition_whole_dataframe("whole")
        df = con.execute(f"select * from {rel}").df()
        suite = gx.ExpectationSuite(name=f"{name}_suite")
        for e in expectations:
            suite.add_expectation(_gx_expectation(gx, e))
        batch = bd.get_batch(batch_parameters={"dataframe": df})
        res = batch.validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 0})
        for e, r in zip(expectations, res.results):
            failed = 0 if r.success else int((r.result or {}).get("unexpected_count") or 1)
            results.append(_result(CheckResult, e, gate, r.success, failed, n, "great_expectations", fixes))
    else:
        for e, failed in zip(expectations, _sql_failed_all(con, rel, expectations)):
            results.append(_result(CheckResult, e, gate, failed == 0, failed, n, "sql", fixes))
    return results


def _result(CheckResult, e: Expectation, gate: str, success: bool, failed: int, total: int, engine: str, fixes):
    what = {"columns": "has exactly the contract's columns", "not_null": "has no missing values",
            "in_set": f"holds only {list(e.value_set or ())}", "between": f"lies between {e.min} and {e.max}",
            "unique": "is unique"}[e.kind]
    subject = f"{e.table}.{', '.join(e.columns)}" if e.kind != "columns" else e.table
    msg = f"{subject} {what}" + ("" if success else f": {failed} row(s) fail")
    fix = (fixes or {}).get(e.kind, "landing should have quarantined these rows; report it as a pipeline bug "
                                     "with the cycle id")
    return CheckResult(check=e.name, gate=gate, severity=e.severity, success=bool(success), table=e.table,
                       column=",".join(e.columns) if e.kind != "columns" else None, failed_count=failed,
                       total_count=total, message=msg, fix="" if success else fix, engine=engine)


def landed(path: Path, table: str) -> str:
    return f"read_parquet('{str(path / (table + '.parquet'))}')"
