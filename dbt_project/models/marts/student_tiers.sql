-- student_tiers: one row per student × subject × cycle for every student with a tierable benchmark
-- result in the subject in the school year on or before as_of_date (DESIGN §6, §7).
-- tier from the latest such result (int_tier_as_of); prior_tier by the same rule at
-- previous_as_of_date (NULL in the first cycle). Triangulation flags (multiple measures):
--   chronic_absence  attendance rate ≤ chronic_absence_max_rate over ≥ chronic_absence_min_days
--                    enrolled days, present and tardy counting as attended
--   failing_grade    a failing mark in a class of the subject in the latest term ended ≤ as_of
--   teacher_referred a referral in the subject by a teacher on or before as_of
-- hidden_need ⇔ tier 1 and at least two of the three flags.
with tiers as (
    select * from {{ ref('int_tier_as_of') }}
),

students as (
    select * from {{ ref('int_students') }}
),

attendance as (
    select * from {{ ref('int_student_attendance') }}
),

failing as (
    select * from {{ ref('int_failing_grades') }}
),

referrals as (
    select * from {{ ref('int_referrals') }}
),

current_tiers as (
    select * from tiers where point = 'current'
),

prior_tiers as (
    select * from tiers where point = 'prior'
),

flagged as (
    select
        current_tiers.*,
        prior_tiers.tier as prior_tier,
        attendance.attendance_rate as school_attendance_rate,
        coalesce(attendance.chronic_absence, false) as chronic_absence,
        coalesce(failing.failing_grade, false) as failing_grade,
        coalesce(referrals.teacher_referred, false) as teacher_referred
    from current_tiers
    left join prior_tiers
        on current_tiers.student_id = prior_tiers.student_id
       and current_tiers.subject = prior_tiers.subject
    left join attendance on current_tiers.student_id = attendance.student_id
    left join failing
        on current_tiers.student_id = failing.student_id
       and current_tiers.subject = failing.subject
    left join referrals
        on current_tiers.student_id = referrals.student_id
       and current_tiers.subject = referrals.subject
),

scored as (
    select
        flagged.*,
        (case when chronic_absence then 1 else 0 end
         + case when failing_grade then 1 else 0 end
         + case when teacher_referred then 1 else 0 end) as n_flags
    from flagged
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(scored.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(students.grade as {{ dbt.type_string() }}) as grade,
        cast(scored.subject as {{ dbt.type_string() }}) as subject,
        cast(scored.vendor as {{ dbt.type_string() }}) as vendor,
        cast(scored.screening_window as {{ dbt.type_string() }}) as screening_window,
        cast(scored.test_date as date) as test_date,
        cast(scored.scale_score as {{ type_double() }}) as scale_score,
        cast(scored.percentile as {{ type_double() }}) as percentile,
        cast(scored.vendor_level as {{ dbt.type_string() }}) as vendor_level,
        cast(scored.performance_level as {{ dbt.type_int() }}) as performance_level,
        cast(scored.meets_benchmark as {{ dbt.type_boolean() }}) as meets_benchmark,
        cast(scored.tier as {{ dbt.type_int() }}) as tier,
        cast(scored.tier_method as {{ dbt.type_string() }}) as tier_method,
        cast(scored.prior_tier as {{ dbt.type_int() }}) as prior_tier,
        cast(case
            when scored.prior_tier is null then null
            when scored.tier < scored.prior_tier then 'improved'
            when scored.tier > scored.prior_tier then 'declined'
            else 'unchanged'
        end as {{ dbt.type_string() }}) as tier_change,
        cast(scored.school_attendance_rate as {{ type_double() }}) as school_attendance_rate,
        cast(scored.chronic_absence as {{ dbt.type_boolean() }}) as chronic_absence,
        cast(scored.failing_grade as {{ dbt.type_boolean() }}) as failing_grade,
        cast(scored.teacher_referred as {{ dbt.type_boolean() }}) as teacher_referred,
        cast(scored.n_flags as {{ dbt.type_int() }}) as n_flags,
        cast(scored.tier = 1 and scored.n_flags >= 2 as {{ dbt.type_boolean() }}) as hidden_need
    from scored
    left join students on scored.student_id = students.student_id
)

select * from final
