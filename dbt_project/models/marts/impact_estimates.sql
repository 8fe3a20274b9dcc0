-- impact_estimates: one row per cycle × subject × scope × group (aggregate; DESIGN §6, §7 impact).
-- Stratified ATT on growth_z (SD of the test score): strata = grade × baseline band; only strata
-- holding both treated and comparison students are kept (the matched sample, counted by n_treated
-- and n_comparison; treated students in other strata are n_treated_unmatched).
--   effect_sd = J · Σ_s w_s (ȳ_T,s − ȳ_C,s),  w_s = n_T,s / n_T,  J = 1 − 3 / (4 (n_T + n_C) − 9)
--   se        = J · √(Σ_s w_s² (v_T,s / n_T,s + v_C,s / n_C,s)), v = sample variance of growth_z in the
--               stratum and arm; for an arm of one student, that arm's pooled within-stratum variance
--               over the kept strata (its overall sample variance when no kept stratum has two)
--   ci        = effect_sd ± 1.96 se
--   baseline_diff_sd = Σ_s w_s (z̄_base,T,s − z̄_base,C,s) on the matched sample; _raw_sd unmatched
--   wwc_baseline_status on |baseline_diff_sd|: ≤ 0.05 satisfied, ≤ 0.25 requires_adjustment, else
--               not_equivalent
-- Estimates are rounded to 10 decimals (macro stable) so identical runs publish identical values.
-- Privacy: n_treated or n_comparison with 0 < n < min_n suppresses the row's counts and every
-- estimate (NULL, suppressed = true); a small n_treated_unmatched is NULL on its own.
with members as (
    select * from {{ ref('int_impact_members') }}
),

strata as (
    select
        scope_type, scope_value, group_name, subject, grade, baseline_band,
        sum(case when arm = 'treated' then 1 else 0 end) as n_t,
        sum(case when arm = 'comparison' then 1 else 0 end) as n_c,
        avg(case when arm = 'treated' then growth_z end) as mean_t,
        avg(case when arm = 'comparison' then growth_z end) as mean_c,
        var_samp(case when arm = 'treated' then growth_z end) as var_t,
        var_samp(case when arm = 'comparison' then growth_z end) as var_c,
        avg(case when arm = 'treated' then baseline_z end) as base_t,
        avg(case when arm = 'comparison' then baseline_z end) as base_c
    from members
    group by scope_type, scope_value, group_name, subject, grade, baseline_band
),

kept as (
    select * from strata where n_t > 0 and n_c > 0
),

-- pooled within-stratum variance per arm over the kept strata (for arms of one student)
pooled as (
    select
        scope_type, scope_value, group_name, subject,
        sum(n_t) as n_treated,
        sum(n_c) as n_comparison,
        count(*) as n_strata,
        sum(case when n_t >= 2 then (n_t - 1) * var_t else 0 end)
            / nullif(sum(case when n_t >= 2 then n_t - 1 else 0 end), 0) as pooled_var_t,
        sum(case when n_c >= 2 then (n_c - 1) * var_c else 0 end)
            / nullif(sum(case when n_c >= 2 then n_c - 1 else 0 end), 0) as pooled_var_c
    from kept
    group by scope_type, scope_value, group_name, subject
),

matched_members as (
    select members.*
    from members
    inner join kept
        on members.scope_type = kept.scope_type and members.scope_value = kept.scope_value
       and members.group_name = kept.group_name and members.subject = kept.subject
       and members.grade = kept.grade and members.baseline_band = kept.baseline_band
),

overall_var as (
    select
        scope_type, scope_value, group_name, subject,
        var_samp(case when arm = 'treated' then growth_z end) as all_var_t,
        var_samp(case when arm = 'comparison' then growth_z end) as all_var_c
    from matched_members
    group by scope_type, scope_value, group_name, subject
),

weighted as (
    select
        kept.scope_type, kept.scope_value, kept.group_name, kept.subject,
        sum(cast(kept.n_t as {{ type_double() }}) / pooled.n_treated * (kept.mean_t - kept.mean_c)) as raw_effect,
        sum(cast(kept.n_t as {{ type_double() }}) / pooled.n_treated * (kept.base_t - kept.base_c)) as baseline_diff,
        sum(
            (cast(kept.n_t as {{ type_double() }}) / pooled.n_treated)
            * (cast(kept.n_t as {{ type_double() }}) / pooled.n_treated)
            * (
                case when kept.n_t >= 2 then kept.var_t else coalesce(pooled.pooled_var_t, overall_var.all_var_t) end
                    / kept.n_t
                + case when kept.n_c >= 2 then kept.var_c else coalesce(pooled.pooled_var_c, overall_var.all_var_c) end
                    / kept.n_c
            )
        ) as raw_variance
    from kept
    inner join pooled
        on kept.scope_type = pooled.scope_type and kept.scope_value = pooled.scope_value
       and kept.group_name = pooled.group_name and kept.subject = pooled.subject
    left join overall_var
        on kept.scope_type = overall_var.scope_type and kept.scope_value = overall_var.scope_value
       and kept.group_name = overall_var.group_name and kept.subject = overall_var.subject
    group by kept.scope_type, kept.scope_value, kept.group_name, kept.subject
),

-- every scope × group × subject with a member, and its unmatched comparison
totals as (
    select
        scope_type, scope_value, group_name, subject,
        sum(case when arm = 'treated' then 1 else 0 end) as all_treated,
        avg(case when arm = 'treated' then baseline_z end) as all_base_t,
        avg(case when arm = 'comparison' then baseline_z end) as all_base_c
    from members
    group by scope_type, scope_value, group_name, subject
),

estimated as (
    select
        totals.scope_type, totals.scope_value, totals.group_name, totals.subject,
        coalesce(pooled.n_treated, 0) as n_treated,
        coalesce(pooled.n_comparison, 0) as n_comparison,
        coalesce(pooled.n_strata, 0) as n_strata,
        totals.all_treated - coalesce(pooled.n_treated, 0) as n_treated_unmatched,
        case when coalesce(pooled.n_treated, 0) + coalesce(pooled.n_comparison, 0) >= 3
             then 1 - 3.0 / (4 * (pooled.n_treated + pooled.n_comparison) - 9) end as hedges_j,
        weighted.raw_effect,
        weighted.raw_variance,
        weighted.baseline_diff,
        totals.all_base_t - totals.all_base_c as baseline_diff_raw
    from totals
    left join pooled
        on totals.scope_type = pooled.scope_type and totals.scope_value = pooled.scope_value
       and totals.group_name = pooled.group_name and totals.subject = pooled.subject
    left join weighted
        on totals.scope_type = weighted.scope_type and totals.scope_value = weighted.scope_value
       and totals.group_name = weighted.group_name and totals.subject = weighted.subject
),

with_se as (
    select
        estimated.*,
        hedges_j * raw_effect as effect_sd,
        hedges_j * sqrt(raw_variance) as se,
        ({{ is_small_count('n_treated') }} or {{ is_small_count('n_comparison') }}) as suppressed
    from estimated
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(scope_type as {{ dbt.type_string() }}) as scope_type,
        cast(scope_value as {{ dbt.type_string() }}) as scope_value,
        cast(group_name as {{ dbt.type_string() }}) as group_name,
        cast(case when not suppressed then n_treated end as {{ dbt.type_int() }}) as n_treated,
        cast(case when not suppressed then n_comparison end as {{ dbt.type_int() }}) as n_comparison,
        cast(case when not suppressed then n_strata end as {{ dbt.type_int() }}) as n_strata,
        cast(case when not suppressed then {{ stable('effect_sd') }} end as {{ type_double() }}) as effect_sd,
        cast(case when not suppressed then {{ stable('se') }} end as {{ type_double() }}) as se,
        cast(case when not suppressed then {{ stable('effect_sd - 1.96 * se') }} end as {{ type_double() }}) as ci_low,
        cast(case when not suppressed then {{ stable('effect_sd + 1.96 * se') }} end as {{ type_double() }}) as ci_high,
        cast(case when not suppressed then {{ stable('hedges_j') }} end as {{ type_double() }}) as hedges_j,
        cast(case when not suppressed then {{ stable('baseline_diff') }} end as {{ type_double() }}) as baseline_diff_sd,
        cast(case when not suppressed then {{ stable('baseline_diff_raw') }} end as {{ type_double() }}) as baseline_diff_raw_sd,
        cast(case when not {{ is_small_count('n_treated_unmatched') }} then n_treated_unmatched end
             as {{ dbt.type_int() }}) as n_treated_unmatched,
        cast(case
            when suppressed or baseline_diff is null then null
            when abs(baseline_diff) <= 0.05 then 'satisfied'
            when abs(baseline_diff) <= 0.25 then 'requires_adjustment'
            else 'not_equivalent'
        end as {{ dbt.type_string() }}) as wwc_baseline_status,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed,
        cast({{ in_priority('subject', "case when scope_type = 'grade' then scope_value end") }}
             as {{ dbt.type_boolean() }}) as in_priority
    from with_se
)

select * from final
