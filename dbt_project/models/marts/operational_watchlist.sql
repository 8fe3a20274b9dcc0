-- operational_watchlist: one row per cycle (or as-of week) × item × subject × listed school, group,
-- tutor or student (restricted: names the students and staff to act on; DESIGN §6, §9). Built at
-- every cycle's end, and by `tutoring-impact run --as-of DATE` between cycles (as_of_date = DATE,
-- cycle_id = the cycle holding it; published to published/<cycle>/weekly/<DATE>/). Items:
--   no_show_school        every school by no-show rate = students with a dosage row this cycle and
--                         no attended session / students with a dosage row (DESIGN §7), per subject
--                         and over both (subject ALL); rank 1 = highest rate (ties: more no-shows,
--                         then school_id)
--   group_missing_dosage  a tutor group (group_id, or the tutor without one) whose latest ≥ 3
--   group_meeting_dosage  consecutive scheduled weeks all missed / all met the weekly target: ≥
--                         sessions_per_week delivered meetings totalling ≥ weekly_minutes (the
--                         dosage a member attending every meeting gets); value = weeks in the run
--   plateauing_student    in the program ≥ 6 weeks at as_of (latest entry ≤ as_of − 42 days, not
--                         exited) with ≥ 1 benchmark or progress-monitoring result after the
--                         baseline and none above it; baseline = the latest result on or before
--                         entry (else the earliest of the year); same vendor; value = best later
--                         scale score − baseline
--   tutor_over_caseload   tutors whose caseload this cycle exceeds max_caseload (tutor_fidelity)
--   tier3_not_served      Tier 3 on the latest screener ≤ as_of and not in the program at as_of
--   exit_overdue          in the program at as_of and Tier 1 on a result dated after entry
-- rank orders rows within item × subject (most urgent first).
with dosage as (
    select * from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

students as (
    select * from {{ ref('int_students') }}
),

schools as (
    select * from {{ ref('stg_schools') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

participation as (
    select * from {{ ref('int_participation_ytd') }}
),

tiers as (
    select * from {{ ref('student_tiers') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

fidelity as (
    select * from {{ ref('tutor_fidelity') }}
    where cycle_id = {{ var_string('cycle_id') }} and tutor_id <> 'ALL'
),

results as (
    select * from {{ ref('int_screener_results') }}
    where subject in ('reading', 'math')
      and scale_score is not null
      and test_date <= {{ var_date('as_of_date') }}
      and test_date >= {{ var_date('school_year_start') }}
),

-- ------------------------------------------------------------------ schools by no-show rate
school_rates as (
    select dosage.subject, dosage.school_id, count(*) as n_enrolled,
           sum(case when dosage.sessions_attended = 0 then 1 else 0 end) as n_no_show
    from dosage
    where dosage.school_id is not null
    group by dosage.subject, dosage.school_id
    union all
    select 'ALL', dosage.school_id, count(*),
           sum(case when dosage.sessions_attended = 0 then 1 else 0 end)
    from dosage
    where dosage.school_id is not null
    group by dosage.school_id
),

no_show_school as (
    select
        'no_show_school' as item,
        school_rates.subject,
        row_number() over (
            partition by school_rates.subject
            order by {{ safe_ratio('school_rates.n_no_show', 'school_rates.n_enrolled') }} desc,
                     school_rates.n_no_show desc, school_rates.school_id
        ) as item_rank,
        school_rates.school_id,
        cast(null as {{ dbt.type_string() }}) as grade,
        cast(null as {{ dbt.type_string() }}) as tutor_id,
        cast(null as {{ dbt.type_string() }}) as group_id,
        cast(null as {{ dbt.type_string() }}) as student_id,
        {{ safe_ratio('school_rates.n_no_show', 'school_rates.n_enrolled') }} as item_value,
        school_rates.n_enrolled as item_n,
        cast(school_rates.n_no_show as {{ dbt.type_string() }}) || ' of ' || cast(school_rates.n_enrolled as {{ dbt.type_string() }})
            || ' enrolled students attended no session this cycle' as detail
    from school_rates
),

-- ------------------------------------------------------------------ groups and the weekly target
meetings as (
    select
        coalesce(sessions.group_id, 'tutor:' || sessions.tutor_id) as group_key,
        sessions.group_id,
        sessions.subject,
        sessions.meeting_key,
        sessions.week_start,
        max(sessions.tutor_id) as tutor_id,
        max(sessions.school_id) as school_id,
        max(case when sessions.is_attended then 1 else 0 end) as delivered,
        max(case when sessions.is_attended then sessions.session_duration else 0 end) as minutes
    from sessions
    where sessions.group_id is not null or sessions.tutor_id is not null
    group by coalesce(sessions.group_id, 'tutor:' || sessions.tutor_id), sessions.group_id, sessions.subject,
             sessions.meeting_key, sessions.week_start
),

group_weeks as (
    select
        group_key, max(group_id) as group_id, subject, week_start, max(tutor_id) as tutor_id,
        max(school_id) as school_id,
        sum(delivered) as meetings_delivered,
        sum(case when delivered = 1 then minutes else 0 end) as minutes_delivered
    from meetings
    group by group_key, subject, week_start
),

group_status as (
    select
        group_weeks.*,
        (meetings_delivered >= {{ var('sessions_per_week') }} and minutes_delivered >= {{ var('weekly_minutes') }})
            as meets_target,
        row_number() over (partition by group_key, subject order by week_start) as week_number
    from group_weeks
),

-- runs of consecutive scheduled weeks with the same status (gaps and islands)
group_islands as (
    select
        group_status.*,
        week_number - row_number() over (partition by group_key, subject, meets_target order by week_start)
            as island
    from group_status
),

group_runs as (
    select
        group_key, subject, meets_target, island,
        count(*) as run_weeks,
        avg(cast(meetings_delivered as {{ type_double() }})) as mean_meetings,
        avg(cast(minutes_delivered as {{ type_double() }})) as mean_minutes,
        min(week_start) as run_start,
        max(week_start) as run_end,
        max(group_id) as group_id,
        max(tutor_id) as tutor_id,
        max(school_id) as school_id
    from group_islands
    group by group_key, subject, meets_target, island
),

group_latest as (
    select group_key, subject, max(week_start) as latest_week
    from group_weeks
    group by group_key, subject
),

group_streaks as (
    select group_runs.*
    from group_runs
    inner join group_latest
        on group_runs.group_key = group_latest.group_key and group_runs.subject = group_latest.subject
       and group_runs.run_end = group_latest.latest_week
    where group_runs.run_weeks >= 3
      and group_latest.latest_week >= {{ week_start(var_date('cycle_start')) }}
),

group_dosage as (
    select
        case when meets_target then 'group_meeting_dosage' else 'group_missing_dosage' end as item,
        subject,
        row_number() over (
            partition by meets_target, subject order by run_weeks desc, group_key
        ) as item_rank,
        school_id,
        cast(null as {{ dbt.type_string() }}) as grade,
        tutor_id,
        group_key as group_id,
        cast(null as {{ dbt.type_string() }}) as student_id,
        cast(run_weeks as {{ type_double() }}) as item_value,
        cast(null as {{ dbt.type_int() }}) as item_n,
        case when meets_target then 'met' else 'missed' end || ' the weekly target '
            || cast(run_weeks as {{ dbt.type_string() }}) || ' weeks in a row since the week of '
            || cast(run_start as {{ dbt.type_string() }}) || ' (a week: '
            || cast(cast(mean_meetings as decimal(6, 1)) as {{ dbt.type_string() }}) || ' meetings, '
            || cast(cast({{ stable('mean_minutes', 0) }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
            || ' minutes delivered on average; target '
            || cast({{ var('sessions_per_week') }} as {{ dbt.type_string() }}) || ' and '
            || cast({{ var('weekly_minutes') }} as {{ dbt.type_string() }}) || ')' as detail
    from group_streaks
),

-- ------------------------------------------------------------------ plateauing students
in_program as (
    select *
    from participation
    where enrolled_at_as_of
      and latest_entry_date <= cast({{ dbt.dateadd('day', -42, var_date('as_of_date')) }} as date)
),

ordered_results as (
    select
        in_program.student_id, in_program.subject, in_program.latest_entry_date,
        results.vendor, results.test_date, results.scale_score, results.screening_window,
        row_number() over (
            partition by in_program.student_id, in_program.subject
            order by case when results.test_date <= in_program.latest_entry_date then 0 else 1 end,
                     case when results.test_date <= in_program.latest_entry_date
                          then {{ dbt.datediff('results.test_date', var_date('as_of_date'), 'day') }}
                          else {{ dbt.datediff(var_date('school_year_start'), 'results.test_date', 'day') }} end,
                     results.vendor
        ) as baseline_rank
    from in_program
    inner join results
        on in_program.student_id = results.student_id and in_program.subject = results.subject
),

baselines as (
    select * from ordered_results where baseline_rank = 1
),

later as (
    select
        baselines.student_id, baselines.subject,
        max(baselines.test_date) as baseline_date,
        max(baselines.scale_score) as baseline_score,
        count(*) as n_later,
        max(results.scale_score) as best_later_score,
        max(results.test_date) as latest_date
    from baselines
    inner join results
        on baselines.student_id = results.student_id and baselines.subject = results.subject
       and baselines.vendor = results.vendor
       and results.test_date > baselines.test_date
       and results.test_date > baselines.latest_entry_date
    group by baselines.student_id, baselines.subject
),

plateauing as (
    select
        'plateauing_student' as item,
        later.subject,
        row_number() over (
            partition by later.subject
            order by later.best_later_score - later.baseline_score, later.student_id
        ) as item_rank,
        students.school_id,
        students.grade,
        participation.primary_tutor_id as tutor_id,
        cast(null as {{ dbt.type_string() }}) as group_id,
        later.student_id,
        cast(later.best_later_score - later.baseline_score as {{ type_double() }}) as item_value,
        cast(later.n_later as {{ dbt.type_int() }}) as item_n,
        'no result since ' || cast(later.baseline_date as {{ dbt.type_string() }}) || ' above its score ('
            || cast(later.n_later as {{ dbt.type_string() }}) || ' later, the latest on '
            || cast(later.latest_date as {{ dbt.type_string() }}) || ')' as detail
    from later
    left join students on later.student_id = students.student_id
    left join participation
        on later.student_id = participation.student_id and later.subject = participation.subject
    where later.best_later_score <= later.baseline_score
),

-- ------------------------------------------------------------------ tutors over caseload
over_caseload as (
    select
        'tutor_over_caseload' as item,
        'ALL' as subject,
        row_number() over (order by fidelity.caseload desc, fidelity.tutor_id) as item_rank,
        cast(null as {{ dbt.type_string() }}) as school_id,
        cast(null as {{ dbt.type_string() }}) as grade,
        fidelity.tutor_id,
        cast(null as {{ dbt.type_string() }}) as group_id,
        cast(null as {{ dbt.type_string() }}) as student_id,
        cast(fidelity.caseload as {{ type_double() }}) as item_value,
        cast(fidelity.caseload as {{ dbt.type_int() }}) as item_n,
        'caseload ' || cast(fidelity.caseload as {{ dbt.type_string() }}) || ' students (limit '
            || cast({{ var('max_caseload') }} as {{ dbt.type_string() }}) || ')' as detail
    from fidelity
    where fidelity.caseload > {{ var('max_caseload') }}
),

-- ------------------------------------------------------------------ Tier 3 unserved, overdue exits
tier3_not_served as (
    select
        'tier3_not_served' as item,
        tiers.subject,
        row_number() over (
            partition by tiers.subject order by tiers.percentile, tiers.test_date, tiers.student_id
        ) as item_rank,
        tiers.school_id,
        tiers.grade,
        cast(null as {{ dbt.type_string() }}) as tutor_id,
        cast(null as {{ dbt.type_string() }}) as group_id,
        tiers.student_id,
        cast(tiers.percentile as {{ type_double() }}) as item_value,
        cast(null as {{ dbt.type_int() }}) as item_n,
        'Tier 3 on ' || cast(tiers.test_date as {{ dbt.type_string() }}) || ', '
            || case when participation.student_id is null then 'never in the program'
                    else 'left the program' end as detail
    from tiers
    left join participation
        on tiers.student_id = participation.student_id and tiers.subject = participation.subject
    where tiers.tier = 3
      and (participation.student_id is null or not participation.enrolled_at_as_of)
),

exit_overdue as (
    select
        'exit_overdue' as item,
        tiers.subject,
        row_number() over (
            partition by tiers.subject order by participation.latest_entry_date, tiers.student_id
        ) as item_rank,
        tiers.school_id,
        tiers.grade,
        participation.primary_tutor_id as tutor_id,
        cast(null as {{ dbt.type_string() }}) as group_id,
        tiers.student_id,
        cast(tiers.percentile as {{ type_double() }}) as item_value,
        cast(null as {{ dbt.type_int() }}) as item_n,
        'Tier 1 on ' || cast(tiers.test_date as {{ dbt.type_string() }}) || ', in the program since '
            || cast(participation.latest_entry_date as {{ dbt.type_string() }}) as detail
    from tiers
    inner join participation
        on tiers.student_id = participation.student_id and tiers.subject = participation.subject
    where tiers.tier = 1
      and participation.enrolled_at_as_of
      and tiers.test_date > participation.latest_entry_date
),

items as (
    select * from no_show_school
    union all select * from group_dosage
    union all select * from plateauing
    union all select * from over_caseload
    union all select * from tier3_not_served
    union all select * from exit_overdue
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(items.item as {{ dbt.type_string() }}) as item,
        cast(items.subject as {{ dbt.type_string() }}) as subject,
        cast(items.item_rank as {{ dbt.type_int() }}) as item_rank,
        cast(items.school_id as {{ dbt.type_string() }}) as school_id,
        cast(schools.school_name as {{ dbt.type_string() }}) as school_name,
        cast(coalesce(items.grade, students.grade) as {{ dbt.type_string() }}) as grade,
        cast(items.tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(items.group_id as {{ dbt.type_string() }}) as group_id,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(items.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(items.item_value as {{ type_double() }}) as item_value,
        cast(items.item_n as {{ dbt.type_int() }}) as item_n,
        cast(items.detail as {{ dbt.type_string() }}) as detail,
        cast({{ in_priority('items.subject', 'coalesce(items.grade, students.grade)') }} as {{ dbt.type_boolean() }})
            as in_priority
    from items
    left join schools on items.school_id = schools.school_id
    left join students on items.student_id = students.student_id
)

select * from final
