-- int_program_spans: one row per student × subject × program entry that began by as_of_date and had
-- not ended before the school year began. From program_enrollment where the student has a record in
-- the subject; otherwise the span starts at the student's first session of the school year in the
-- subject (DESIGN §7: no enrollment record ⇒ entry = first session) and stays open.
-- effective_exit_date is the exit when it happened on or before as_of_date, else NULL (still in).
with enrollment as (
    select * from {{ ref('stg_program_enrollment') }}
    where subject in ('reading', 'math')
      and entry_date <= {{ var_date('as_of_date') }}
      and (exit_date is null or exit_date >= {{ var_date('school_year_start') }})
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

enrolled_spans as (
    select
        student_id,
        subject,
        entry_date,
        case when exit_date <= {{ var_date('as_of_date') }} then exit_date end as effective_exit_date,
        exit_reason,
        referral_source,
        'program_enrollment' as entry_basis
    from enrollment
),

first_sessions as (
    select student_id, subject, min(session_date) as entry_date
    from sessions
    group by student_id, subject
),

session_spans as (
    select
        first_sessions.student_id,
        first_sessions.subject,
        first_sessions.entry_date,
        cast(null as date) as effective_exit_date,
        cast(null as {{ dbt.type_string() }}) as exit_reason,
        cast(null as {{ dbt.type_string() }}) as referral_source,
        'first_session' as entry_basis
    from first_sessions
    where not exists (
        select 1 from enrollment
        where enrollment.student_id = first_sessions.student_id
          and enrollment.subject = first_sessions.subject
    )
),

spans as (
    select * from enrolled_spans
    union all
    select * from session_spans
)

select * from spans
