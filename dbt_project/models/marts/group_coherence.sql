-- group_coherence: one row per cycle × vendor group (group_id on the sessions) with attended
-- sessions in the cycle (restricted: small groups; DESIGN §6, §7). Compares the group the vendor
-- actually runs with need: the modal skill focus of its attended sessions (ties by teaching order),
-- the share of assessed members whose current gaps include it (not_need_based when < 0.5: grouped by
-- schedule, not need), and the largest share of members who share one recommended group this cycle.
with sessions as (
    select * from {{ ref('int_sessions') }}
    where in_cycle and group_id is not null
),

gaps as (
    select * from {{ ref('student_skill_gaps') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

recommended as (
    select * from {{ ref('recommended_groups') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

skill_order as (
    select * from {{ ref('skill_order') }}
),

attended as (
    select * from sessions where is_attended
),

groups as (
    select
        group_id,
        min(subject) as subject,
        min(school_id) as school_id,
        count(distinct student_id) as n_members,
        count(distinct meeting_key) as n_sessions,
        min(session_date) as first_session_date,
        max(session_date) as last_session_date
    from attended
    group by group_id
),

group_tutor as (
    select group_id, tutor_id from (
        select group_id, tutor_id,
               row_number() over (partition by group_id order by count(*) desc, min(session_start), tutor_id) as r
        from attended
        where tutor_id is not null
        group by group_id, tutor_id
    ) as ranked
    where r = 1
),

modal_focus as (
    select group_id, focus_skill from (
        select attended.group_id, attended.focus_skill,
               row_number() over (
                   partition by attended.group_id
                   order by count(*) desc, min(skill_order.teaching_order)
               ) as r
        from attended
        inner join skill_order
            on attended.subject = skill_order.subject and attended.focus_skill = skill_order.skill
        group by attended.group_id, attended.focus_skill
    ) as ranked
    where r = 1
),

members as (
    select distinct group_id, student_id, subject from attended
),

member_gaps as (
    select
        members.group_id,
        count(distinct case when assessed.student_id is not null then members.student_id end) as members_assessed,
        count(distinct case when gap.student_id is not null then members.student_id end) as members_with_gap
    from members
    left join modal_focus on members.group_id = modal_focus.group_id
    left join (select distinct student_id, subject from gaps) as assessed
        on members.student_id = assessed.student_id and members.subject = assessed.subject
    left join gaps as gap
        on members.student_id = gap.student_id
       and members.subject = gap.subject
       and gap.skill = modal_focus.focus_skill
       and gap.is_gap
    group by members.group_id
),

recommended_overlap as (
    select group_id, max(n_sharing) as largest_recommended_share_n from (
        select members.group_id, recommended.group_id as recommended_group_id, count(*) as n_sharing
        from members
        inner join recommended
            on members.student_id = recommended.student_id and members.subject = recommended.subject
        group by members.group_id, recommended.group_id
    ) as shares
    group by group_id
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(groups.group_id as {{ dbt.type_string() }}) as group_id,
        cast(groups.school_id as {{ dbt.type_string() }}) as school_id,
        cast(groups.subject as {{ dbt.type_string() }}) as subject,
        cast(group_tutor.tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(groups.n_members as {{ dbt.type_int() }}) as n_members,
        cast(groups.n_sessions as {{ dbt.type_int() }}) as n_sessions,
        cast(modal_focus.focus_skill as {{ dbt.type_string() }}) as modal_skill_focus,
        cast(coalesce(member_gaps.members_assessed, 0) as {{ dbt.type_int() }}) as members_assessed,
        cast(coalesce(member_gaps.members_with_gap, 0) as {{ dbt.type_int() }}) as members_with_gap,
        cast(case when modal_focus.focus_skill is not null
                  then {{ safe_ratio('member_gaps.members_with_gap', 'member_gaps.members_assessed') }} end
             as {{ type_double() }}) as share_members_with_gap,
        cast(case when modal_focus.focus_skill is not null
                  then {{ safe_ratio('member_gaps.members_with_gap', 'member_gaps.members_assessed') }} < 0.5 end
             as {{ dbt.type_boolean() }}) as not_need_based,
        cast({{ safe_ratio('recommended_overlap.largest_recommended_share_n', 'groups.n_members') }}
             as {{ type_double() }}) as recommended_overlap_share
    from groups
    left join group_tutor on groups.group_id = group_tutor.group_id
    left join modal_focus on groups.group_id = modal_focus.group_id
    left join member_gaps on groups.group_id = member_gaps.group_id
    left join recommended_overlap on groups.group_id = recommended_overlap.group_id
)

select * from final
