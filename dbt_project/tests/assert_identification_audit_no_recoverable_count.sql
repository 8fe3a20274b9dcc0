-- What is this test? In identification_audit every withheld count (NULL) must stay unrecoverable:
-- no school line (a school's values with its ALL row) or value line (a value's schools with the
-- district row) may hold exactly one withheld cell of a count, and no row may withhold exactly one of
-- n_referred, n_referred_with_need, n_referred_without_need (the first is the sum of the others).
-- When is this important to resolve? Always: a recoverable small count is a privacy failure
-- (DESIGN §9) and blocks publication at gate 2.
-- How to resolve? Raise `rounds`/`passes` of suppress_counts in identification_audit.sql, or report
-- the pattern as a bug. Returns the failing lines' keys and the count's name only.
{%- set measures = ['n_students', 'n_tested', 'n_need', 'n_tier3', 'n_tier3_not_served', 'n_referred',
                    'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need'] %}
with cells as (
    select * from {{ ref('identification_audit') }}
),

lines as (
    {%- for m in measures %}
    select cycle_id, subject, dimension, 'school' as line_type, school_id as line_value, '{{ m }}' as measure,
           sum(case when {{ m }} is null then 1 else 0 end) as n_withheld
    from cells group by cycle_id, subject, dimension, school_id
    union all
    select cycle_id, subject, dimension, 'value', value, '{{ m }}',
           sum(case when {{ m }} is null then 1 else 0 end)
    from cells group by cycle_id, subject, dimension, value
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

rows_within as (
    select cycle_id, subject, dimension, 'row' as line_type, school_id || '/' || value as line_value,
           'n_referred' as measure,
           (case when n_referred is null then 1 else 0 end
            + case when n_referred_with_need is null then 1 else 0 end
            + case when n_referred_without_need is null then 1 else 0 end) as n_withheld
    from cells
)

select * from lines where n_withheld = 1
union all
select * from rows_within where n_withheld = 1
