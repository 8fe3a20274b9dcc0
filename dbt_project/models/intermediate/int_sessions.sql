-- int_sessions: one row per student at one tutoring meeting in reading or math, dated in the school
-- year up to as_of_date (sessions in subject `other` are ignored by the marts, DESIGN §4).
-- Adds the ISO week (Monday), whether the row is in this cycle, the meeting it belongs to and the
-- minutes it adds: only attended rows add minutes; a student_absent row carries the meeting's
-- length but adds none; tutor_absent and cancelled are delivery loss (DESIGN §7).
with sessions as (
    select * from {{ ref('stg_sessions') }}
),

students as (
    select student_id, school_id from {{ ref('stg_students') }}
),

skill_order as (
    select * from {{ ref('skill_order') }}
),

-- a vendor label in skill_focus is read through the crosswalk (any vendor; the first skill in
-- teaching order wins when vendors disagree)
crosswalked_labels as (
    select
        crosswalk.subject,
        lower(trim(crosswalk.domain)) as label_norm,
        min(skill_order.teaching_order) as teaching_order
    from {{ ref('skill_crosswalk') }} as crosswalk
    inner join skill_order
        on crosswalk.subject = skill_order.subject and crosswalk.skill = skill_order.skill
    group by crosswalk.subject, lower(trim(crosswalk.domain))
),

in_year as (
    select *
    from sessions
    where subject in ('reading', 'math')
      and session_date >= {{ var_date('school_year_start') }}
      and session_date <= {{ var_date('as_of_date') }}
),

enriched as (
    select
        in_year.session_id,
        in_year.student_id,
        in_year.subject,
        in_year.session_start,
        in_year.session_date,
        {{ week_start('in_year.session_date') }} as week_start,
        (in_year.session_date >= {{ var_date('cycle_start') }}) as in_cycle,
        in_year.tutor_id,
        in_year.group_id,
        -- a meeting: the group at its start time, or the tutor at the start time without a group
        case
            when in_year.group_id is not null
                then 'group:' || in_year.group_id || '@' || cast(in_year.session_start as {{ dbt.type_string() }})
            else 'tutor:' || coalesce(in_year.tutor_id, '?') || '@' || cast(in_year.session_start as {{ dbt.type_string() }})
        end as meeting_key,
        coalesce(in_year.school_id, students.school_id) as school_id,
        in_year.partner_org,
        in_year.attendance_status,
        (in_year.attendance_status = 'attended') as is_attended,
        (in_year.attendance_status = 'student_absent') as is_student_absent,
        (in_year.attendance_status in ('tutor_absent', 'cancelled')) as is_delivery_loss,
        in_year.session_duration,
        case when in_year.attendance_status = 'attended' then in_year.session_duration else 0 end
            as attended_minutes,
        in_year.scheduled_minutes,
        in_year.skill_focus,
        coalesce(canonical.skill, crosswalked.skill) as focus_skill,
        in_year.modality,
        in_year.during_school_day,
        in_year.session_notes
    from in_year
    left join students on in_year.student_id = students.student_id
    left join skill_order as canonical
        on in_year.subject = canonical.subject
       and lower(trim(in_year.skill_focus)) = canonical.skill
    left join crosswalked_labels
        on in_year.subject = crosswalked_labels.subject
       and lower(trim(in_year.skill_focus)) = crosswalked_labels.label_norm
    left join skill_order as crosswalked
        on crosswalked_labels.subject = crosswalked.subject
       and crosswalked_labels.teaching_order = crosswalked.teaching_order
)

select * from enriched
