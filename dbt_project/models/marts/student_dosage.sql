-- student_dosage: one row per student × subject × cycle for every student enrolled in the program in
-- the subject for ≥ 1 day of the cycle, plus any student with a session row in it — a no-show is a
-- row with 0 minutes, never missing (DESIGN §7).
--   attendance_rate    = attended / (attended + student_absent)
--   delivery_loss_rate = (tutor_absent + cancelled) / scheduled — counted against the program
--   target_minutes     = weekly_minutes × enrolled weeks (non-break ISO weeks with an enrolled weekday)
--   dosage_attainment  = minutes attended / target_minutes; adequate ⇔ ≥ adequate_share
--   primary tutor      = most attended sessions in the cycle, ties to the tutor seen first
--   minutes_ytd        = attended minutes from the school year's first day to as_of_date
with spans as (
    select * from {{ ref('int_program_spans') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

student_weeks as (
    select * from {{ ref('int_student_weeks') }}
),

students as (
    select * from {{ ref('int_students') }}
),

cycle_sessions as (
    select * from sessions where in_cycle
),

-- who has a row: enrolled ≥ 1 day of the cycle, or a session in it
roster as (
    select student_id, subject from spans
    where entry_date <= {{ var_date('as_of_date') }}
      and (effective_exit_date is null or effective_exit_date >= {{ var_date('cycle_start') }})
    union
    select student_id, subject from cycle_sessions
),

entries as (
    select
        student_id,
        subject,
        min(entry_date) as entry_date,
        max(case when effective_exit_date is null then 1 else 0 end) = 0 as has_exited,
        max(effective_exit_date) as exit_date,
        min(entry_basis) as entry_basis
    from spans
    group by student_id, subject
),

weeks as (
    select
        student_id,
        subject,
        sum(case when in_cycle then 1 else 0 end) as enrolled_weeks,
        count(*) as enrolled_weeks_ytd
    from student_weeks
    group by student_id, subject
),

cycle_totals as (
    select
        student_id,
        subject,
        count(*) as sessions_scheduled,
        sum(case when is_attended then 1 else 0 end) as sessions_attended,
        sum(case when is_student_absent then 1 else 0 end) as sessions_student_absent,
        sum(case when is_delivery_loss then 1 else 0 end) as sessions_delivery_loss,
        sum(attended_minutes) as minutes_attended,
        sum(case when is_attended and during_school_day then 1 else 0 end) as attended_in_school,
        sum(case when is_attended and during_school_day is not null then 1 else 0 end) as attended_with_setting,
        count(distinct case when is_attended then tutor_id end) as distinct_tutors,
        max(case when is_attended then session_date end) as last_attended_date
    from cycle_sessions
    group by student_id, subject
),

ytd_totals as (
    select student_id, subject, sum(attended_minutes) as minutes_ytd
    from sessions
    group by student_id, subject
),

-- weeks meeting both targets (≥ sessions_per_week attended and ≥ weekly_minutes)
weekly as (
    select
        student_weeks.student_id,
        student_weeks.subject,
        student_weeks.week_start,
        sum(case when cycle_sessions.is_attended then 1 else 0 end) as attended,
        sum(coalesce(cycle_sessions.attended_minutes, 0)) as minutes
    from student_weeks
    left join cycle_sessions
        on student_weeks.student_id = cycle_sessions.student_id
       and student_weeks.subject = cycle_sessions.subject
       and student_weeks.week_start = cycle_sessions.week_start
    where student_weeks.in_cycle
    group by student_weeks.student_id, student_weeks.subject, student_weeks.week_start
),

weeks_on_target as (
    select
        student_id,
        subject,
        sum(case when attended >= {{ var('sessions_per_week') | int }}
                  and minutes >= {{ var('weekly_minutes') }} then 1 else 0 end) as weeks_meeting_target
    from weekly
    group by student_id, subject
),

-- tutor consistency: attended sessions per tutor, ties broken by the tutor seen first
primary_tutor as (
    {{ primary_tutor('cycle_sessions') }}
),

joined as (
    select
        roster.student_id,
        roster.subject,
        entries.entry_date,
        entries.entry_basis,
        case when entries.has_exited then entries.exit_date end as exit_date,
        coalesce(weeks.enrolled_weeks, 0) as enrolled_weeks,
        coalesce(weeks.enrolled_weeks_ytd, 0) as enrolled_weeks_ytd,
        coalesce(cycle_totals.sessions_scheduled, 0) as sessions_scheduled,
        coalesce(cycle_totals.sessions_attended, 0) as sessions_attended,
        coalesce(cycle_totals.sessions_student_absent, 0) as sessions_student_absent,
        coalesce(cycle_totals.sessions_delivery_loss, 0) as sessions_delivery_loss,
        coalesce(cycle_totals.minutes_attended, 0) as minutes_attended,
        coalesce(ytd_totals.minutes_ytd, 0) as minutes_ytd,
        coalesce(weeks_on_target.weeks_meeting_target, 0) as weeks_meeting_target,
        cycle_totals.attended_in_school,
        cycle_totals.attended_with_setting,
        coalesce(cycle_totals.distinct_tutors, 0) as distinct_tutors,
        cycle_totals.last_attended_date,
        primary_tutor.tutor_id as primary_tutor_id,
        primary_tutor.attended_with_tutor
    from roster
    left join entries on roster.student_id = entries.student_id and roster.subject = entries.subject
    left join weeks on roster.student_id = weeks.student_id and roster.subject = weeks.subject
    left join cycle_totals
        on roster.student_id = cycle_totals.student_id and roster.subject = cycle_totals.subject
    left join ytd_totals on roster.student_id = ytd_totals.student_id and roster.subject = ytd_totals.subject
    left join weeks_on_target
        on roster.student_id = weeks_on_target.student_id and roster.subject = weeks_on_target.subject
    left join primary_tutor
        on roster.student_id = primary_tutor.student_id and roster.subject = primary_tutor.subject
),

measured as (
    select
        joined.*,
        {{ safe_ratio('sessions_attended', 'sessions_attended + sessions_student_absent') }} as attendance_rate,
        {{ safe_ratio('sessions_delivery_loss', 'sessions_scheduled') }} as delivery_loss_rate,
        {{ var('weekly_minutes') }} * enrolled_weeks as target_minutes,
        {{ safe_ratio('minutes_attended', var('weekly_minutes') ~ ' * enrolled_weeks') }} as dosage_attainment,
        {{ safe_ratio('minutes_ytd', var('weekly_minutes') ~ ' * enrolled_weeks_ytd') }} as dosage_attainment_ytd,
        {{ safe_ratio('attended_with_tutor', 'sessions_attended') }} as tutor_consistency,
        {{ safe_ratio('attended_in_school', 'attended_with_setting') }} as in_school_share
    from joined
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(measured.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(students.grade as {{ dbt.type_string() }}) as grade,
        cast(measured.subject as {{ dbt.type_string() }}) as subject,
        cast(measured.entry_date as date) as entry_date,
        cast(measured.entry_basis as {{ dbt.type_string() }}) as entry_basis,
        cast(measured.exit_date as date) as exit_date,
        cast(measured.enrolled_weeks as {{ dbt.type_int() }}) as enrolled_weeks,
        cast(measured.sessions_scheduled as {{ dbt.type_int() }}) as sessions_scheduled,
        cast(measured.sessions_attended as {{ dbt.type_int() }}) as sessions_attended,
        cast(measured.sessions_student_absent as {{ dbt.type_int() }}) as sessions_student_absent,
        cast(measured.sessions_delivery_loss as {{ dbt.type_int() }}) as sessions_delivery_loss,
        cast(measured.minutes_attended as {{ dbt.type_int() }}) as minutes_attended,
        cast(measured.attendance_rate as {{ type_double() }}) as attendance_rate,
        cast(measured.delivery_loss_rate as {{ type_double() }}) as delivery_loss_rate,
        cast(measured.target_minutes as {{ type_double() }}) as target_minutes,
        cast(measured.dosage_attainment as {{ type_double() }}) as dosage_attainment,
        cast(coalesce(measured.dosage_attainment >= {{ var('adequate_share') }}, false) as {{ dbt.type_boolean() }})
            as adequate_dosage,
        cast(measured.weeks_meeting_target as {{ dbt.type_int() }}) as weeks_meeting_target,
        cast(measured.minutes_ytd as {{ dbt.type_int() }}) as minutes_ytd,
        cast(measured.enrolled_weeks_ytd as {{ dbt.type_int() }}) as enrolled_weeks_ytd,
        cast(measured.dosage_attainment_ytd as {{ type_double() }}) as dosage_attainment_ytd,
        cast(measured.primary_tutor_id as {{ dbt.type_string() }}) as primary_tutor_id,
        cast(measured.tutor_consistency as {{ type_double() }}) as tutor_consistency,
        cast(measured.distinct_tutors as {{ dbt.type_int() }}) as distinct_tutors,
        cast(measured.in_school_share as {{ type_double() }}) as in_school_share,
        cast(measured.last_attended_date as date) as last_attended_date
    from measured
    left join students on measured.student_id = students.student_id
)

select * from final
