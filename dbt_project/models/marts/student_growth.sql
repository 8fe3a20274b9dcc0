-- student_growth: one row per student × subject × cycle with a benchmark result this school year on
-- or before as_of_date (DESIGN §7 growth). The vendor is that of the latest benchmark result (ties by
-- vendor name); baseline = the earliest benchmark result of the school year for the subject and
-- that vendor; latest = the most recent one on or before as_of. growth, growth_z, growth_percentile
-- and band_movement are NULL until a result later than the baseline exists.
--   growth            = latest_score − baseline_score (vendor scale points)
--   growth_z          = z_latest − z_baseline (z within year × vendor × subject × grade × window)
--   growth_percentile = 100 × percent rank of growth among students of the same vendor × subject ×
--                       grade × baseline performance level
--   band_movement     = latest_level − baseline_level (performance levels)
-- tutored ⇔ in the program in the subject with ≥ 1 attended session by as_of; dosage_band by YTD
-- attainment (0_50, 50_80, 80_plus).
with results as (
    select * from {{ ref('int_benchmark_z') }}
),

students as (
    select * from {{ ref('int_students') }}
),

participation as (
    select * from {{ ref('int_participation_ytd') }}
),

latest_vendor as (
    select student_id, subject, vendor from (
        select student_id, subject, vendor,
               row_number() over (partition by student_id, subject order by test_date desc, vendor) as r
        from results
    ) as ranked
    where r = 1
),

vendor_results as (
    select
        results.*,
        row_number() over (partition by results.student_id, results.subject
                           order by results.test_date, results.screening_window) as from_first,
        row_number() over (partition by results.student_id, results.subject
                           order by results.test_date desc, results.screening_window desc) as from_last
    from results
    inner join latest_vendor
        on results.student_id = latest_vendor.student_id
       and results.subject = latest_vendor.subject
       and results.vendor = latest_vendor.vendor
),

paired as (
    select
        baseline.student_id,
        baseline.subject,
        baseline.vendor,
        baseline.norm_grade,
        baseline.test_date as baseline_date,
        baseline.screening_window as baseline_window,
        baseline.scale_score as baseline_score,
        baseline.percentile as baseline_percentile,
        baseline.performance_level as baseline_level,
        baseline.tier as baseline_tier,
        baseline.z_score as baseline_z,
        latest.test_date as latest_date,
        latest.screening_window as latest_window,
        latest.scale_score as latest_score,
        latest.percentile as latest_percentile,
        latest.performance_level as latest_level,
        latest.z_score as latest_z,
        (latest.test_date > baseline.test_date) as has_later_result
    from vendor_results as baseline
    inner join vendor_results as latest
        on baseline.student_id = latest.student_id
       and baseline.subject = latest.subject
       and latest.from_last = 1
    where baseline.from_first = 1
),

grown as (
    select
        paired.*,
        case when has_later_result then latest_score - baseline_score end as growth,
        case when has_later_result then latest_z - baseline_z end as growth_z,
        case when has_later_result then latest_level - baseline_level end as band_movement
    from paired
),

ranked as (
    select
        grown.*,
        case when growth is not null then
            100 * percent_rank() over (
                partition by vendor, subject, norm_grade, baseline_level,
                             case when growth is null then 0 else 1 end
                order by growth
            )
        end as growth_percentile
    from grown
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(students.student_key as {{ dbt.type_string() }}) as student_key,
        cast(ranked.student_id as {{ dbt.type_string() }}) as student_id,
        cast(students.student_name as {{ dbt.type_string() }}) as student_name,
        cast(students.school_id as {{ dbt.type_string() }}) as school_id,
        cast(coalesce(students.grade, ranked.norm_grade) as {{ dbt.type_string() }}) as grade,
        cast(ranked.subject as {{ dbt.type_string() }}) as subject,
        cast(ranked.vendor as {{ dbt.type_string() }}) as vendor,
        cast(ranked.baseline_date as date) as baseline_date,
        cast(ranked.baseline_window as {{ dbt.type_string() }}) as baseline_window,
        cast(ranked.baseline_score as {{ type_double() }}) as baseline_score,
        cast(ranked.baseline_percentile as {{ type_double() }}) as baseline_percentile,
        cast(ranked.baseline_level as {{ dbt.type_int() }}) as baseline_level,
        cast(ranked.baseline_tier as {{ dbt.type_int() }}) as baseline_tier,
        cast(ranked.baseline_z as {{ type_double() }}) as baseline_z,
        cast(ranked.latest_date as date) as latest_date,
        cast(ranked.latest_window as {{ dbt.type_string() }}) as latest_window,
        cast(ranked.latest_score as {{ type_double() }}) as latest_score,
        cast(ranked.latest_percentile as {{ type_double() }}) as latest_percentile,
        cast(ranked.latest_level as {{ dbt.type_int() }}) as latest_level,
        cast(ranked.latest_z as {{ type_double() }}) as latest_z,
        cast(ranked.growth as {{ type_double() }}) as growth,
        cast(ranked.growth_z as {{ type_double() }}) as growth_z,
        cast(ranked.growth_percentile as {{ type_double() }}) as growth_percentile,
        cast(ranked.band_movement as {{ dbt.type_int() }}) as band_movement,
        cast(coalesce(participation.attended_sessions_ytd, 0) > 0 as {{ dbt.type_boolean() }}) as tutored,
        cast(participation.attainment_ytd as {{ type_double() }}) as dosage_attainment_ytd,
        cast(case
            when coalesce(participation.attended_sessions_ytd, 0) = 0 then null
            when coalesce(participation.attainment_ytd, 0) < 0.5 then '0_50'
            when participation.attainment_ytd < 0.8 then '50_80'
            else '80_plus'
        end as {{ dbt.type_string() }}) as dosage_band
    from ranked
    left join students on ranked.student_id = students.student_id
    left join participation
        on ranked.student_id = participation.student_id
       and ranked.subject = participation.subject
)

select * from final
