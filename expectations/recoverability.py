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

Every cycle of a mart is checked, each cycle as its own system. That is exact, not a shortcut: no
published count is a function of two cycles. The marts publish as-of snapshots (tested by as_of,
served this year by as_of, served this cycle, reached checkpoint k by as_of), never a change
between cycles, and no column links a row of one cycle to a row of another. A count of cycle k and
the same cell's count of cycle k−1 differ by students who joined or left the cell in between
(newly served or tested, moved school, changed tier): x_k = x_{k−1} + in − out, with in and out
published nowhere, and the only linear facts about them (their margins) follow from those of x_k
and x_{k−1}. Adding these equations adds at least as many new unknowns as independent equations,
so the solutions of the joint system, restricted to cycle k's counts, are exactly cycle k's own:
a count withheld in cycle k is determined by two cycles' publications iff it is by cycle k's. (The
difference of a cumulative count published in both cycles — served this year, a checkpoint's n —
is the net number who joined the cell between them; it is a change, not a count any mart
withholds, and this check does not report it.)

What the attack does not model: bounds (a withheld count lies between 0 and its line's total, so
it is narrowed, not determined); counts implied by a published share times its n (the checkpoint
shares); checkpoint rows by tutor type, partner organisation and subgroup (each of those lines
leaves out students without a value, so alone it determines nothing); marts outside ``TABLES``
(their rows do not add up to one another: matched samples, costs). ``Result.contradicted`` lists
the equations whose counts are all published and do not add up; gate 2 fails on any, since the
attack proves nothing about marts it models wrongly.

``complete_suppression`` turns the attack into the cycle's complementary suppression: it withholds
more counts until the attack finds nothing (its docstring has the argument), and gate 2 runs the
attack again on what is published. Results name lines and counts only, never student values.
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
    # for withholding (complete_suppression): a value column → the count columns of its own row it
    # is computed from; ``line_derived``: → the counts of its line's total row (``line_keys`` name the
    # line, ``line_total`` picks its total row); ``after``: statements that recompute a column from
    # what is left published (a rank among the published rows)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line_derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line_keys: tuple[str, ...] = ()
    line_total: str = "false"
    after: tuple[str, ...] = ()


_EQUITY_DIMS = "dimension"
TABLES = (
    Table("tier_distribution", "school_id", "'grade'", "grade",
          {"n_students": "tested", "n_tier1": "tier1", "n_tier2": "tier2", "n_tier3": "tier3"},
          derived={"pct_tier1": ("n_tier1", "n_students"), "pct_tier2": ("n_tier2", "n_students"),
                   "pct_tier3": ("n_tier3", "n_students"), "tier1_in_band": ("n_tier1", "n_students"),
                   "tier2_in_band": ("n_tier2", "n_students"), "tier3_in_band": ("n_tier3", "n_students"),
                   "pyramid_shape": ("n_tier1", "n_students")}),
    Table("equity_by_subgroup", "scope_value", _EQUITY_DIMS, "value",
          {"n_students": "population", "n_tested": "tested", "n_need": "need", "n_served": "served",
           "n_served_need": "served_need", "n_served_in_cycle": "served_in_cycle", "n_adequate": "adequate"},
          where="scope_type in ('school', 'district')",
          # mean_growth_z and in_school_share divide by counts no mart publishes (students with
          # growth, with an in-school share), withheld by the mart itself; effect_sd is impact's
          derived={"need_rate": ("n_need", "n_tested"), "service_rate_among_need": ("n_served_need", "n_need"),
                   "representation_index": ("n_served", "n_need"),
                   "adequate_dosage_pct": ("n_adequate", "n_served_in_cycle")},
          line_derived={"representation_index": ("n_served", "n_need")},
          line_keys=("cycle_id", "subject", "scope_type", "scope_value", "dimension"), line_total="value = 'ALL'"),
    Table("identification_audit", "school_id", _EQUITY_DIMS, "value",
          {"n_students": "population", "n_tested": "tested", "n_need": "need", "n_tier3": "tier3",
           "n_tier3_not_served": "tier3_not_served", "n_referred": "referred",
           "n_referred_with_need": "referred_need", "n_referred_without_need": "referred_no_need",
           "n_teacher_referred": "teacher_referred", "n_hidden_need": "hidden_need"},
          derived={"referral_rate_among_need": ("n_referred_with_need", "n_need"),
                   "referral_gap": ("n_referred_with_need", "n_need"),
                   "under_referred": ("n_referred_with_need", "n_need")},
          line_derived={"referral_gap": ("n_referred_with_need", "n_need"),
                        "under_referred": ("n_referred_with_need", "n_need")},
          line_keys=("cycle_id", "subject", "school_id", "dimension"), line_total="value = 'ALL'",
          # under_referred marks the published group with the most negative gap (the mart's rule)
          after=("""update identification_audit set under_referred = coalesce(ranked.rk = 1, false)
                    from (select cycle_id, subject, school_id, dimension, value,
                                 case when referral_gap < 0 then row_number() over (
                                     partition by cycle_id, subject, school_id, dimension, referral_gap < 0
                                     order by referral_gap, value) end as rk
                          from identification_audit where referral_gap is not null and value <> 'ALL') as ranked
                    where identification_audit.cycle_id = ranked.cycle_id and identification_audit.subject = ranked.subject
                      and identification_audit.school_id = ranked.school_id
                      and identification_audit.dimension = ranked.dimension and identification_audit.value = ranked.value""",)),
    # the state-test population (its own quantities); only all_students forms lines: the tutored
    # and comparison groups are matched within each row's cell, so their rows do not add up
    Table("accountability_alignment", "scope_value", "dimension", "value",
          {c: "acc_" + c[2:] for c in ("n_students", "n_prior_tested", "n_prior_proficient", "n_current_tested",
                                       "n_current_proficient", "n_both_tested", "n_level_up", "n_bubble",
                                       "n_bubble_served", "n_bubble_current", "n_bubble_to_proficient",
                                       "n_screener_tested", "n_screener_meets")},
          where="group_name = 'all_students' and scope_type in ('school', 'district')",
          derived={"pct_prior_proficient": ("n_prior_proficient", "n_prior_tested"),
                   "pct_current_proficient": ("n_current_proficient", "n_current_tested"),
                   "pct_level_up": ("n_level_up", "n_both_tested"),
                   "pct_bubble_to_proficient": ("n_bubble_to_proficient", "n_bubble_current"),
                   "pct_screener_proficient": ("n_screener_meets", "n_screener_tested"),
                   "pct_bubble_served": ("n_bubble_served", "n_bubble")}),
    # one quantity per checkpoint × metric: schools add up to the district, and so do grades
    Table("checkpoint_30_60_90", "case when scope_type = 'school' then scope_value else 'ALL' end",
          "'grade'", "case when scope_type = 'grade' then scope_value else 'ALL' end",
          {"n": "'checkpoint:' || checkpoint_day || ':' || metric"},
          where="scope_type in ('school', 'grade', 'district')", derived={"value": ("n",), "status": ("n",)}),
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
    # equations whose counts are all published and do not add up: the attack's model of the marts
    # is wrong there (a pipeline bug), so what it proves is void (names keys, never values)
    contradicted: list[str] = field(default_factory=list)


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
    if not use:
        return Result()
    _build_system(con, relation, use)
    res = _solve_system(con, min_n, tol)[0]
    res.contradicted = [eq for (eq,) in con.execute("""
        select e.eq from rc_eq as e left join rc_vars as v using (var) group by e.eq
        having bool_and(coalesce(v.known, false)) and abs(sum(e.coef * v.value)) > 0.5 order by e.eq""").fetchall()]
    return res


def _build_system(con, relation, use: list[Table]) -> None:
    """The attacker's equations (temp tables rc_cells_k: every published cell with its variable and
    value; rc_eq: equation × variable × coefficient; rc_vars: one row per variable, its value and
    whether it is known). Their shape depends only on which cells exist, not on which are withheld,
    so complete_suppression builds them once and then only marks variables unknown."""
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
               true as published,
               -- 0 an inner cell, 1 a district cell of one value, 2 a school's head count, 3 the district's
               max(case when r = 'ALL' and c = 'ALL' then 3 when c = 'ALL' then 2 when r = 'ALL' then 1 else 0 end) as totality
        from rc_cells_k group by var""")


def _solve_system(con, min_n: int | None, tol: float, cache: dict | None = None) -> tuple[Result, list[str]]:
    """Solve the equations of _build_system with the values rc_vars knows now."""
    res = Result()
    leaked: list[str] = []
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
    known = _solve(eqs, rhs, tol, cache)
    for v, value in known.items():
        if v in targets:
            m, c, w, cy = targets[v]
            res.recovered.append(Finding(m, c, w, cy))
            leaked.append(v)
        elif min_n is not None and 0.5 <= value < min_n - 0.5:
            # a count no mart publishes, but published counts pin it, and it is small
            qty, cy, subject, r, dim, c = v.split("|", 5)
            res.exposed.append(Finding("(implied)", qty, " / ".join((cy, subject, r, dim, c)), cy))
            leaked.append(v)
    return res, leaked


@dataclass
class CompletionResult:
    """What complete_suppression withheld: counts and cell keys only, never a count's value."""
    rounds: int = 0
    quantities: int = 0                 # distinct quantities withheld (one may be published in several places)
    cells: int = 0                      # mart counts (row × column) set to NULL
    by_mart: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    final: Result = field(default_factory=Result)     # the last attack: nothing recovered or exposed


# What withholding a published count costs the reader (complete_suppression minimises the sum):
# the district's and a school's totals are what the report and dashboards are opened for, the tier
# pyramid's counts most of all; a subgroup's inner cell costs least. Among equals, a smaller count
# (log of its value) — the attacker learns least from a complement near 0 and the reader loses least.
_COST = """
    case when split_part(var, '|', 1) in ('tested', 'tier1', 'tier2', 'tier3') then 3.0 else 1.0 end
    * case totality when 3 then 10000.0 when 2 then 1000.0 when 1 then 100.0
                    else case when split_part(var, '|', 1) like 'checkpoint:%' then 5.0
                              when split_part(var, '|', 5) = 'grade' then 10.0 else 1.0 end end
    * (1.0 + ln(1.0 + coalesce(value, 0)) / 10.0)"""
_FREE = 1e-4        # cost of moving a quantity that is unknown already (keeps the pattern small)


def _protect(con, leaked: list[str], tol: float) -> list[str]:
    """The published quantities to withhold so that no count in ``leaked`` is determined any more.

    A count x_j is undetermined exactly when some vector z with A z = 0 over the unknowns (a
    direction the attacker cannot see: adding z to the true counts leaves every published count
    and every equation unchanged) has z_j ≠ 0. For each leaked count this finds such a z over the
    unknowns *and* the published counts, with z_j = 1, of least total cost Σ cost_k |z_k| over the
    published k (a linear programme, HiGHS via scipy): its published support S is the cheapest
    complement the programme finds, and after S is withheld, z proves x_j undetermined. Every
    quantity where z ≠ 0 (other leaked counts, S itself) is then undetermined too, and withholding
    more never determines anything, so those are skipped and later programmes reuse S at no cost.
    The programme looks at the count's neighbourhood first (quantities within a few equations,
    every equation touching them held exactly, the rest fixed at 0) and widens it until feasible.

    This is the textbook complementary-suppression model (a suppression pattern protects a cell
    when a feasible "shift" of the table moves it) without bounds; the cost makes head counts the
    last resort, where the greedy rule it replaces withheld them first on small districts."""
    members: dict[str, list[tuple[str, float]]] = {}
    of_var: dict[str, list[str]] = {}
    for eq, var, coef in con.execute("select eq, var, coef from rc_eq").fetchall():
        members.setdefault(eq, []).append((var, float(coef)))
        of_var.setdefault(var, []).append(eq)
    cost = {v: (float(c) if k else _FREE) for v, k, c in con.execute(
        f"select var, known, {_COST} from rc_vars").fetchall()}
    protected: set[str] = set()
    withheld: list[str] = []
    for j in sorted(leaked):
        if j in protected:
            continue
        z = None
        seen, eqs_in, frontier, radius = {j}, set(), [j], 0
        while z is None:
            grown = set()
            for v in frontier:          # every equation of a quantity in the neighbourhood holds
                for e in of_var.get(v, ()):
                    if e not in eqs_in:
                        eqs_in.add(e)
                        grown.update(u for u, _ in members[e] if u not in seen)
            # within one equation of the count no shift exists (the count's own equations'
            # other members have equations of their own, a rectangle's corner is two away)
            if radius >= 2 or not grown:
                z = _shift(j, seen, eqs_in, members, cost, tol, whole=not grown)
            seen |= grown
            frontier, radius = grown, radius + 1
        for v, value in z.items():
            protected.add(v)
            if cost.get(v, _FREE) > _FREE:
                withheld.append(v)
                cost[v] = _FREE
    return withheld


def _shift(j: str, seen: set[str], eqs_in: set[str], members: dict, cost: dict, tol: float, whole: bool):
    """The least-cost z over the quantities ``seen`` with z_j = 1 and every equation of ``eqs_in``
    held (quantities outside ``seen`` fixed at 0), as {quantity: z}; None if there is none yet.
    ``whole``: ``seen`` is closed under the equations, so there is no wider neighbourhood to try."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix
    order = sorted(seen)
    idx = {v: i for i, v in enumerate(order)}
    n = len(order)
    rows, cols, vals = [], [], []
    for r, e in enumerate(sorted(eqs_in)):
        for v, coef in members[e]:
            if v in idx:            # members outside the neighbourhood are 0
                rows += [r, r]
                cols += [idx[v], n + idx[v]]
                vals += [coef, -coef]
    a = csr_matrix((vals, (rows, cols)), shape=(len(eqs_in), 2 * n))
    c = np.array([cost.get(v, _FREE) for v in order] * 2)
    bounds = [(0, None)] * (2 * n)
    bounds[idx[j]] = (1, 1)
    bounds[n + idx[j]] = (0, 0)
    res = linprog(c, A_eq=a, b_eq=np.zeros(len(eqs_in)), bounds=bounds, method="highs")
    if res.status == 2:             # infeasible: the count is pinned within this neighbourhood
        if whole:
            raise RuntimeError("complementary suppression: a leaked count is determined even with every count "
                               "of its equations withheld; report it as a pipeline bug")
        return None
    if res.status != 0:
        raise RuntimeError(f"complementary suppression: the linear programme failed ({res.message})")
    x = res.x[:n] - res.x[n:]
    return {order[i]: float(x[i]) for i in np.flatnonzero(np.abs(x) > max(tol, 1e-7))}


def complete_suppression(con, min_n: int, tables: tuple[Table, ...] = TABLES, present: set[str] | None = None,
                         max_rounds: int = 20, tol: float = 1e-9) -> CompletionResult:
    """Complementary suppression by the attacker itself (DESIGN §9): withhold published counts of
    the marts (tables in ``con``, updated in place) until ``check_recoverability`` recovers no
    withheld count and finds no small count implied by subtraction.

    A round runs the attack; ``_protect`` then picks, for every recovered count and every exposed
    implied count, the cheapest set of published counts whose withholding leaves it undetermined
    (a least-cost shift of the marts that moves it, _COST: subgroup cells before grade cells
    before any school's or the district's head count), and withholds each chosen *quantity*
    wherever it is published (every dimension's ALL row, the same population in
    equity_by_subgroup and identification_audit…): the count becomes NULL and its row
    ``suppressed = true``. At the end every value computed from a withheld count is set NULL
    (``Table.derived`` / ``line_derived``) and ranks are recomputed over what is left
    (``Table.after``). The cell keys live in temp tables; the marts are updated set-based in SQL.

    Why it holds: each chosen set comes with a shift z (A z = 0, z ≠ 0 at the leaked count) over
    what is then unknown, so the count is undetermined; withholding more only removes known values,
    so nothing undetermined becomes determined, and every newly withheld count lies on its own
    shift. One round therefore leaves nothing for the exact attack; the loop runs the attack again
    and ends only on a round where it recovers and exposes nothing, so the result holds by
    construction whatever the numerics. Gate 2 re-runs the same attack, independently, on the
    built marts before anything is published. Withheld counts may be 0 or ≥ min_n (complements);
    no count is ever published that was not before."""
    import time
    use = [t for t in tables if present is None or t.mart in present]
    out = CompletionResult()
    if not use:
        return out
    start = time.perf_counter()
    by_name = {t.mart: t for t in use}
    cache: dict = {}
    _build_system(con, lambda m: m, use)
    con.execute("""create or replace temp table rc_withhold_all (w_mart varchar, w_col varchar, w_qty varchar,
                   w_cycle varchar, w_subject varchar, w_r varchar, w_dim varchar, w_c varchar)""")
    while True:
        res, leaked = _solve_system(con, min_n, tol, cache)
        out.final = res
        if not leaked:
            break
        if out.rounds >= max_rounds:
            raise RuntimeError(f"complementary suppression did not settle in {max_rounds} rounds "
                               f"({len(leaked)} counts still leak); report it as a pipeline bug")
        out.rounds += 1
        chosen = _protect(con, leaked, tol)
        con.execute("create or replace temp table rc_chosen as select unnest(?) as var", [chosen])
        out.quantities += len(chosen)
        # the chosen quantities become unknowns of the same equations (what a new attack on the
        # updated marts would build); the marts themselves are updated once, after the last round
        con.execute("""
            insert into rc_withhold_all
            select distinct k.mart, k.column_name, k.qty, k.cycle_id, k.subject, k.r, k.dim, k.c
            from rc_cells_k as k inner join rc_chosen using (var) where k.value is not null""")
        con.execute("update rc_cells_k set value = null where var in (select var from rc_chosen)")
        con.execute("update rc_vars set value = null, known = false where var in (select var from rc_chosen)")
    for mart, column in con.execute("select distinct w_mart, w_col from rc_withhold_all order by all").fetchall():
        t = by_name[mart]
        n = con.execute(f"""
            update {mart} set {column} = null, suppressed = true
            from (select distinct * from rc_withhold_all where w_mart = ? and w_col = ?) as w
            where ({t.where}) and cast(cycle_id as varchar) = w.w_cycle and cast(subject as varchar) = w.w_subject
              and coalesce(cast({t.row} as varchar), '(none)') = w.w_r and cast({t.dimension} as varchar) = w.w_dim
              and coalesce(cast({t.col} as varchar), '(none)') = w.w_c and {_qty(t.measures[column])} = w.w_qty
              and {column} is not null""", [mart, column]).fetchone()[0]
        out.cells += int(n)
        out.by_mart[mart] = out.by_mart.get(mart, 0) + int(n)
    for mart in out.by_mart:
        t = by_name[mart]
        for column, sources in t.derived.items():
            con.execute(f"update {mart} set {column} = null where {column} is not null and ({t.where}) and ("
                        + " or ".join(f"{s} is null" for s in sources) + ")")
        for column, sources in t.line_derived.items():
            same_line = " and ".join(f"tot.{k} = {mart}.{k}" for k in t.line_keys)
            con.execute(f"update {mart} set {column} = null where {column} is not null and exists ("
                        f"select 1 from {mart} as tot where {same_line} and ({t.line_total}) and ("
                        + " or ".join(f"tot.{s} is null" for s in sources) + "))")
        for statement in t.after:
            con.execute(statement)
    for name in ("rc_chosen", "rc_withhold_all"):
        con.execute(f"drop table if exists {name}")
    out.seconds = time.perf_counter() - start
    return out


def _solve(eqs: dict[str, list[tuple[str, float]]], rhs: dict[str, float], tol: float,
           cache: dict | None = None) -> dict[str, float]:
    """Every unknown that ``Σ coef·x = rhs`` (one per equation) determines, with its value.

    Exact, and fast on district-sized systems: (0) an equation with one unknown left determines it
    (substitute and repeat); (1) an unknown occurring in a single equation leaves
    that equation no power over the others, so both are set aside (repeatedly) and the unknown is
    determined at the end iff the rest of its equation is; (2) the remaining core is split into
    connected components and each is decided by its null space (pivoted QR); ``cache`` keeps each
    component's answer by its equations, so rounds of complete_suppression redo only what changed."""
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
        eq_ids.sort()
        key = None
        if cache is not None:     # a component no withheld count touched since the last round
            key = tuple((e, rhs.get(e, 0.0), tuple(sorted(eqs[e].items()))) for e in eq_ids)
            if key in cache:
                known.update(cache[key])
                continue
        unknowns = sorted({v for e in eq_ids for v in eqs[e]})
        idx = {v: i for i, v in enumerate(unknowns)}
        a = np.zeros((len(eq_ids), len(unknowns)))
        b = np.array([rhs.get(e, 0.0) for e in eq_ids])
        for i, e in enumerate(eq_ids):
            for v, coef in eqs[e].items():
                a[i, idx[v]] += coef
        determined = _determined(a, tol)
        found: dict[str, float] = {}
        if determined.any():
            from scipy.linalg import lstsq
            values = lstsq(a, b, lapack_driver="gelsy")[0]     # pivoted QR, like _determined
            found = {v: float(values[idx[v]]) for v in unknowns if determined[idx[v]]}
        known.update(found)
        if cache is not None:
            cache[key] = found
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
    r, piv = qr(a, mode="r", pivoting=True)          # R only: Q is never used
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
