-- int_checkpoint_students: one row per student × subject × checkpoint (30, 60, 90 days after the
-- student's first entry this school year) that the student has reached: entry + k ≤ as_of_date
-- (DESIGN §7 30-60-90). Every measure uses data up to entry + k only (students who exited earlier
-- still count); a NULL measure means the student has no data for it. Outcome measures need a
-- result after entry: early gain = a post-entry result in the window above the baseline score;
-- growth_z and band_up compare the baseline with the latest benchmark result after entry in the
-- window (a pre-entry result, often the one that prompted the referral, is not an outcome).
with participation as (
    select * from {{ ref('int_participation_ytd') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

student_weeks as (
    select * from {{ ref('int_student_weeks') }}
),

growth as (
    select * from {{ ref('student_growth') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

benchmark_z as (
    select * from {{ ref('int_benchmark_z') }}
),

results as (
    select * from {{ ref('int_screener_results') }}
),

family_contacts as (
    select * from {{ ref('stg_family_contacts') }}
),

surveys as (
    select * from {{ ref('stg_surveys') }}
    where respondent_type = 'student' and lower(item) = 'confidence'
),

marks as (
    select * from {{ ref('int_student_marks') }}
),

students as (
    select * from {{ ref('int_students') }}
),

checkpoints as (
    select 30 as checkpoint_day union all select 60 union all select 90
),

eligible as (
    select
        participation.student_id,
        participation.subject,
        participation.first_entry_date as entry_date,
        checkpoints.checkpoint_day,
        cast({{ dbt.dateadd('day', 'checkpoints.checkpoint_day', 'participation.first_entry_date') }} as date)
            as window_end,
        participation.primary_tutor_type,
        participation.primary_partner_org
    from participation
    cross join checkpoints
    where cast({{ dbt.dateadd('day', 'checkpoints.checkpoint_day', 'participation.first_entry_date') }} as date)
          <= {{ var_date('as_of_date') }}
),

window_sessions as (
    select
        eligible.student_id, eligible.subject, eligible.checkpoint_day,
        sum(case when sessions.is_attended then 1 else 0 end) as attended,
        sum(case when sessions.is_student_absent then 1 else 0 end) as student_absent,
        sum(sessions.attended_minutes) as minutes,
        max(case when sessions.is_attended
                  and sessions.session_date <= {{ dbt.dateadd('day', 13, 'eligible.entry_date') }} then 1 else 0 end)
            as started,
        max(case when sessions.is_attended
                  and sessions.session_date > {{ dbt.dateadd('day', -14, 'eligible.window_end') }} then 1 else 0 end)
            as attended_last_14
    from eligible
    inner join sessions
        on eligible.student_id = sessions.student_id
       and eligible.subject = sessions.subject
       and sessions.session_date >= eligible.entry_date
       and sessions.session_date <= eligible.window_end
    group by eligible.student_id, eligible.subject, eligible.checkpoint_day
),

window_tutors as (
    select student_id, subject, checkpoint_day, max(n_with_tutor) as with_primary
    from (
        select eligible.student_id, eligible.subject, eligible.checkpoint_day, sessions.tutor_id,
               count(*) as n_with_tutor
        from eligible
        inner join sessions
            on eligible.student_id = sessions.student_id
           and eligible.subject = sessions.subject
           and sessions.session_date >= eligible.entry_date
           and sessions.session_date <= eligible.window_end
        where sessions.is_attended and sessions.tutor_id is not null
        group by eligible.student_id, eligible.subject, eligible.checkpoint_day, sessions.tutor_id
    ) as per_tutor
    group by student_id, subject, checkpoint_day
),

window_weeks as (
    select eligible.student_id, eligible.subject, eligible.checkpoint_day, count(*) as enrolled_weeks
    from eligible
    inner join student_weeks
        on eligible.student_id = student_weeks.student_id
       and eligible.subject = student_weeks.subject
       and student_weeks.week_start >= {{ week_start('eligible.entry_date') }}
       and student_weeks.week_start <= eligible.window_end
    group by eligible.student_id, eligible.subject, eligible.checkpoint_day
),

contacts as (
    select eligible.student_id, eligible.subject, eligible.checkpoint_day, count(*) as n_contacts
    from eligible
    inner join family_contacts
        on eligible.student_id = family_contacts.student_id
       and family_contacts.contact_date >= eligible.entry_date
       and family_contacts.contact_date <= eligible.window_end
    group by eligible.student_id, eligible.subject, eligible.checkpoint_day
),

has_contact_feed as (
    select count(*) > 0 as has_feed from family_contacts
),

early_gain as (
    select eligible.student_id, eligible.subject, eligible.checkpoint_day,
           max(case when results.scale_score > growth.baseline_score then 1 else 0 end) as gained
    from eligible
    inner join growth on eligible.student_id = growth.student_id and eligible.subject = growth.subject
    inner join results
        on eligible.student_id = results.student_id
       and eligible.subject = results.subject
       and results.vendor = growth.vendor
       and results.test_date > eligible.entry_date
       and results.test_date <= eligible.window_end
    group by eligible.student_id, eligible.subject, eligible.checkpoint_day
),

latest_by_window as (
    select * from (
        select
            eligible.student_id, eligible.subject, eligible.checkpoint_day,
            benchmark_z.z_score, benchmark_z.performance_level, benchmark_z.test_date,
            row_number() over (
                partition by eligible.student_id, eligible.subject, eligible.checkpoint_day
                order by benchmark_z.test_date desc, benchmark_z.screening_window desc
            ) as r
        from eligible
        inner join growth on eligible.student_id = growth.student_id and eligible.subject = growth.subject
        inner join benchmark_z
            on eligible.student_id = benchmark_z.student_id
           and eligible.subject = benchmark_z.subject
           and benchmark_z.vendor = growth.vendor
           and benchmark_z.test_date > growth.baseline_date
           and benchmark_z.test_date > eligible.entry_date
           and benchmark_z.test_date <= eligible.window_end
    ) as ranked
    where r = 1
),

confidence as (
    select student_id, subject, checkpoint_day,
           max(case when r_last = 1 then response end) - max(case when r_first = 1 then response end) as change
    from (
        select
            eligible.student_id, eligible.subject, eligible.checkpoint_day, surveys.response,
            row_number() over (partition by eligible.student_id, eligible.subject, eligible.checkpoint_day
                               order by surveys.survey_date) as r_first,
            row_number() over (partition by eligible.student_id, eligible.subject, eligible.checkpoint_day
                               order by surveys.survey_date desc) as r_last,
            count(*) over (partition by eligible.student_id, eligible.subject, eligible.checkpoint_day) as n
        from eligible
        inner join surveys
            on eligible.student_id = surveys.student_id
           and surveys.survey_date >= {{ dbt.dateadd('day', -30, 'eligible.entry_date') }}
           and surveys.survey_date <= eligible.window_end
    ) as responses
    where n >= 2
    group by student_id, subject, checkpoint_day
),

failing_before as (
    select * from (
        select eligible.student_id, eligible.subject, eligible.checkpoint_day, marks.failing,
               row_number() over (partition by eligible.student_id, eligible.subject, eligible.checkpoint_day
                                  order by marks.term_end_date desc) as r
        from eligible
        inner join marks
            on eligible.student_id = marks.student_id and eligible.subject = marks.subject
           and marks.term_end_date <= eligible.entry_date
    ) as ranked
    where r = 1
),

failing_after as (
    select * from (
        select eligible.student_id, eligible.subject, eligible.checkpoint_day, marks.failing,
               row_number() over (partition by eligible.student_id, eligible.subject, eligible.checkpoint_day
                                  order by marks.term_end_date desc) as r
        from eligible
        inner join marks
            on eligible.student_id = marks.student_id and eligible.subject = marks.subject
           and marks.term_end_date > eligible.entry_date
           and marks.term_end_date <= eligible.window_end
    ) as ranked
    where r = 1
),

joined as (
    select
        eligible.student_id,
        eligible.subject,
        eligible.checkpoint_day,
        eligible.entry_date,
        eligible.window_end,
        students.school_id,
        students.grade,
        students.race,
        students.sex,
        students.hispanic,
        students.ell,
        students.iep,
        students.section_504,
        students.econ_disadv,
        students.homeless,
        students.foster,
        eligible.primary_tutor_type,
        eligible.primary_partner_org,
        growth.baseline_z,
        cast(floor(growth.baseline_z / {{ var('baseline_band_sd') }}) as {{ dbt.type_int() }}) as baseline_band,
        -- day 30
        cast(coalesce(window_sessions.started, 0) as {{ type_double() }}) as started,
        {{ safe_ratio('window_sessions.attended', 'window_sessions.attended + window_sessions.student_absent') }}
            as attendance_rate,
        case when has_contact_feed.has_feed
             then cast(case when coalesce(contacts.n_contacts, 0) > 0 then 1 else 0 end as {{ type_double() }}) end
            as family_contact,
        -- day 60
        {{ safe_ratio('coalesce(window_sessions.minutes, 0)', var('weekly_minutes') ~ ' * window_weeks.enrolled_weeks') }}
            as attainment,
        {{ safe_ratio('window_tutors.with_primary', 'window_sessions.attended') }} as tutor_consistency,
        cast(coalesce(window_sessions.attended_last_14, 0) as {{ type_double() }}) as persistence,
        cast(early_gain.gained as {{ type_double() }}) as early_gain,
        -- day 90
        latest_by_window.z_score - growth.baseline_z as growth_z,
        case when latest_by_window.performance_level is not null and growth.baseline_level is not null
             then cast(case when latest_by_window.performance_level > growth.baseline_level then 1 else 0 end
                       as {{ type_double() }}) end as band_up,
        cast(confidence.change as {{ type_double() }}) as confidence_change,
        case when failing_before.student_id is not null and failing_after.student_id is not null
             then cast(case when failing_after.failing then 1 else 0 end as {{ type_double() }})
                  - cast(case when failing_before.failing then 1 else 0 end as {{ type_double() }}) end
            as failing_change
    from eligible
    cross join has_contact_feed
    left join students on eligible.student_id = students.student_id
    left join growth on eligible.student_id = growth.student_id and eligible.subject = growth.subject
    left join window_sessions
        on eligible.student_id = window_sessions.student_id and eligible.subject = window_sessions.subject
       and eligible.checkpoint_day = window_sessions.checkpoint_day
    left join window_tutors
        on eligible.student_id = window_tutors.student_id and eligible.subject = window_tutors.subject
       and eligible.checkpoint_day = window_tutors.checkpoint_day
    left join window_weeks
        on eligible.student_id = window_weeks.student_id and eligible.subject = window_weeks.subject
       and eligible.checkpoint_day = window_weeks.checkpoint_day
    left join contacts
        on eligible.student_id = contacts.student_id and eligible.subject = contacts.subject
       and eligible.checkpoint_day = contacts.checkpoint_day
    left join early_gain
        on eligible.student_id = early_gain.student_id and eligible.subject = early_gain.subject
       and eligible.checkpoint_day = early_gain.checkpoint_day
    left join latest_by_window
        on eligible.student_id = latest_by_window.student_id and eligible.subject = latest_by_window.subject
       and eligible.checkpoint_day = latest_by_window.checkpoint_day
    left join confidence
        on eligible.student_id = confidence.student_id and eligible.subject = confidence.subject
       and eligible.checkpoint_day = confidence.checkpoint_day
    left join failing_before
        on eligible.student_id = failing_before.student_id and eligible.subject = failing_before.subject
       and eligible.checkpoint_day = failing_before.checkpoint_day
    left join failing_after
        on eligible.student_id = failing_after.student_id and eligible.subject = failing_after.subject
       and eligible.checkpoint_day = failing_after.checkpoint_day
)

select
    joined.*,
    case when attainment is not null
         then cast(case when attainment >= {{ var('adequate_share') }} then 1 else 0 end as {{ type_double() }}) end
        as adequate
from joined
