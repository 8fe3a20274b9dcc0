-- int_student_weeks: one row per student × subject × ISO week (Monday) of the school year up to
-- as_of_date that is not a break week and holds ≥ 1 weekday on which the student was enrolled in
-- the program (entry ≤ day ≤ exit, or ≤ as_of while still enrolled; DESIGN §7).
-- in_cycle: that enrolled weekday also lies in this cycle — the cycle's enrolled weeks.
with spans as (
    select * from {{ ref('int_program_spans') }}
),

calendar as (
    {{ school_calendar() }}
),

school_weekdays as (
    select day_date, week_start
    from calendar
    where is_weekday
      and not is_break_week
      and day_date >= {{ var_date('school_year_start') }}
      and day_date <= {{ var_date('as_of_date') }}
),

enrolled_days as (
    select distinct
        spans.student_id,
        spans.subject,
        school_weekdays.week_start,
        school_weekdays.day_date
    from spans
    inner join school_weekdays
        on school_weekdays.day_date >= spans.entry_date
       and school_weekdays.day_date <= coalesce(spans.effective_exit_date, {{ var_date('as_of_date') }})
),

weeks as (
    select
        student_id,
        subject,
        week_start,
        max(case when day_date >= {{ var_date('cycle_start') }} then 1 else 0 end) = 1 as in_cycle,
        count(*) as enrolled_weekdays
    from enrolled_days
    group by student_id, subject, week_start
)

select * from weeks
