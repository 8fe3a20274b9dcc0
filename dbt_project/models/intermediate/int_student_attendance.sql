-- int_student_attendance: one row per student with school attendance in the school year up to
-- as_of_date: enrolled days (rows in the daily feed), attended days (present or tardy) and the
-- attendance rate; chronic_absence ⇔ rate ≤ chronic_absence_max_rate with at least
-- chronic_absence_min_days enrolled days (DESIGN §5).
with attendance as (
    select * from {{ ref('stg_attendance') }}
    where attendance_date >= {{ var_date('school_year_start') }}
      and attendance_date <= {{ var_date('as_of_date') }}
),

per_student as (
    select
        student_id,
        count(*) as enrolled_days,
        sum(case when status in ('present', 'tardy') then 1 else 0 end) as attended_days
    from attendance
    group by student_id
),

flagged as (
    select
        student_id,
        enrolled_days,
        attended_days,
        {{ safe_ratio('attended_days', 'enrolled_days') }} as attendance_rate,
        (enrolled_days >= {{ var('chronic_absence_min_days') | int }}
         and {{ safe_ratio('attended_days', 'enrolled_days') }} <= {{ var('chronic_absence_max_rate') }})
            as chronic_absence
    from per_student
)

select * from flagged
