-- int_screener_results: one row per overall screener result in reading or math tested in the school
-- year, with the vendor's printed level mapped through the vendor_levels seed and the MTSS tier the
-- result implies (DESIGN §5 tiers, §7):
--   * percentile basis (MAP, i-Ready, Star): percentile < tier3_below ⇒ 3, < tier2_below ⇒ 2, else 1;
--     without a percentile the level decides (tier_method = level_no_percentile, counted as a warning);
--   * level basis (DIBELS 8, or tiers.basis = level for the whole district): the vendor level decides.
-- A result with neither a percentile nor a known level has no tier (tier_method NULL).
with results as (
    select * from {{ ref('stg_screener_results') }}
    where subject in ('reading', 'math')
      and test_date >= {{ var_date('school_year_start') }}
),

overall_levels as (
    select * from {{ ref('vendor_levels') }}
    where scope = 'overall'
),

vendor_basis as (
    select lower(trim(vendor)) as vendor_norm, max(tier_basis) as tier_basis
    from {{ ref('vendor_levels') }}
    group by lower(trim(vendor))
),

leveled as (
    select
        results.*,
        overall_levels.performance_level,
        overall_levels.meets_benchmark,
        overall_levels.level_tier,
        case
            when '{{ var("tier_basis") }}' = 'level' then 'level'
            else coalesce(vendor_basis.tier_basis, 'percentile')
        end as tier_basis,
        (results.screening_window in ('BOY', 'MOY', 'EOY')) as is_benchmark
    from results
    left join overall_levels
        on lower(trim(results.vendor)) = lower(trim(overall_levels.vendor))
       and lower(trim(results.vendor_level)) = lower(trim(overall_levels.label))
    left join vendor_basis
        on lower(trim(results.vendor)) = vendor_basis.vendor_norm
),

tiered as (
    select
        leveled.*,
        case
            when tier_basis = 'percentile' and percentile is not null then
                case
                    when percentile < {{ var('tier3_below') }} then 3
                    when percentile < {{ var('tier2_below') }} then 2
                    else 1
                end
            else level_tier
        end as tier,
        case
            when tier_basis = 'percentile' and percentile is not null then 'percentile'
            when level_tier is not null and tier_basis = 'level' then 'level'
            when level_tier is not null then 'level_no_percentile'
        end as tier_method
    from leveled
)

select * from tiered
