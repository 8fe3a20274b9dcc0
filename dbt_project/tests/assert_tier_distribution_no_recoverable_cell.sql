-- What is this test? Every line of tier_distribution — a school's grades with its ALL row, or a
-- grade's schools with its ALL row — must hold either no suppressed cell or at least two. A line
-- with exactly one suppressed cell gives that cell away by subtraction from the line's total.
-- When is this important to resolve? Always: it is a privacy failure (DESIGN §9) and blocks the
-- publication at gate 2.
-- How to resolve? Raise the `passes` of complementary_suppression in tier_distribution.sql (the
-- heuristic did not converge on this table), or report the pattern as a bug. Returns one row per
-- failing line with its counts only — never student values.
with cells as (
    select * from {{ ref('tier_distribution') }}
),

school_lines as (
    select cycle_id, subject, 'school' as line_type, school_id as line_value,
           sum(case when suppressed then 1 else 0 end) as n_suppressed, count(*) as n_cells
    from cells
    group by cycle_id, subject, school_id
),

grade_lines as (
    select cycle_id, subject, 'grade' as line_type, grade as line_value,
           sum(case when suppressed then 1 else 0 end) as n_suppressed, count(*) as n_cells
    from cells
    group by cycle_id, subject, grade
)

select * from school_lines where n_suppressed = 1
union all
select * from grade_lines where n_suppressed = 1
