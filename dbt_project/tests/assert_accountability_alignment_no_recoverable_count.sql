-- What is this test? In accountability_alignment no school line (a school's values with its ALL
-- row) or value line (a value's schools with the district row) of one group may hold exactly one
-- withheld (NULL) count — that count could be recovered by subtraction from the line's total. A line
-- of a single cell (a group matched in the district but at no school) has nothing to subtract.
-- When is this important to resolve? Always: a privacy failure (DESIGN §9); it blocks gate 2.
-- How to resolve? Raise `rounds`/`passes` of suppress_counts in accountability_alignment.sql, or
-- report the pattern as a bug. Returns the failing lines' keys and the count's name only.
{%- set measures = ['n_students', 'n_prior_tested', 'n_prior_proficient', 'n_current_tested', 'n_current_proficient',
                    'n_both_tested', 'n_level_up', 'n_bubble', 'n_bubble_served', 'n_bubble_current',
                    'n_bubble_to_proficient', 'n_screener_tested', 'n_screener_meets'] %}
with cells as (
    select * from {{ ref('accountability_alignment') }}
),

lines as (
    {%- for m in measures %}
    select cycle_id, subject, group_name, dimension, 'school' as line_type, scope_value as line_value,
           '{{ m }}' as measure, sum(case when {{ m }} is null then 1 else 0 end) as n_withheld, count(*) as n_cells
    from cells group by cycle_id, subject, group_name, dimension, scope_value
    union all
    select cycle_id, subject, group_name, dimension, 'value', value, '{{ m }}',
           sum(case when {{ m }} is null then 1 else 0 end), count(*)
    from cells group by cycle_id, subject, group_name, dimension, value
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
)

select * from lines where n_withheld = 1 and n_cells > 1
