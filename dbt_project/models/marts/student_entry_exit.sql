-- student_entry_exit: one row per student × subject × cycle for every student in the program in the
-- subject this school year by as_of_date (DESIGN §6, §7 exit and regrouping).
--   entry_basis   diagnostic_need (latest tierable benchmark result on or before entry was tier 2/3),
--                 no_diagnostic_need (it was tier 1) or no_screener (none)
--   targeted_skill the skill most attended sessions focused on this year (ties by teaching order),
--                 else the priority skill of the latest domain results on or before entry
--   exit_eligible on a result after entry (any window, progress monitoring included): the targeted
--                 skill's domain level ≥ domain_mastery_level, or the overall result meets benchmark
--   stale_exit    exit-eligible since before this cycle began and still not exited
--   perpetual     still enrolled after ≥ perpetual_weeks enrolled weeks with growth percentile
--                 below perpetual_growth_percentile
with participation as (
    select * from {{ ref('int_participation_ytd') }}
),

students as (
    select * from {{ ref('int_students') }}
),

results as (
    select * from {{ ref('int_screener_results') }}
    where test_date <= {{ var_date('as_of_date') }}
),

skill_levels as (
    select * from {{ ref('int_skill_levels') }}
    where test_date <= {{ var_date('as_of_date') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

skill_order as (
    select * from {{ ref('skill_order') }}
),

growth as (
    select * from {{ ref('student_growth') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

entry_results as (
    select * from (
        select
            participation.student_id,
            participation.subject,
            results.tier,
            results.test_date,
            row_number() over (
                partition by participation.student_id, participation.subject
                order by results.test_date desc, results.vendor
            ) as r
        from participation
        inner join results
            on participation.student_id = results.student_id
           and participation.subject = results.subject
           and results.test_date <= participation.latest_entry_date
        where results.is_benchmark and results.tier is not null
    ) as ranked
    where r = 1
),

session_focus as (
    select * from (
        select
            sessions.student_id,
            sessions.subject,
            sessions.focus_skill,
            row_number() over (
                partition by sessions.student_id, sessions.subject
                order by count(*) desc, min(skill_order.teaching_order)
            ) as r
        from sessions
        inner join skill_order
            on sessions.subject = skill_order.subject and sessions.focus_skill = skill_order.skill
        where sessions.is_attended
        group by sessions.student_id, sessions.subject, sessions.focus_skill
    ) as ranked
    where r = 1
),

entry_priority as (
    select * from (
        select
            participation.student_id,
            participation.subject,
            skill_levels.skill,
            row_number() over (
                partition by participation.student_id, participation.subject
                order by skill_levels.test_date desc, skill_levels.domain_level, skill_levels.teaching_order
            ) as r
        from participation
        inner join skill_levels
            on participation.student_id = skill_levels.student_id
           and participation.subject = skill_levels.subject
           and skill_levels.test_date <= participation.latest_entry_date
    ) as ranked
    where r = 1
),

targeted as (
    select
        participation.student_id,
        participation.subject,
        coalesce(session_focus.focus_skill, entry_priority.skill) as targeted_skill
    from participation
    left join session_focus
        on participation.student_id = session_focus.student_id and participation.subject = session_focus.subject
    left join entry_priority
        on participation.student_id = entry_priority.student_id and participation.subject = entry_priority.subject
),

skill_mastery as (
    select targeted.student_id, targeted.subject, min(skill_levels.test_date) as eligible_date
    from targeted
    inner join participation
        on targeted.student_id = participation.student_id and targeted.subject = participation.subject
    inner join skill_levels
        on targeted.student_id = skill_levels.student_id
       and targeted.subject = skill_levels.subject
       and targeted.targeted_skill = skill_levels.skill
       and skill_levels.test_date > participation.latest_entry_date
    where skill_levels.domain_level >= {{ var('domain_mastery_level') | int }}
    group by targeted.student_id, targeted.subject
),

benchmark_met as (
    select participation.student_id, participation.subject, min(results.test_date) as eligible_date
    from participation
    inner join results
        on participation.student_id = results.student_id
       and participation.subject = results.subject
       and results.test_date > participation.latest_entry_date
    where results.meets_benchmark
    group by participation.student_id, participation.subject
),

joined as (
    select
        participation.*,
        entry_results.tier as entry_tier,
        entry_results.test_date as entry_test_date,
        targeted.targeted_skill,
        skill_mastery.eligible_date as skill_mastery_date,
        benchmark_met.eligible_date as benchmark_met_date,
        case
            when skill_mastery.eligible_date is null then benchmark_met.eligible_date
            when benchmark_met.eligible_date is null then skill_mastery.eligible_date
            when skill_mastery.eligible_date <= benchmark_met.eligible_date then skill_mastery.eligible_date
            else benchmark_met.eligible_date
        end as exit_eligible_date,
        growth.growth_percentile
    from participation
    left join entry_results
        on participation.student_id = entry_results.student_id and participation.subject = entry_results.subject
    left join targeted
        on participation.student_id = targeted.student_id and participation.subject = targeted.subject
    left join skill_mastery
        on participation.student_id = skill_mastery.student_id and participation.subject = skill_mastery.subject
    left join benchmark_met
        on participation.student_id = benchmark_met.student_id and participation.subject = benchmark_met.subject
    left join growth
        on participation.student_id = growth.student_id and participation.subject = growth.subject
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(joined.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(students.grade as {{ dbt.type_string() }}) as grade,
        cast(joined.subject as {{ dbt.type_string() }}) as subject,
        cast(joined.latest_entry_date as date) as entry_date,
        cast(case
            when joined.entry_tier is null then 'no_screener'
            when joined.entry_tier >= 2 then 'diagnostic_need'
            else 'no_diagnostic_need'
        end as {{ dbt.type_string() }}) as entry_basis,
        cast(joined.entry_basis as {{ dbt.type_string() }}) as enrollment_basis,
        cast(joined.entry_tier as {{ dbt.type_int() }}) as entry_tier,
        cast(joined.entry_test_date as date) as entry_test_date,
        cast(joined.referral_source as {{ dbt.type_string() }}) as referral_source,
        cast(joined.enrolled_weeks_ytd as {{ dbt.type_int() }}) as weeks_in_program,
        cast(joined.attended_sessions_ytd as {{ dbt.type_int() }}) as attended_sessions_ytd,
        cast(joined.targeted_skill as {{ dbt.type_string() }}) as targeted_skill,
        cast(joined.exit_eligible_date is not null as {{ dbt.type_boolean() }}) as exit_eligible,
        cast(joined.exit_eligible_date as date) as exit_eligible_date,
        cast(case
            when joined.exit_eligible_date is null then null
            when joined.exit_eligible_date = joined.skill_mastery_date then 'skill_mastery'
            else 'benchmark_met'
        end as {{ dbt.type_string() }}) as exit_eligible_reason,
        cast(joined.exit_date is not null as {{ dbt.type_boolean() }}) as exited,
        cast(joined.exit_date as date) as exit_date,
        cast(joined.exit_reason as {{ dbt.type_string() }}) as exit_reason,
        cast(joined.exit_eligible_date is not null
             and joined.exit_date is null
             and joined.exit_eligible_date < {{ var_date('cycle_start') }} as {{ dbt.type_boolean() }}) as stale_exit,
        cast(joined.exit_date is null
             and joined.enrolled_weeks_ytd >= {{ var('perpetual_weeks') | int }}
             and coalesce(joined.growth_percentile < {{ var('perpetual_growth_percentile') }}, false)
             as {{ dbt.type_boolean() }}) as perpetual,
        cast(joined.growth_percentile as {{ type_double() }}) as growth_percentile
    from joined
    left join students on joined.student_id = students.student_id
)

select * from final
