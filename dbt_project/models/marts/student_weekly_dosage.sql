-- student_weekly_dosage: one row per student × subject × ISO week (Monday) of this cycle that is not a
-- break week and in which the student was enrolled in the program for ≥ 1 weekday (DESIGN §6, §7).
-- A week with no sessions is a row of zeros, never missing. A week meets frequency when attended
-- sessions ≥ sessions_per_week and meets minutes when attended minutes ≥ weekly_minutes.
with enrolled_weeks as (
    select * from {{ ref('int_student_weeks') }}
    where in_cycle
),

sessions as (
    select * from {{ ref('int_sessions') }}
    where in_cycle
),

students as (
    select * from {{ ref('int_students') }}
),

weekly_sessions as (
    select
        student_id,
        subject,
        week_start,
        count(*) as sessions_scheduled,
        sum(case when is_attended then 1 else 0 end) as sessions_attended,
        sum(attended_minutes) as minutes_attended
    from sessions
    group by student_id, subject, week_start
),

weekly as (
    select
        enrolled_weeks.student_id,
        enrolled_weeks.subject,
        enrolled_weeks.week_start,
        coalesce(weekly_sessions.sessions_scheduled, 0) as sessions_scheduled,
        coalesce(weekly_sessions.sessions_attended, 0) as sessions_attended,
        coalesce(weekly_sessions.minutes_attended, 0) as minutes_attended
    from enrolled_weeks
    left join weekly_sessions
        on enrolled_weeks.student_id = weekly_sessions.student_id
       and enrolled_weeks.subject = weekly_sessions.subject
       and enrolled_weeks.week_start = weekly_sessions.week_start
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(weekly.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(students.grade as {{ dbt.type_string() }}) as grade,
        cast(weekly.subject as {{ dbt.type_string() }}) as subject,
        cast(weekly.week_start as date) as week_start,
        cast(weekly.sessions_scheduled as {{ dbt.type_int() }}) as sessions_scheduled,
        cast(weekly.sessions_attended as {{ dbt.type_int() }}) as sessions_attended,
        cast(weekly.minutes_attended as {{ dbt.type_int() }}) as minutes_attended,
        cast(weekly.sessions_attended >= {{ var('sessions_per_week') | int }} as {{ dbt.type_boolean() }})
            as meets_frequency,
        cast(weekly.minutes_attended >= {{ var('weekly_minutes') }} as {{ dbt.type_boolean() }})
            as meets_minutes,
        cast(weekly.sessions_attended >= {{ var('sessions_per_week') | int }}
             and weekly.minutes_attended >= {{ var('weekly_minutes') }} as {{ dbt.type_boolean() }})
            as meets_target
    from weekly
    left join students on weekly.student_id = students.student_id
)

select * from final
