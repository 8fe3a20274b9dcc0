"""Can a suppressed count be recovered from what is published? (DESIGN §9) — the attacker's check
that gate 2 runs on the built aggregate marts and the property tests run on random small districts.

The attacker knows how the marts are built, so every published count is a *quantity* with a
canonical name, and the marts state linear equations between quantities:

* margins — a line of a two-way table (a school's values of one dimension and its ``ALL`` row; a
  value's schools and the district row; a school's grades and its ``ALL`` grade; the schools of a
  checkpoint metric and the district) sums to its total;
* cells — counts inside one cell add up (``n_students = n_tier1 + n_tier2 + n_tier3``,
  ``n_need = n_tier2 + n_tier3``, ``n_referred = with need + without need``);
* grains and marts — one quantity published in several places is one unknown: every dimension's
  ``ALL`` row of a school is the same head count, ``equity_by_subgroup`` and ``identification_audit``
  count the same population, ``tier_distribution``'s school × grade cells are the ``grade``
  dimension's tested students.

A quantity that is published is known; a NULL count is a *target*; a quantity the equations name
but no mart publishes (Tier 1 students with ELL status, say) is a free unknown. A target is
recovered when the equations determine it uniquely: its column of the equations' matrix over the
unknowns is not in the span of the other columns (equivalently, every vector of the null space is
0 there). Lines and cells are built in DuckDB; the linear algebra (``_solve``) peels off plain
subtractions, sets aside unknowns that occur in one equation only, and decides the rest per
connected component by its null space (pivoted QR).

A free unknown the equations determine is *exposed* when it is a small count: the marts
published it by subtraction.

Every cycle of a mart is checked (each cycle's equations are separate: counts are as-of snapshots,
no identity links two cycles' counts). Results name lines and counts only, never student values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Table:
    """How a mart's rows map to quantities. ``row`` / ``dimension`` / ``col`` are SQL expressions
    giving the row dimension (a school or 'ALL'), the column dimension's name and its value
    (or 'ALL'); ``measures`` maps a count column to its quantity name."""
    mart: str
    row: str
    dimension: str
    col: str
    measures: dict[str, str]
    where: str = "true"
    row_lines: bool = True      # a row's values sum to its ALL value
    col_lines: bool = True      # a value's rows sum to the ALL row


_EQUITY_DIMS = "dimension"
TABLES = (
    Table("tier_distribution", "school_id", "'grade'", "grade",
          {"n_students": "tested", "n_tier1": "tier1", "n_tier2": "tier2", "n_tier3": "tier3"}),
    Table("equity_by_subgroup", "scope_value", _EQUITY_DIMS, "value",
          {"n_students": "population", "n_tested": "tested", "n_need": "need", "n_served": "served",
           "n_served_need": "served_need", "n_served_in_cycle": "served_in_cycle", "n_adequate": "adequate"},
          where="scope_type in ('school', 'district')"),
    Table("identification_audit", "school_id", _EQUITY_DIMS, "value",
          {"n_students": "population", "n_tested": "tested", "n_need": "need", "n_tier3": "tier3",
           "n_tier3_not_served": "tier3_not_served", "n_referred": "referred",
           "n_referred_with_need": "referred_need", "n_referred_without_need": "referred_no_need",
           "n_teacher_referred": "teacher_referred", "n_hidden_need": "hidden_need"}),
    # one quantity per checkpoint × metric: schools add up to the district, and so do grades
    Table("checkpoint_30_60_90", "case when scope_type = 'school' then scope_value else 'ALL' end",
          "'grade'", "case when scope_type = 'grade' then scope_value else 'ALL' end",
          {"n": "'checkpoint:' || checkpoint_day || ':' || metric"},
          where="scope_type in ('school', 'grade', 'district')"),
)

# counts inside one cell: the first is the sum of the others
# (the nested ones name counts no mart publishes — untested students, served without need… — which
# the attacker still learns by subtraction; int_subgroup_suppression suppresses the same list)
CELL_EQUATIONS = (
    ("tested", "tier1", "tier2", "tier3"),
    ("tested", "tier1", "need"),
    ("need", "tier2", "tier3"),
    ("population", "tested", "untested"),
    ("tier3", "tier3_not_served", "tier3_served"),
    ("need", "referred_need", "need_not_referred"),
    ("referred", "referred_need", "referred_no_need"),
    ("served", "served_need", "served_no_need"),
    ("served_in_cycle", "adequate", "not_adequate"),
)


@dataclass
class Finding:
    mart: str
    column: str
    where: str          # the cell's keys (cycle, subject, row, dimension, value) — never a count
    cycle_id: str


@dataclass
class Result:
    n_targets: int = 0
    n_unknowns: int = 0
    n_equations: int = 0
    recovered: list[Finding] = field(default_factory=list)   # withheld counts the equations pin
    exposed: list[Finding] = field(default_factory=list)     # unpublished counts they pin, 0 < n < min_n


def _qty(expr: str) -> str:
    return expr if expr.startswith("'") else f"'{expr}'"


def _cells_sql(tables: list[Table], relation) -> str:
    parts = []
    for t in tables:
        for column, qty in t.measures.items():
            parts.append(
                f"select '{t.mart}' as mart, '{column}' as column_name, {_qty(qty)} as qty, cast(cycle_id as varchar) as cycle_id, "
                f"cast(subject as varchar) as subject, coalesce(cast({t.row} as varchar), '(none)') as r, "
                f"cast({t.dimension} as varchar) as dim, coalesce(cast({t.col} as varchar), '(none)') as c, cast({column} as double) as value, "
                f"{'true' if t.row_lines else 'false'} as row_lines, {'true' if t.col_lines else 'false'} as col_lines "
                f"from {relation(t.mart)} where {t.where}")
    return " union all ".join(parts)


def check_recoverability(con, relation=lambda m: m, tables: tuple[Table, ...] = TABLES,
                         present: set[str] | None = None, min_n: int | None = None, tol: float = 1e-9) -> Result:
    """Run the attack on the marts ``relation(mart)`` names in DuckDB connection ``con`` (a table
    name by default; e.g. ``read_parquet(...)``). ``present``: marts that exist (default: all).
    With ``min_n``, counts that no mart publishes but the published ones determine (Tier 1 students
    of a subgroup = tested − need) are reported in ``exposed`` when 0 < n < min_n."""
    use = [t for t in tables if present is None or t.mart in present]
    res = Result()
    if not use:
        return res
    con.execute(f"create or replace temp table rc_cells as {_cells_sql(use, relation)}")
    # one variable per quantity: a dimension's ALL row is the same quantity in every dimension
    con.execute("""
        create or replace temp table rc_cells_k as
        select *, concat_ws('|', qty, cycle_id, subject, r, case when c = 'ALL' then '*' else dim end, c) as var
        from rc_cells""")
    # margins: members +1, total -1 (a line without its total row in the mart is skipped)
    cell_eq = []
    for i, eq in enumerate(CELL_EQUATIONS):
        total, parts = eq[0], eq[1:]
        members = [f"select '{total}' as q, -1.0 as coef"] + [f"select '{p}', 1.0" for p in parts]
        cell_eq.append(f"""
            select 'cell{i}:{total}|' || k.base as eq, concat_ws('|', m.q, k.base) as var, m.coef
            from (select distinct concat_ws('|', cycle_id, subject, r, case when c = 'ALL' then '*' else dim end, c) as base
                  from rc_cells_k where qty in ({", ".join(f"'{q}'" for q in eq)})) as k
            cross join ({" union all ".join(members)}) as m""")
    con.execute(f"""
        create or replace temp table rc_eq as
        with distinct_vars as (
            select distinct qty, cycle_id, subject, r, dim, c, var, row_lines, col_lines from rc_cells_k
        ),
        row_line as (
            select 'row|' || concat_ws('|', qty, cycle_id, subject, r, dim) as eq, var,
                   case when c = 'ALL' then -1.0 else 1.0 end as coef
            from distinct_vars where row_lines
        ),
        col_line as (
            select 'col|' || concat_ws('|', qty, cycle_id, subject, dim, c) as eq, var,
                   case when r = 'ALL' then -1.0 else 1.0 end as coef
            from distinct_vars where col_lines
        ),
        lines as (select * from row_line union all select * from col_line),
        complete as (   -- keep lines holding exactly one total and at least one member
            select eq from lines group by eq
            having sum(case when coef < 0 then 1 else 0 end) = 1 and sum(case when coef > 0 then 1 else 0 end) >= 1
        )
        select distinct lines.* from lines inner join complete using (eq)
        union all
        {" union all ".join(cell_eq)}""")
    # known values; a var published twice with different values would be a bug, take any
    con.execute("""
        create or replace temp table rc_vars as
        select var, max(value) as value, count(value) > 0 as known,
               min(mart) as mart, min(column_name) as column_name, min(cycle_id) as cycle_id,
               min(concat_ws(' / ', cycle_id, subject, r, dim, c)) as cell_where,
               true as published
        from rc_cells_k group by var""")
    rows = con.execute("""
        with e as (
            select rc_eq.eq, rc_eq.var, rc_eq.coef, v.value, coalesce(v.known, false) as known
            from rc_eq left join rc_vars as v using (var)
        ),
        useful as (select eq from e group by eq having sum(case when known then 0 else 1 end) > 0)
        select e.eq, e.var, e.coef, e.known, e.value from e inner join useful using (eq)""").fetchall()
    targets = {v: (m, c, w, cy) for v, m, c, w, cy in con.execute(
        "select var, mart, column_name, cell_where, cycle_id from rc_vars where not known").fetchall()}
    res.n_targets = len(targets)
    # equations over unknowns; the known part moves to the right-hand side
    eqs: dict[str, list[tuple[str, float]]] = {}
    rhs: dict[str, float] = {}
    for eq, var, coef, known, value in rows:
        if known:
            rhs[eq] = rhs.get(eq, 0.0) - float(coef) * float(value)
        else:
            eqs.setdefault(eq, []).append((var, float(coef)))
    res.n_equations = len(eqs)
    res.n_unknowns = len({v for members in eqs.values() for v, _ in members})
    known = _solve(eqs, rhs, tol)
    for v, value in known.items():
        if v in targets:
            m, c, w, cy = targets[v]
            res.recovered.append(Finding(m, c, w, cy))
        elif min_n is not None and 0.5 <= value < min_n - 0.5:
            # a count no mart publishes, but published counts pin it, and it is small
            qty, cy, subject, r, dim, c = v.split("|", 5)
            res.exposed.append(Finding("(implied)", qty, " / ".join((cy, subject, r, dim, c)), cy))
    return res


def _solve(eqs: dict[str, list[tuple[str, float]]], rhs: dict[str, float], tol: float) -> dict[str, float]:
    """Every unknown that ``Σ coef·x = rhs`` (one per equation) determines, with its value.

    Exact, and fast on district-sized systems: (0) an equation with one unknown left determines it
    (substitute and repeat); (1) an unknown occurring in a single equation leaves
    that equation no power over the others, so both are set aside (repeatedly) and the unknown is
    determined at the end iff the rest of its equation is; (2) the remaining core is split into
    connected components and each is decided by its null space (pivoted QR)."""
    eqs = {e: dict(m) for e, m in eqs.items()}
    where: dict[str, set[str]] = {}
    for e, members in eqs.items():
        for v in members:
            where.setdefault(v, set()).add(e)
    rhs = dict(rhs)
    known: dict[str, float] = {}
    # (0) an equation left with one unknown gives it away: substitute, repeat (plain subtraction)
    queue = [e for e, m in eqs.items() if len(m) == 1]
    while queue:
        e = queue.pop()
        if e not in eqs or len(eqs[e]) != 1:
            continue
        ((v, coef),) = eqs[e].items()
        known[v] = rhs.get(e, 0.0) / coef
        for f in where.pop(v):
            c = eqs[f].pop(v)
            rhs[f] = rhs.get(f, 0.0) - c * known[v]
            if len(eqs[f]) == 1:
                queue.append(f)
            elif not eqs[f]:
                del eqs[f]
    aside: list[tuple[str, str]] = []
    stack = [v for v, es in where.items() if len(es) == 1]
    while stack:
        v = stack.pop()
        es = where.get(v)
        if not es or len(es) != 1:
            continue
        (e,) = es
        aside.append((v, e))
        for u in eqs[e]:
            where[u].discard(e)
            if u != v and len(where[u]) == 1:
                stack.append(u)
        del where[v]
    core = {e for v, e in aside}
    core = [e for e in eqs if e not in core and eqs[e]]
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in core:
        members = list(eqs[e])
        first = find(members[0])
        for v in members[1:]:
            parent[find(v)] = first
    comps: dict[str, list[str]] = {}
    for e in core:
        comps.setdefault(find(next(iter(eqs[e]))), []).append(e)
    for eq_ids in comps.values():
        unknowns = sorted({v for e in eq_ids for v in eqs[e]})
        idx = {v: i for i, v in enumerate(unknowns)}
        a = np.zeros((len(eq_ids), len(unknowns)))
        b = np.array([rhs.get(e, 0.0) for e in eq_ids])
        for i, e in enumerate(eq_ids):
            for v, coef in eqs[e].items():
                a[i, idx[v]] += coef
        determined = _determined(a, tol)
        if determined.any():
            values = np.linalg.lstsq(a, b, rcond=None)[0]
            for v in unknowns:
                if determined[idx[v]]:
                    known[v] = float(values[idx[v]])
    for v, e in reversed(aside):       # x_v = (rhs − Σ others) / coef, when every other is known
        others = [u for u in eqs[e] if u != v]
        if all(u in known for u in others):
            known[v] = (rhs.get(e, 0.0) - sum(eqs[e][u] * known[u] for u in others)) / eqs[e][v]
    return known


def _determined(a: np.ndarray, tol: float) -> np.ndarray:
    """Which unknowns x_j of A x = b are fixed by the equations: those where every null-space
    vector of A is 0. Column-pivoted QR, A P = Q [R11 R12]: the null space is spanned by
    P [−R11⁻¹ R12; I], so a free (non-pivot) column is never fixed and a pivot column is fixed iff
    its row of R11⁻¹ R12 is 0. (The equations have small integer coefficients, so the rank is
    clear-cut; pivoted QR is several times cheaper than an SVD.)"""
    from scipy.linalg import qr, solve_triangular
    n = a.shape[1]
    _, r, piv = qr(a, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > max(a.shape) * np.finfo(float).eps * (d[0] if len(d) else 1)).sum())
    out = np.zeros(n, dtype=bool)
    if rank == 0:
        return out
    if rank == n:
        out[:] = True
        return out
    x = solve_triangular(r[:rank, :rank], r[:rank, rank:])
    out[piv[:rank]] = np.abs(x).max(axis=1) < tol
    return out
