-- recommended_groups: one row per cycle × school × grade × subject × recommended group × student
-- (restricted; DESIGN §6, §7 exit and regrouping). Tier 2/3 students and students enrolled in the
-- program at as_of, grouped by priority skill, ordered by that skill's level then overall scale
-- score, split into ⌈n / max_group_size⌉ groups whose sizes differ by at most one
-- (int_group_recommendations). group_change compares with the group the same rules recommend from
-- the data as of the previous cycle's end (groups follow the data): new, same or changed; NULL in the
-- first cycle.
with recommendations as (
    select * from {{ ref('int_group_recommendations') }}
),

students as (
    select * from {{ ref('int_students') }}
),

current_groups as (
    select * from recommendations where point = 'current'
),

prior_groups as (
    select * from recommendations where point = 'prior'
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(current_groups.school_id as {{ dbt.type_string() }}) as school_id,
        cast(current_groups.grade as {{ dbt.type_string() }}) as grade,
        cast(current_groups.subject as {{ dbt.type_string() }}) as subject,
        cast(current_groups.group_id as {{ dbt.type_string() }}) as group_id,
        cast(current_groups.priority_skill as {{ dbt.type_string() }}) as priority_skill,
        cast(current_groups.group_number as {{ dbt.type_int() }}) as group_number,
        cast(current_groups.group_size as {{ dbt.type_int() }}) as group_size,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(current_groups.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(current_groups.tier as {{ dbt.type_int() }}) as tier,
        cast(current_groups.enrolled as {{ dbt.type_boolean() }}) as enrolled,
        cast(current_groups.priority_level as {{ dbt.type_int() }}) as priority_level,
        cast(current_groups.scale_score as {{ type_double() }}) as scale_score,
        cast(current_groups.position_in_skill as {{ dbt.type_int() }}) as position_in_skill,
        cast(prior_groups.group_id as {{ dbt.type_string() }}) as previous_group_id,
        {% if has_previous_cycle() %}
        cast(case
            when prior_groups.group_id is null then 'new'
            when prior_groups.group_id = current_groups.group_id then 'same'
            else 'changed'
        end as {{ dbt.type_string() }}) as group_change,
        cast(prior_groups.group_id is null or prior_groups.group_id <> current_groups.group_id
             as {{ dbt.type_boolean() }}) as group_changed
        {% else %}
        -- the first cycle has no previous recommendation
        cast(null as {{ dbt.type_string() }}) as group_change,
        cast(null as {{ dbt.type_boolean() }}) as group_changed
        {% endif %}
    from current_groups
    left join students on current_groups.student_id = students.student_id
    left join prior_groups
        on current_groups.student_id = prior_groups.student_id
       and current_groups.subject = prior_groups.subject
)

select * from final
