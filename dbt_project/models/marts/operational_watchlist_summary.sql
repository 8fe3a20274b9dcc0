-- operational_watchlist_summary: one row per cycle (or as-of week) × item × subject (every item, 0 when none) of
-- operational_watchlist (aggregate: counts only, no names, IDs or keys; DESIGN §6, §9).
--   n_students  students listed (student items); withheld (NULL, suppressed = true) when 0 < n < min_n
--   n_groups    groups listed (group items); n_tutors tutors listed; n_schools schools listed
--   n_schools_over_20pct  no_show_school: schools whose no-show rate exceeds 0.20 (schools with
--               fewer than min_n students with a dosage row are not counted)
-- Each item × subject is its own count (items are not additive, and there is no total row), so a
-- withheld count cannot be recovered from a sibling.
{%- set items = [('no_show_school', ['reading', 'math', 'ALL']), ('group_missing_dosage', ['reading', 'math']),
                 ('group_meeting_dosage', ['reading', 'math']), ('plateauing_student', ['reading', 'math']),
                 ('tutor_over_caseload', ['ALL']), ('tier3_not_served', ['reading', 'math']),
                 ('exit_overdue', ['reading', 'math'])] %}
with watchlist as (
    select * from {{ ref('operational_watchlist') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

-- every item × subject gets a row, so "none listed" reads as 0, not as a missing line
item_subjects as (
    {%- for item, subjects in items %}{% set outer = loop %}{% for subject in subjects %}
    select '{{ item }}' as item, '{{ subject }}' as subject{% if not (outer.last and loop.last) %} union all{% endif %}
    {%- endfor %}{% endfor %}
),

counts as (
    select
        cycle_id,
        as_of_date,
        item,
        subject,
        count(distinct student_id) as n_students,
        count(distinct group_id) as n_groups,
        count(distinct tutor_id) as n_tutors,
        count(distinct school_id) as n_schools,
        sum(case when item = 'no_show_school' and item_value > 0.20 and item_n >= {{ var('min_n') }}
                 then 1 else 0 end) as n_schools_over_20pct,
        max(case when in_priority then 1 else 0 end) as any_priority
    from watchlist
    group by cycle_id, as_of_date, item, subject
),

completed as (
    select
        {{ var_string('cycle_id') }} as cycle_id,
        {{ var_date('as_of_date') }} as as_of_date,
        item_subjects.item,
        item_subjects.subject,
        coalesce(counts.n_students, 0) as n_students,
        coalesce(counts.n_groups, 0) as n_groups,
        coalesce(counts.n_tutors, 0) as n_tutors,
        coalesce(counts.n_schools, 0) as n_schools,
        coalesce(counts.n_schools_over_20pct, 0) as n_schools_over_20pct,
        coalesce(counts.any_priority, 0) as any_priority
    from item_subjects
    left join counts on item_subjects.item = counts.item and item_subjects.subject = counts.subject
),

final as (
    select
        cast(cycle_id as {{ dbt.type_string() }}) as cycle_id,
        cast(as_of_date as date) as as_of_date,
        cast(item as {{ dbt.type_string() }}) as item,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(case when item in ('plateauing_student', 'tier3_not_served', 'exit_overdue')
                       and not {{ is_small_count('n_students') }} then n_students
                  when item in ('plateauing_student', 'tier3_not_served', 'exit_overdue') then null
                  else 0 end as {{ dbt.type_int() }}) as n_students,
        cast(case when item like 'group_%' then n_groups else 0 end as {{ dbt.type_int() }}) as n_groups,
        cast(case when item in ('tutor_over_caseload', 'group_missing_dosage', 'group_meeting_dosage')
                  then n_tutors else 0 end as {{ dbt.type_int() }}) as n_tutors,
        cast(n_schools as {{ dbt.type_int() }}) as n_schools,
        cast(n_schools_over_20pct as {{ dbt.type_int() }}) as n_schools_over_20pct,
        cast(any_priority = 1 as {{ dbt.type_boolean() }}) as in_priority,
        cast(item in ('plateauing_student', 'tier3_not_served', 'exit_overdue') and {{ is_small_count('n_students') }}
             as {{ dbt.type_boolean() }}) as suppressed
    from completed
)

select * from final
