-- int_participation_ytd: one row per student × subject ever in the program this school year by
-- as_of_date (an enrollment record or a session): entry, exit, attended sessions and minutes,
-- enrolled weeks and YTD attainment = minutes_ytd / (weekly_minutes × enrolled_weeks_ytd) (DESIGN §7
-- impact), and the year's primary tutor (most attended sessions, ties to the tutor seen first) with
-- their type and provider — the student's tutor_type and partner_org for impact and 30-60-90 scopes.
with spans as (
    select * from {{ ref('int_program_spans') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

student_weeks as (
    select * from {{ ref('int_student_weeks') }}
),

tutors as (
    select * from {{ ref('int_tutors') }}
),

entries as (
    select
        student_id,
        subject,
        min(entry_date) as first_entry_date,
        max(entry_date) as latest_entry_date,
        min(entry_basis) as entry_basis
    from spans
    group by student_id, subject
),

latest_span as (
    select spans.student_id, spans.subject, spans.effective_exit_date, spans.exit_reason, spans.referral_source
    from spans
    inner join entries
        on spans.student_id = entries.student_id
       and spans.subject = entries.subject
       and spans.entry_date = entries.latest_entry_date
),

attended as (
    select
        student_id,
        subject,
        sum(case when is_attended then 1 else 0 end) as attended_sessions_ytd,
        sum(attended_minutes) as minutes_ytd,
        min(case when is_attended then session_date end) as first_attended_date,
        max(case when is_attended then session_date end) as last_attended_date
    from sessions
    group by student_id, subject
),

weeks as (
    select student_id, subject, count(*) as enrolled_weeks_ytd
    from student_weeks
    group by student_id, subject
),

primary_tutor as (
    {{ primary_tutor('sessions') }}
),

joined as (
    select
        entries.student_id,
        entries.subject,
        entries.first_entry_date,
        entries.latest_entry_date,
        entries.entry_basis,
        latest_span.effective_exit_date as exit_date,
        latest_span.exit_reason,
        latest_span.referral_source,
        (latest_span.effective_exit_date is null) as enrolled_at_as_of,
        coalesce(attended.attended_sessions_ytd, 0) as attended_sessions_ytd,
        coalesce(attended.minutes_ytd, 0) as minutes_ytd,
        attended.first_attended_date,
        attended.last_attended_date,
        coalesce(weeks.enrolled_weeks_ytd, 0) as enrolled_weeks_ytd,
        {{ safe_ratio('coalesce(attended.minutes_ytd, 0)', var('weekly_minutes') ~ ' * weeks.enrolled_weeks_ytd') }}
            as attainment_ytd,
        primary_tutor.tutor_id as primary_tutor_id,
        tutors.tutor_type as primary_tutor_type,
        tutors.partner_org as primary_partner_org
    from entries
    left join latest_span on entries.student_id = latest_span.student_id and entries.subject = latest_span.subject
    left join attended on entries.student_id = attended.student_id and entries.subject = attended.subject
    left join weeks on entries.student_id = weeks.student_id and entries.subject = weeks.subject
    left join primary_tutor
        on entries.student_id = primary_tutor.student_id and entries.subject = primary_tutor.subject
    left join tutors on primary_tutor.tutor_id = tutors.tutor_id
)

select * from joined
