-- What is this test? In equity_by_subgroup no school line (a school's values with its ALL row) or
-- value line (a value's schools with the district row) may hold exactly one withheld (NULL) cell of
-- a count — that cell could be recovered by subtraction from the line's total.
-- When is this important to resolve? Always: a privacy failure (DESIGN §9); it blocks gate 2.
-- How to resolve? Raise `rounds`/`passes` of suppress_counts in equity_by_subgroup.sql, or report
-- the pattern as a bug. Returns the failing lines' keys and the count's name only.
{%- set measures = ['n_students', 'n_tested', 'n_need', 'n_served', 'n_served_need', 'n_served_in_cycle', 'n_adequate'] %}
with cells as (
    select * from {{ ref('equity_by_subgroup') }}
),

lines as (
    {%- for m in measures %}
    select cycle_id, subject, dimension, 'school' as line_type, scope_value as line_value, '{{ m }}' as measure,
           sum(case when {{ m }} is null then 1 else 0 end) as n_withheld
    from cells group by cycle_id, subject, dimension, scope_value
    union all
    select cycle_id, subject, dimension, 'value', value, '{{ m }}',
           sum(case when {{ m }} is null then 1 else 0 end)
    from cells group by cycle_id, subject, dimension, value
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
)

select * from lines where n_withheld = 1
