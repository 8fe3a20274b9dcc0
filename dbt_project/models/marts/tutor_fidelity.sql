-- tutor_fidelity: one row per tutor × cycle, plus tutor_id = 'ALL' roll-ups per tutor_type, per
-- partner_org and for the whole program (restricted: about staff; DESIGN §6, §7 tutors, §9).
-- A delivered session is a distinct meeting with ≥ 1 attendee (group + start time, or tutor + start
-- time without a group); its length is its attended rows' session_duration and its size its
-- attendees. Roll-ups recompute every rate over their tutors' meetings (never an average of rates).
--   length_adherence     delivered sessions lasting session_minutes_min–max (30–45) inclusive / delivered
--   group_size_adherence delivered sessions with ≤ max_group_size (4) attendees / delivered
--   tutor_absence_rate   meetings marked tutor_absent / all scheduled meetings (any status)
--   caseload             distinct students with ≥ 1 attended session in the cycle
--   gap_alignment_rate   attended student-sessions whose skill focus is one of that student's gaps on
--                        the latest screener on or before the session date / those with a focus and a
--                        prior screener
--   core_alignment_rate  delivered sessions whose skill focus is in that week's scope and sequence for
--                        an attendee's school and grade / delivered sessions with a focus and a scope
--                        and sequence entry that week
with sessions as (
    select * from {{ ref('int_sessions') }}
    where in_cycle and tutor_id is not null
),

tutors as (
    select * from {{ ref('int_tutors') }}
),

students as (
    select student_id, school_id, grade from {{ ref('stg_students') }}
),

skill_levels as (
    select * from {{ ref('int_skill_levels') }}
),

scope_and_sequence as (
    select * from {{ ref('stg_scope_and_sequence') }}
),

observations as (
    select * from {{ ref('stg_observations') }}
    where observed_date >= {{ var_date('cycle_start') }}
      and observed_date <= {{ var_date('as_of_date') }}
),

-- each tutor counts in its own row and in three roll-ups
scopes as (
    select tutor_id, tutor_id as scope_tutor_id, tutor_type as scope_tutor_type, partner_org as scope_partner_org,
           'tutor' as rollup_level
    from tutors
    union all
    select tutor_id, 'ALL', tutor_type, 'ALL', 'tutor_type' from tutors
    union all
    select tutor_id, 'ALL', 'ALL', partner_org, 'partner_org' from tutors
    union all
    select tutor_id, 'ALL', 'ALL', 'ALL', 'all' from tutors
),

meetings as (
    select
        tutor_id,
        meeting_key,
        min(subject) as subject,
        min(week_start) as week_start,
        sum(case when is_attended then 1 else 0 end) as attendees,
        max(case when is_attended then session_duration end) as delivered_minutes,
        max(case when attendance_status = 'tutor_absent' then 1 else 0 end) as tutor_absent,
        min(focus_skill) as focus_skill
    from sessions
    group by tutor_id, meeting_key
),

-- core alignment: a delivered meeting with a focus is judged when scope and sequence lists that
-- week for an attendee's grade (and school, or all schools); aligned when it lists the focus skill
meeting_scope as (
    select
        sessions.tutor_id,
        sessions.meeting_key,
        max(case when scope_and_sequence.skill = meetings.focus_skill then 1 else 0 end) as aligned,
        max(case when scope_and_sequence.skill is not null then 1 else 0 end) as judged
    from sessions
    inner join meetings
        on sessions.tutor_id = meetings.tutor_id and sessions.meeting_key = meetings.meeting_key
    inner join students on sessions.student_id = students.student_id
    left join scope_and_sequence
        on scope_and_sequence.subject = sessions.subject
       and scope_and_sequence.grade = students.grade
       and scope_and_sequence.week_start = sessions.week_start
       and (scope_and_sequence.school_id is null or scope_and_sequence.school_id = sessions.school_id)
    where sessions.is_attended and meetings.focus_skill is not null
    group by sessions.tutor_id, sessions.meeting_key
),

-- gap alignment: the student's latest screener domain test on or before the session date
attended_focus as (
    select session_id, student_id, subject, session_date, tutor_id, focus_skill
    from sessions
    where is_attended and focus_skill is not null
),

prior_tests as (
    select * from (
        select
            attended_focus.session_id,
            attended_focus.tutor_id,
            attended_focus.focus_skill,
            tests.student_id,
            tests.subject,
            tests.vendor,
            tests.test_date,
            row_number() over (
                partition by attended_focus.session_id, attended_focus.student_id
                order by tests.test_date desc, tests.vendor
            ) as r
        from attended_focus
        inner join (select distinct student_id, subject, vendor, test_date from skill_levels) as tests
            on attended_focus.student_id = tests.student_id
           and attended_focus.subject = tests.subject
           and tests.test_date <= attended_focus.session_date
    ) as ranked
    where r = 1
),

gap_alignment as (
    select
        prior_tests.tutor_id,
        prior_tests.session_id,
        max(case when skill_levels.is_gap then 1 else 0 end) as aligned
    from prior_tests
    left join skill_levels
        on prior_tests.student_id = skill_levels.student_id
       and prior_tests.subject = skill_levels.subject
       and prior_tests.vendor = skill_levels.vendor
       and prior_tests.test_date = skill_levels.test_date
       and prior_tests.focus_skill = skill_levels.skill
    group by prior_tests.tutor_id, prior_tests.session_id
),

meeting_facts as (
    select
        meetings.*,
        tutors.trained,
        (meetings.attendees >= 1) as delivered,
        meeting_scope.aligned as core_aligned,
        meeting_scope.judged as core_judged
    from meetings
    left join tutors on meetings.tutor_id = tutors.tutor_id
    left join meeting_scope
        on meetings.tutor_id = meeting_scope.tutor_id and meetings.meeting_key = meeting_scope.meeting_key
),

meeting_rollup as (
    select
        scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org,
        count(*) as meetings_scheduled,
        sum(case when delivered then 1 else 0 end) as sessions_delivered,
        sum(case when delivered and delivered_minutes >= {{ var('session_minutes_min') }}
                  and delivered_minutes <= {{ var('session_minutes_max') }} then 1 else 0 end) as length_ok,
        sum(case when delivered and attendees <= {{ var('max_group_size') | int }} then 1 else 0 end) as size_ok,
        sum(case when delivered then attendees else 0 end) as attendee_sessions,
        sum(tutor_absent) as meetings_tutor_absent,
        sum(case when delivered and trained then 1 else 0 end) as delivered_by_trained,
        sum(case when delivered and core_judged = 1 then 1 else 0 end) as core_judged,
        sum(case when delivered and core_judged = 1 and core_aligned = 1 then 1 else 0 end) as core_aligned
    from meeting_facts
    inner join scopes on meeting_facts.tutor_id = scopes.tutor_id
    group by scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org
),

caseload as (
    select scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org,
           count(distinct sessions.student_id) as caseload
    from sessions
    inner join scopes on sessions.tutor_id = scopes.tutor_id
    where sessions.is_attended
    group by scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org
),

gap_rollup as (
    select scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org,
           count(*) as gap_judged,
           sum(gap_alignment.aligned) as gap_aligned
    from gap_alignment
    inner join scopes on gap_alignment.tutor_id = scopes.tutor_id
    group by scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org
),

observation_rollup as (
    select scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org,
           count(distinct observations.observation_id) as n_observations,
           avg(cast(observations.score as {{ type_double() }})) as mean_rubric_score
    from observations
    inner join scopes on observations.tutor_id = scopes.tutor_id
    group by scopes.scope_tutor_id, scopes.scope_tutor_type, scopes.scope_partner_org
),

scope_rows as (
    select
        scope_tutor_id, scope_tutor_type, scope_partner_org,
        min(rollup_level) as rollup_level,
        count(distinct scopes.tutor_id) as n_tutors,
        sum(case when tutors.trained then 1 else 0 end) as n_trained
    from scopes
    inner join tutors on scopes.tutor_id = tutors.tutor_id
    group by scope_tutor_id, scope_tutor_type, scope_partner_org
),

joined as (
    select
        scope_rows.*,
        tutors.tutor_name,
        tutors.training_completed_date,
        coalesce(caseload.caseload, 0) as caseload,
        coalesce(meeting_rollup.meetings_scheduled, 0) as meetings_scheduled,
        coalesce(meeting_rollup.sessions_delivered, 0) as sessions_delivered,
        meeting_rollup.length_ok,
        meeting_rollup.size_ok,
        meeting_rollup.attendee_sessions,
        coalesce(meeting_rollup.meetings_tutor_absent, 0) as meetings_tutor_absent,
        meeting_rollup.delivered_by_trained,
        meeting_rollup.core_judged,
        meeting_rollup.core_aligned,
        gap_rollup.gap_judged,
        gap_rollup.gap_aligned,
        coalesce(observation_rollup.n_observations, 0) as n_observations,
        observation_rollup.mean_rubric_score
    from scope_rows
    left join tutors
        on scope_rows.rollup_level = 'tutor' and scope_rows.scope_tutor_id = tutors.tutor_id
    left join meeting_rollup
        on scope_rows.scope_tutor_id = meeting_rollup.scope_tutor_id
       and scope_rows.scope_tutor_type = meeting_rollup.scope_tutor_type
       and scope_rows.scope_partner_org = meeting_rollup.scope_partner_org
    left join caseload
        on scope_rows.scope_tutor_id = caseload.scope_tutor_id
       and scope_rows.scope_tutor_type = caseload.scope_tutor_type
       and scope_rows.scope_partner_org = caseload.scope_partner_org
    left join gap_rollup
        on scope_rows.scope_tutor_id = gap_rollup.scope_tutor_id
       and scope_rows.scope_tutor_type = gap_rollup.scope_tutor_type
       and scope_rows.scope_partner_org = gap_rollup.scope_partner_org
    left join observation_rollup
        on scope_rows.scope_tutor_id = observation_rollup.scope_tutor_id
       and scope_rows.scope_tutor_type = observation_rollup.scope_tutor_type
       and scope_rows.scope_partner_org = observation_rollup.scope_partner_org
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(scope_tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(tutor_name as {{ dbt.type_string() }}) as tutor_name,
        cast(scope_tutor_type as {{ dbt.type_string() }}) as tutor_type,
        cast(scope_partner_org as {{ dbt.type_string() }}) as partner_org,
        cast(rollup_level as {{ dbt.type_string() }}) as rollup_level,
        cast(n_tutors as {{ dbt.type_int() }}) as n_tutors,
        cast(caseload as {{ dbt.type_int() }}) as caseload,
        cast(rollup_level = 'tutor' and caseload > {{ var('max_caseload') | int }} as {{ dbt.type_boolean() }})
            as over_caseload,
        cast(meetings_scheduled as {{ dbt.type_int() }}) as meetings_scheduled,
        cast(sessions_delivered as {{ dbt.type_int() }}) as sessions_delivered,
        cast({{ safe_ratio('length_ok', 'sessions_delivered') }} as {{ type_double() }}) as length_adherence,
        cast({{ safe_ratio('size_ok', 'sessions_delivered') }} as {{ type_double() }}) as group_size_adherence,
        cast({{ safe_ratio('attendee_sessions', 'sessions_delivered') }} as {{ type_double() }}) as mean_group_size,
        cast({{ safe_ratio('meetings_tutor_absent', 'meetings_scheduled') }} as {{ type_double() }}) as tutor_absence_rate,
        cast({{ safe_ratio('gap_aligned', 'gap_judged') }} as {{ type_double() }}) as gap_alignment_rate,
        cast({{ safe_ratio('core_aligned', 'core_judged') }} as {{ type_double() }}) as core_alignment_rate,
        cast(n_observations as {{ dbt.type_int() }}) as n_observations,
        cast(mean_rubric_score as {{ type_double() }}) as mean_rubric_score,
        cast(case when rollup_level = 'tutor' then n_trained = 1 end as {{ dbt.type_boolean() }}) as training_completed,
        cast(training_completed_date as date) as training_completed_date,
        cast({{ safe_ratio('n_trained', 'n_tutors') }} as {{ type_double() }}) as trained_tutor_share,
        cast({{ safe_ratio('delivered_by_trained', 'sessions_delivered') }} as {{ type_double() }}) as trained_session_share
    from joined
)

select * from final
