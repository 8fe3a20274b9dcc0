-- equity_by_subgroup: one row per cycle × subject × scope (district ALL, or a school) × dimension ×
-- value, each dimension with its 'ALL' total row (aggregate; DESIGN §6, §7 equity).
--   need_rate                = need (tier 2/3 on the latest screener) / tested
--   service_rate_among_need  = need students in the program / need
--   representation_index     = (group's share of served) / (group's share of need), shares within
--                              the scope and dimension
--   adequate_dosage_pct      = 100 × adequate / students with a dosage row this cycle
--   mean_growth_z            = mean growth_z of served students with growth (SD units)
--   effect_sd                = the ITT effect of the district subgroup (impact_estimates)
--   in_school_share          = mean in-school share of served students this cycle
-- Privacy (DESIGN §9): each count with 0 < n < min_n is withheld with every value derived from it,
-- and complementary suppression per count hides a second cell in any line (a school's values with
-- its ALL row, or a value's schools with the district row) that would otherwise hold exactly one
-- (macro suppress_counts). effect_sd comes from impact_estimates, which suppresses its own rows.
-- suppressed = any count of the row withheld.
with population as (
    select * from {{ ref('int_equity_students') }}
),

impact as (
    select * from {{ ref('impact_estimates') }}
    where cycle_id = {{ var_string('cycle_id') }} and group_name = 'itt'
),

expanded as (
    {{ expand_subgroups('population') }}
),

by_school as (
    select
        subject, school_id as scope_value, dimension, dimension_value,
        count(*) as n_students,
        sum(case when tested then 1 else 0 end) as n_tested,
        sum(case when need then 1 else 0 end) as n_need,
        sum(case when served then 1 else 0 end) as n_served,
        sum(case when served and need then 1 else 0 end) as n_served_need,
        sum(case when served_in_cycle then 1 else 0 end) as n_served_in_cycle,
        sum(case when served_in_cycle and adequate then 1 else 0 end) as n_adequate,
        sum(served_growth_z) as sum_growth_z,
        count(served_growth_z) as n_growth,
        sum(case when served_in_cycle then in_school_share end) as sum_in_school,
        count(case when served_in_cycle then in_school_share end) as n_in_school
    from expanded
    where school_id is not null
    group by subject, school_id, dimension, dimension_value
),

counts as (
    select 'school' as scope_type, by_school.* from by_school
    union all
    select
        'district', subject, 'ALL', dimension, dimension_value,
        sum(n_students), sum(n_tested), sum(n_need), sum(n_served), sum(n_served_need),
        sum(n_served_in_cycle), sum(n_adequate), sum(sum_growth_z), sum(n_growth), sum(sum_in_school),
        sum(n_in_school)
    from by_school
    group by subject, dimension, dimension_value
),

-- the dimension's total (value 'ALL') beside each row: a window, not a self-join (Spark plans each
-- reference of a CTE anew)
with_totals as (
    select
        counts.*,
        max(case when dimension_value = 'ALL' then n_served end)
            over (partition by scope_type, subject, scope_value, dimension) as total_served,
        max(case when dimension_value = 'ALL' then n_need end)
            over (partition by scope_type, subject, scope_value, dimension) as total_need
    from counts
),

{{ suppress_counts('counts', 'count_flags', ['subject', 'dimension'], 'scope_value', 'dimension_value',
                   ['n_students', 'n_tested', 'n_need', 'n_served', 'n_served_need', 'n_served_in_cycle', 'n_adequate', 'n_growth', 'n_in_school']) }},

measured as (
    select
        with_totals.*,
        {%- for m in ['n_students', 'n_tested', 'n_need', 'n_served', 'n_served_need', 'n_served_in_cycle', 'n_adequate', 'n_growth', 'n_in_school'] %}
        count_flags.{{ m }}_suppressed,
        {%- endfor %}
        (count_flags.n_need_suppressed or count_flags.n_tested_suppressed) as need_rate_suppressed,
        (count_flags.n_served_need_suppressed or count_flags.n_need_suppressed) as service_rate_suppressed,
        (count_flags.n_served_suppressed or count_flags.n_need_suppressed
         or max(case when count_flags.dimension_value = 'ALL'
                      then case when count_flags.n_served_suppressed or count_flags.n_need_suppressed then 1 else 0 end end)
                over (partition by count_flags.subject, count_flags.dimension, count_flags.scope_value) = 1)
            as representation_suppressed,
        (count_flags.n_adequate_suppressed or count_flags.n_served_in_cycle_suppressed) as adequate_suppressed,
        ({% for m in ['n_students', 'n_tested', 'n_need', 'n_served', 'n_served_need', 'n_served_in_cycle', 'n_adequate', 'n_growth', 'n_in_school'] %}count_flags.{{ m }}_suppressed{% if not loop.last %} or {% endif %}{% endfor %})
            as suppressed,
        {{ safe_ratio('with_totals.n_need', 'with_totals.n_tested') }} as need_rate,
        {{ safe_ratio('with_totals.n_served_need', 'with_totals.n_need') }} as service_rate_among_need,
        {{ safe_ratio('with_totals.n_served', 'with_totals.total_served') }}
            / nullif({{ safe_ratio('with_totals.n_need', 'with_totals.total_need') }}, 0) as representation_index,
        {{ safe_ratio('100 * with_totals.n_adequate', 'with_totals.n_served_in_cycle') }} as adequate_dosage_pct,
        {{ safe_ratio('with_totals.sum_growth_z', 'with_totals.n_growth') }} as mean_growth_z,
        {{ safe_ratio('with_totals.sum_in_school', 'with_totals.n_in_school') }} as in_school_share,
        impact.effect_sd
    from with_totals
    inner join count_flags
        on with_totals.subject = count_flags.subject and with_totals.dimension = count_flags.dimension
       and with_totals.scope_value = count_flags.scope_value
       and with_totals.dimension_value = count_flags.dimension_value
    left join impact
        on with_totals.scope_type = 'district'
       and impact.subject = with_totals.subject
       and (
            (with_totals.dimension_value = 'ALL' and impact.scope_type = 'district')
            or (impact.scope_type = 'subgroup'
                and impact.scope_value = with_totals.dimension || '=' || with_totals.dimension_value)
       )
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(scope_type as {{ dbt.type_string() }}) as scope_type,
        cast(scope_value as {{ dbt.type_string() }}) as scope_value,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(dimension_value as {{ dbt.type_string() }}) as value,
        {%- for c in ['n_students', 'n_tested', 'n_need', 'n_served', 'n_served_need', 'n_served_in_cycle', 'n_adequate'] %}
        cast(case when not {{ c }}_suppressed then {{ c }} end as {{ dbt.type_int() }}) as {{ c }},
        {%- endfor %}
        cast(case when not need_rate_suppressed then need_rate end as {{ type_double() }}) as need_rate,
        cast(case when not service_rate_suppressed then service_rate_among_need end as {{ type_double() }}) as service_rate_among_need,
        cast(case when not representation_suppressed then representation_index end as {{ type_double() }}) as representation_index,
        cast(case when not adequate_suppressed then adequate_dosage_pct end as {{ type_double() }}) as adequate_dosage_pct,
        cast(case when not n_growth_suppressed then mean_growth_z end as {{ type_double() }}) as mean_growth_z,
        cast(effect_sd as {{ type_double() }}) as effect_sd,
        cast(case when not n_in_school_suppressed then in_school_share end as {{ type_double() }}) as in_school_share,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed
    from measured
)

select * from final
