"""Complementary suppression is safe against an attacker who knows how the marts are built
(DESIGN §9): hypothesis builds random small districts — few students, many cells near min_n — runs
the real model SQL of equity_by_subgroup, identification_audit and tier_distribution on them in
DuckDB (rendered from the dbt project's files with its own suppression macros; only dbt's adapter
plumbing is stubbed), and attacks the result with the same check gate 2 runs (expectations/recoverability.py):
margins, each cell's counts, other grains (school vs ALL, grade vs ALL) and the other marts. No
withheld count may be recovered and no small count may be implied by subtraction."""
from __future__ import annotations

import re

import duckdb
import jinja2
import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from expectations.recoverability import check_recoverability, complete_suppression

DBT = ROOT / "dbt_project"
DIMENSIONS = ["grade", "ell"]


def _macro(path, name: str) -> str:
    text = (DBT / path).read_text()
    m = re.search(r"\{%-?\s*macro " + name + r"\(.*?\{%-?\s*endmacro\s*-?%\}", text, flags=re.S)
    assert m, (path, name)
    return m.group(0)


class _Dbt:
    """The few dbt cross-database macros the marts call, as DuckDB renders them."""
    @staticmethod
    def type_string():
        return "varchar"

    @staticmethod
    def type_int():
        return "integer"

    @staticmethod
    def type_boolean():
        return "boolean"


def render_model(path: str, min_n: int, refs: dict[str, str]) -> str:
    """The SQL of a dbt model rendered with the project's own suppression and helper macros (only
    dbt's adapter plumbing is stubbed), reading ``refs`` instead of ``ref(...)``."""
    macros = "\n".join([
        (DBT / "macros" / "suppression.sql").read_text(),
        _macro("macros/helpers.sql", "safe_ratio"),
        _macro("macros/helpers.sql", "is_small_count"),
        _macro("macros/subgroups.sql", "expand_subgroups"),
        # engines.sql's distribute_by as DuckDB renders it (nothing: Spark only)
        _macro("macros/engines.sql", "default__distribute_by").replace("default__distribute_by", "distribute_by"),
    ])
    model = (DBT / "models" / path).read_text()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    dims = {"grade": "coalesce(grade, 'unknown')",
            "ell": "case when ell then 'true' when not ell then 'false' else 'unknown' end"}
    variables = {**yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"],
                 "min_n": min_n, "subgroup_dimensions": DIMENSIONS}
    return env.from_string(macros + "\n" + model).render(
        var=lambda k: variables[k], ref=lambda m: refs[m], dbt=_Dbt, type_double=lambda: "double",
        var_string=lambda k: "'T'", var_date=lambda k: "date '2026-01-01'",
        subgroup_dimensions=lambda: [(d, dims[d]) for d in DIMENSIONS])


EQUITY = ["n_students", "n_tested", "n_need", "n_served", "n_served_need", "n_served_in_cycle", "n_adequate"]
IDENTIFICATION = ["n_students", "n_tested", "n_need", "n_tier3", "n_tier3_not_served", "n_referred",
                  "n_referred_with_need", "n_referred_without_need", "n_teacher_referred", "n_hidden_need"]
TIERS = ["n_students", "n_tier1", "n_tier2", "n_tier3"]


def publish(con, min_n: int) -> None:
    """equity_by_subgroup, identification_audit and tier_distribution, built by their own model SQL
    from the table `population` (int_equity_students' columns)."""
    con.execute("create or replace table student_tiers as select 'T' as cycle_id, subject, school_id, grade, tier "
                "from population where tier is not null")
    con.execute("create or replace table impact_estimates as select 'T' as cycle_id, 'itt' as group_name, "
                "'reading' as subject, 'district' as scope_type, 'ALL' as scope_value, 0.0 as effect_sd where false")
    refs = {"int_equity_students": "population", "impact_estimates": "impact_estimates",
            "student_tiers": "student_tiers"}
    for mart in ("equity_by_subgroup", "identification_audit", "tier_distribution"):
        sql = render_model(f"marts/{mart}.sql", min_n, refs)
        con.execute(f"create or replace table {mart} as {sql}")


students = st.lists(
    st.tuples(st.integers(0, 3),                       # school
              st.sampled_from(["3", "4", "5"]),        # grade
              st.sampled_from([True, False, None]),    # ell
              st.sampled_from([None, 1, 1, 2, 3]),     # tier (None = not tested)
              st.booleans(),                           # served this year
              st.booleans(),                           # served this cycle (when served)
              st.booleans(),                           # adequate dosage
              st.booleans(),                           # referred
              st.booleans()),                          # teacher referred (when referred)
    min_size=1, max_size=90)


def population(rows) -> pa.Table:
    cols = {k: [] for k in ("student_id", "subject", "school_id", "grade", "ell", "tier", "tested", "need", "tier3",
                            "hidden_need", "served", "served_in_cycle", "adequate", "in_school_share",
                            "served_growth_z", "referred", "teacher_referred")}
    for i, (school, grade, ell, tier, served, in_cycle, adequate, referred, by_teacher) in enumerate(rows):
        values = {"student_id": f"s{i}", "subject": "reading", "school_id": f"sch{school}", "grade": grade, "ell": ell,
                  "tier": tier, "tested": tier is not None, "need": tier in (2, 3), "tier3": tier == 3,
                  "hidden_need": tier == 1 and referred, "served": served, "served_in_cycle": served and in_cycle,
                  "adequate": served and in_cycle and adequate, "in_school_share": 0.5 if served and in_cycle else None,
                  "served_growth_z": 0.1 if served and tier is not None else None, "referred": referred,
                  "teacher_referred": referred and by_teacher}
        for k, v in values.items():
            cols[k].append(v)
    return pa.table(cols)


MARTS = {"equity_by_subgroup", "identification_audit", "tier_distribution"}
# each value column and the counts it is computed from (the row's own; representation_index and
# referral_gap also use their line's ALL row, checked below)
DERIVED = {"equity_by_subgroup": {"need_rate": ("n_need", "n_tested"),
                                  "service_rate_among_need": ("n_served_need", "n_need"),
                                  "representation_index": ("n_served", "n_need"),
                                  "adequate_dosage_pct": ("n_adequate", "n_served_in_cycle")},
           "identification_audit": {"referral_rate_among_need": ("n_referred_with_need", "n_need"),
                                    "referral_gap": ("n_referred_with_need", "n_need")},
           "tier_distribution": {"pct_tier1": ("n_tier1", "n_students"), "pct_tier2": ("n_tier2", "n_students"),
                                 "pct_tier3": ("n_tier3", "n_students"), "pyramid_shape": ("n_tier1", "n_students")}}


def assert_published_safely(con, min_n: int) -> None:
    """No count 0 < n < min_n, no value outliving a count it is computed from, a withheld count's
    row flagged, and nothing the attacker can recover or read by subtraction."""
    for mart, columns in (("equity_by_subgroup", EQUITY), ("identification_audit", IDENTIFICATION),
                          ("tier_distribution", TIERS)):
        small = con.execute(f"select count(*) from {mart} where "
                            + " or ".join(f"({c} > 0 and {c} < {min_n})" for c in columns)).fetchone()[0]
        assert small == 0, mart
        unflagged = con.execute(f"select count(*) from {mart} where not suppressed and ("
                                + " or ".join(f"{c} is null" for c in columns) + ")").fetchone()[0]
        assert unflagged == 0, mart
        for value, sources in DERIVED[mart].items():
            orphans = con.execute(f"select count(*) from {mart} where {value} is not null and ("
                                  + " or ".join(f"{c} is null" for c in sources) + ")").fetchone()[0]
            assert orphans == 0, (mart, value)
    for mart, value, keys, sources in (
            ("equity_by_subgroup", "representation_index", "subject, scope_value, dimension", ("n_served", "n_need")),
            ("identification_audit", "referral_gap", "subject, school_id, dimension", ("n_referred_with_need", "n_need"))):
        orphans = con.execute(f"select count(*) from {mart} as m inner join {mart} as tot using ({keys}) "
                              f"where tot.value = 'ALL' and m.{value} is not null and ("
                              + " or ".join(f"tot.{c} is null" for c in sources) + ")").fetchone()[0]
        assert orphans == 0, (mart, value)
    result = check_recoverability(con, min_n=min_n, present=MARTS)
    assert result.recovered == [] and result.exposed == []
    assert result.contradicted == []        # every line of the marts adds up as the attack assumes


@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=students, min_n=st.integers(3, 10))
def test_no_withheld_count_is_recoverable_from_the_subgroup_marts(rows, min_n):
    """The marts as dbt builds them, then the completion pass the cycle runs before gate 2."""
    con = duckdb.connect()
    con.register("population_arrow", population(rows))
    con.execute("create table population as select * from population_arrow")
    publish(con, min_n)
    before = {m: con.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS}
    done = complete_suppression(con, min_n, present=MARTS)
    assert done.final.recovered == [] and done.final.exposed == []
    assert {m: con.execute(f"select count(*) from {m}").fetchone()[0] for m in MARTS} == before   # no row lost
    assert_published_safely(con, min_n)
    con.close()


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=students.filter(lambda r: len(r) <= 30), min_n=st.integers(3, 10))
def test_the_completion_pass_withholds_nothing_when_no_cell_is_small(rows, min_n):
    """Every student profile min_n times: every count, published or implied, is 0 or ≥ min_n, so
    dbt withholds nothing and neither may the completion pass (it does not over-suppress)."""
    con = duckdb.connect()
    con.register("population_arrow", population(rows * min_n))
    con.execute("create table population as select * from population_arrow")
    publish(con, min_n)
    snapshot = {m: con.execute(f"select * from {m} order by all").fetchall() for m in MARTS}
    done = complete_suppression(con, min_n, present=MARTS)
    assert (done.rounds, done.cells) == (0, 0)
    assert {m: con.execute(f"select * from {m} order by all").fetchall() for m in MARTS} == snapshot
    con.close()


def test_the_attack_recovers_what_naive_suppression_leaves():
    """The check can fail: withholding only the small cells of a school line (no complement) lets
    the attacker subtract them back, and a cell whose tested and need counts are published implies
    its Tier 1 count."""
    con = duckdb.connect()
    con.execute("""create table tier_distribution as select * from (values
        ('T', 'reading', 'A', '3', 12, 10, null, null), ('T', 'reading', 'A', '4', null, null, null, 0),
        ('T', 'reading', 'A', 'ALL', 14, 11, null, null), ('T', 'reading', 'ALL', '3', 12, 10, null, null),
        ('T', 'reading', 'ALL', '4', null, null, null, 0), ('T', 'reading', 'ALL', 'ALL', 14, 11, null, null)
    ) t(cycle_id, subject, school_id, grade, n_students, n_tier1, n_tier2, n_tier3)""")
    r = check_recoverability(con, present={"tier_distribution"}, min_n=10)
    got = {(f.column, f.where) for f in r.recovered}
    # A/4's n_students = 14 − 12 and its Tier 1 = 11 − 10 are recovered
    assert ("n_students", "T / reading / A / grade / 4") in got and ("n_tier1", "T / reading / A / grade / 4") in got
    con.execute("""create table equity_by_subgroup as select * from (values
        ('T', 'reading', 'school', 'A', 'ell', 'true', 30, 25, 20, 0, 0, 0, 0)
    ) t(cycle_id, subject, scope_type, scope_value, dimension, value, n_students, n_tested, n_need, n_served,
        n_served_need, n_served_in_cycle, n_adequate)""")
    r = check_recoverability(con, present={"equity_by_subgroup"}, min_n=10)
    assert {(f.column, f.where) for f in r.exposed} == {("tier1", "T / reading / A / ell / true"),
                                                       ("untested", "T / reading / A / ell / true")}
    con.close()


def test_the_completion_pass_withholds_inner_complements_with_their_derived_values():
    """One withheld cell (A/4) of a 2 × 2 table with margins: the pass withholds the other three
    inner cells — the classic rectangle — never a total, nulls their shares and shape, flags their
    rows, and leaves the attacker nothing."""
    con = duckdb.connect()
    con.execute("""create table tier_distribution as
        select *, 100.0 * n_tier1 / n_students as pct_tier1, 100.0 * n_tier2 / n_students as pct_tier2,
               100.0 * n_tier3 / n_students as pct_tier3, n_tier1 > 0 as tier1_in_band, n_tier2 > 0 as tier2_in_band,
               n_tier3 > 0 as tier3_in_band, case when n_tier1 is not null then 'inverted' end as pyramid_shape,
               n_students is null as suppressed
        from (values ('A', '3', 30, 10, 10, 10), ('A', '4', null, null, null, null), ('A', 'ALL', 42, 14, 14, 14),
                     ('B', '3', 40, 20, 10, 10), ('B', '4', 30, 10, 10, 10), ('B', 'ALL', 70, 30, 20, 20),
                     ('ALL', '3', 70, 30, 20, 20), ('ALL', '4', 42, 14, 14, 14), ('ALL', 'ALL', 112, 44, 34, 34))
             t(school_id, grade, n_students, n_tier1, n_tier2, n_tier3), (select 'T' as cycle_id, 'reading' as subject)""")
    assert len(check_recoverability(con, present={"tier_distribution"}, min_n=10).recovered) == 4
    done = complete_suppression(con, 10, present={"tier_distribution"})
    assert (done.cells, done.quantities, done.final.recovered, done.final.exposed) == (12, 12, [], [])
    rows = con.execute("select school_id, grade, n_students, n_tier1, n_tier2, n_tier3, pct_tier1, pct_tier2, pct_tier3, "
                       "tier1_in_band, pyramid_shape, suppressed from tier_distribution order by all").fetchall()
    withheld = {(r[0], r[1]) for r in rows if r[-1]}
    assert withheld == {("A", "3"), ("A", "4"), ("B", "3"), ("B", "4")}
    assert all(r[2:-1] == (None,) * 9 for r in rows if (r[0], r[1]) in withheld)
    assert all(None not in r for r in rows if (r[0], r[1]) not in withheld)
    assert check_recoverability(con, present={"tier_distribution"}, min_n=10).recovered == []
    con.close()


def test_gate2_reports_recoverable_counts_by_cell_keys_only():
    """Gate 2's check names the leaking cells by their keys and counts, never a count's value."""
    from expectations.gate2 import recoverability_check
    con = duckdb.connect()
    con.execute("""create table tier_distribution as select * from (values
        ('T', 'reading', 'A', '3', 12, 10, 1, 1), ('T', 'reading', 'A', '4', null, null, null, null),
        ('T', 'reading', 'A', 'ALL', 17, 13, 3, 1)
    ) t(cycle_id, subject, school_id, grade, n_students, n_tier1, n_tier2, n_tier3)""")
    r = recoverability_check(con, {"tier_distribution"}, 10)
    assert not r.success and r.failed_count == 4 + 3 and r.severity == "error"
    # A/4: its four counts; implied: need (= tested − Tier 1) of A/3, A/4 and A/ALL, all small
    assert "tier_distribution.n_students at T / reading / A / grade / 4" in r.message
    assert " 5 " not in r.message and "=5" not in r.message        # A/4's n_students (17 − 12) is not printed
    con.execute("update tier_distribution set n_students = null where grade = '3'")
    con.execute("update tier_distribution set n_tier1 = null, n_tier2 = null, n_tier3 = null")
    con.execute("update tier_distribution set n_students = null where grade = 'ALL'")
    r = recoverability_check(con, {"tier_distribution"}, 10)
    assert r.success, r.message
    con.close()


def test_gate2_refuses_marts_whose_lines_do_not_add_up():
    """The attack vouches for the marts only if their totals are the sums it assumes: a school's
    grades that do not add up to its ALL row (a mart changed shape) fail gate 2 instead of passing
    an attack on the wrong equations."""
    from expectations.gate2 import recoverability_check
    con = duckdb.connect()
    con.execute("""create table tier_distribution as select * from (values
        ('T', 'reading', 'A', '3', 40, 20, 10, 10), ('T', 'reading', 'A', '4', 30, 10, 10, 10),
        ('T', 'reading', 'A', 'ALL', 71, 30, 20, 21)
    ) t(cycle_id, subject, school_id, grade, n_students, n_tier1, n_tier2, n_tier3)""")
    r = recoverability_check(con, {"tier_distribution"}, 10)
    assert not r.success and r.failed_count == 2 and "do not add up" in r.message
    assert "row|tested|T|reading|A|grade" in r.message and "71" not in r.message
    con.execute("update tier_distribution set n_students = 70, n_tier3 = 20 where grade = 'ALL'")
    assert recoverability_check(con, {"tier_distribution"}, 10).success
    con.close()
