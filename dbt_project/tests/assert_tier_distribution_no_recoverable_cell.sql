-- What is this test? Every line of tier_distribution — a school's grades with its ALL row, or a
-- grade's schools with its ALL row — must hold, for each count, either no withheld (NULL) value or at
-- least two: a line with exactly one gives that count away by subtraction from the line's total.
-- (Gate 2's attacker, expectations/recoverability.py, also tries the cell's own counts and the
-- subgroup marts.)
-- When is this important to resolve? Always: it is a privacy failure (DESIGN §9) and blocks the
-- publication at gate 2.
-- How to resolve? Report the pattern as a bug of int_subgroup_suppression (the shared suppression
-- did not converge on this table). Returns the failing lines' keys and the count's name only.
{%- set measures = ['n_students', 'n_tier1', 'n_tier2', 'n_tier3'] %}
with cells as (
    select * from {{ ref('tier_distribution') }}
),

lines as (
    {%- for m in measures %}
    select cycle_id, subject, 'school' as line_type, school_id as line_value, '{{ m }}' as measure,
           sum(case when {{ m }} is null then 1 else 0 end) as n_withheld
    from cells group by cycle_id, subject, school_id
    union all
    select cycle_id, subject, 'grade', grade, '{{ m }}',
           sum(case when {{ m }} is null then 1 else 0 end)
    from cells group by cycle_id, subject, grade
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
)

select * from lines where n_withheld = 1
