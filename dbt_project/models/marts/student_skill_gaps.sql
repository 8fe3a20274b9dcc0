-- student_skill_gaps: one row per student × subject × cycle × canonical skill, from the student's
-- latest screener domain results in the subject on or before as_of_date (latest test date with a
-- leveled skill; ties by vendor name). is_gap ⇔ domain level ≤ 2; is_priority marks the one skill
-- with the lowest level, ties broken by teaching order (foundations first; DESIGN §4.1, §6).
with skill_levels as (
    select * from {{ ref('int_skill_levels') }}
    where test_date <= {{ var_date('as_of_date') }}
),

students as (
    select * from {{ ref('int_students') }}
),

latest_test as (
    select student_id, subject, vendor, test_date from (
        select
            student_id, subject, vendor, test_date,
            row_number() over (partition by student_id, subject order by test_date desc, vendor) as test_rank
        from (select distinct student_id, subject, vendor, test_date from skill_levels) as tests
    ) as ranked
    where test_rank = 1
),

latest_levels as (
    select
        skill_levels.*,
        row_number() over (
            partition by skill_levels.student_id, skill_levels.subject
            order by skill_levels.domain_level, skill_levels.teaching_order
        ) as priority_rank
    from skill_levels
    inner join latest_test
        on skill_levels.student_id = latest_test.student_id
       and skill_levels.subject = latest_test.subject
       and skill_levels.vendor = latest_test.vendor
       and skill_levels.test_date = latest_test.test_date
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(latest_levels.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(students.grade as {{ dbt.type_string() }}) as grade,
        cast(latest_levels.subject as {{ dbt.type_string() }}) as subject,
        cast(latest_levels.skill as {{ dbt.type_string() }}) as skill,
        cast(latest_levels.teaching_order as {{ dbt.type_int() }}) as teaching_order,
        cast(latest_levels.vendor as {{ dbt.type_string() }}) as vendor,
        cast(latest_levels.test_date as date) as test_date,
        cast(latest_levels.domain as {{ dbt.type_string() }}) as domain,
        cast(latest_levels.domain_score as {{ type_double() }}) as domain_score,
        cast(latest_levels.domain_level_label as {{ dbt.type_string() }}) as domain_level_label,
        cast(latest_levels.domain_level as {{ dbt.type_int() }}) as domain_level,
        cast(latest_levels.is_gap as {{ dbt.type_boolean() }}) as is_gap,
        cast(latest_levels.priority_rank = 1 as {{ dbt.type_boolean() }}) as is_priority
    from latest_levels
    left join students on latest_levels.student_id = students.student_id
)

select * from final
