-- int_tier_as_of: one row per student × subject × point in time — `current` (as_of_date) and, from
-- the second cycle on, `prior` (previous_as_of_date) — holding the latest tierable benchmark result
-- (BOY/MOY/EOY) of the school year on or before that date. Ties on the test date prefer a result with
-- a percentile, then the vendor name, so the pick is deterministic.
-- Progress-monitoring (PM) probes are not universal screening and never set a tier.
with results as (
    select * from {{ ref('int_screener_results') }}
    where is_benchmark and tier is not null
),

points as (
    select 'current' as point, {{ var_date('as_of_date') }} as point_date
    {% if has_previous_cycle() %}
    union all
    select 'prior' as point, {{ var_date('previous_as_of_date') }} as point_date
    {% endif %}
),

candidates as (
    select
        points.point,
        points.point_date,
        results.*,
        row_number() over (
            partition by points.point, results.student_id, results.subject
            order by results.test_date desc,
                     case when results.percentile is null then 1 else 0 end,
                     results.vendor
        ) as recency_rank
    from results
    inner join points on results.test_date <= points.point_date
),

latest as (
    select
        point,
        point_date,
        student_id,
        subject,
        vendor,
        screening_window,
        test_date,
        tested_grade,
        scale_score,
        percentile,
        vendor_level,
        performance_level,
        meets_benchmark,
        tier_basis,
        tier_method,
        tier
    from candidates
    where recency_rank = 1
)

select * from latest
