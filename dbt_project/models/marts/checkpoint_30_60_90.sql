-- checkpoint_30_60_90: one row per cycle × subject × scope × checkpoint (30, 60, 90 days after entry)
-- × metric (aggregate; DESIGN §6, §7 30-60-90). A student counts at checkpoint k once entry + k ≤
-- as_of, using data up to entry + k; n = those students with data for the metric. Metrics, default
-- targets and directions come from the checkpoint_metrics seed; owners and actions from the
-- config's owners (by category). Day-90 effect_vs_comparison_sd is the stratified (grade × baseline
-- band) difference in mean growth_z against the impact comparison group (weights = treated per
-- stratum, no J correction); largest_subgroup_gap_sd is the largest shortfall of a subgroup's mean
-- growth_z below the rest of its scope, over subgroups with ≥ min_n students on both sides.
-- Privacy: n with 0 < n < min_n suppresses the row's n, value and status; a second school (or
-- grade) is suppressed when exactly one would be, since schools and grades add up to the district.
{%- set metrics = {
    30: ['started_share:started', 'attendance_rate:attendance_rate', 'family_contact_share:family_contact'],
    60: ['dosage_attainment:attainment', 'adequate_dosage_share:adequate', 'tutor_consistency:tutor_consistency',
         'persistence_share:persistence', 'early_gain_share:early_gain'],
    90: ['mean_growth_z:growth_z', 'band_up_share:band_up', 'confidence_change:confidence_change',
         'failing_grade_share_change:failing_change'],
} %}
with students as (
    select * from {{ ref('int_checkpoint_students') }}
),

comparison as (
    select * from {{ ref('int_impact_sample') }}
    where arm = 'comparison'
),

metric_defs as (
    select * from {{ ref('checkpoint_metrics') }}
),

owners as (
    select category, min(owner) as owner, min(action_if_low) as action_if_low
    from ({{ owners_values() }}) as configured
    group by category
),

tutor_types as (
    select distinct primary_tutor_type as scope_value from students where primary_tutor_type is not null
),

partner_orgs as (
    select distinct primary_partner_org as scope_value from students where primary_partner_org is not null
),

-- every scope a row counts in: one scan of the rows joined to the list of scopes (macro
-- scope_rows) — Spark plans each reference of a CTE anew, and a union of one scan per scope
-- read this many times filled its driver's heap
scoped as (
    {{ scope_rows('students') }}
),

metric_columns as (
    {%- for day, pairs in metrics.items() %}
    {%- set outer = loop %}
    {%- for pair in pairs %}
    select {{ day }} as checkpoint_day, '{{ pair.split(':')[0] }}' as metric
    {%- if not (outer.last and loop.last) %} union all{% endif %}
    {%- endfor %}
    {%- endfor %}
),

long_values as (
    select scoped.scope_type, scoped.scope_value, scoped.subject, scoped.checkpoint_day, metric_columns.metric,
           case
               {%- for day, pairs in metrics.items() %}
               {%- for pair in pairs %}
               {%- set metric, column = pair.split(':') %}
               when metric_columns.metric = '{{ metric }}' then scoped.{{ column }}
               {%- endfor %}
               {%- endfor %}
           end as value
    from scoped
    inner join metric_columns on scoped.checkpoint_day = metric_columns.checkpoint_day
),

simple_metrics as (
    select scope_type, scope_value, subject, checkpoint_day, metric,
           avg(value) as value, count(value) as n
    from long_values
    group by scope_type, scope_value, subject, checkpoint_day, metric
),

-- day 90: stratified difference in growth_z vs the comparison group
comparison_scoped as (
    {{ scope_rows('comparison', tutor_types='tutor_types', partner_orgs='partner_orgs') }}
),

treated_strata as (
    select scope_type, scope_value, subject, grade, baseline_band,
           count(*) as n_t, avg(growth_z) as mean_t
    from scoped
    where checkpoint_day = 90 and growth_z is not null and baseline_band is not null
    group by scope_type, scope_value, subject, grade, baseline_band
),

comparison_strata as (
    select scope_type, scope_value, subject, grade, baseline_band,
           count(*) as n_c, avg(growth_z) as mean_c
    from comparison_scoped
    group by scope_type, scope_value, subject, grade, baseline_band
),

effect_metric as (
    select
        t.scope_type, t.scope_value, t.subject, 90 as checkpoint_day, 'effect_vs_comparison_sd' as metric,
        sum(t.n_t * (t.mean_t - c.mean_c)) / sum(t.n_t) as value,
        sum(t.n_t) as n
    from treated_strata as t
    inner join comparison_strata as c
        on t.scope_type = c.scope_type and t.scope_value = c.scope_value and t.subject = c.subject
       and t.grade = c.grade and t.baseline_band = c.baseline_band
    group by t.scope_type, t.scope_value, t.subject
),

-- day 90: largest subgroup shortfall in mean growth_z within each non-subgroup scope
growth_90 as (
    select * from scoped where checkpoint_day = 90 and growth_z is not null and scope_type <> 'subgroup'
),

subgroup_members as (
    select growth_90.scope_type, growth_90.scope_value, growth_90.subject, growth_90.student_id, growth_90.growth_z,
           subgroups.scope_value as subgroup
    from growth_90
    inner join scoped as subgroups
        on subgroups.scope_type = 'subgroup' and subgroups.student_id = growth_90.student_id
       and subgroups.subject = growth_90.subject and subgroups.checkpoint_day = growth_90.checkpoint_day
),

scope_growth as (
    select scope_type, scope_value, subject, count(*) as n_all, sum(growth_z) as sum_all
    from growth_90
    group by scope_type, scope_value, subject
),

subgroup_growth as (
    select scope_type, scope_value, subject, subgroup, count(*) as n_g, sum(growth_z) as sum_g
    from subgroup_members
    group by scope_type, scope_value, subject, subgroup
),

gap_metric as (
    select
        scope_growth.scope_type, scope_growth.scope_value, scope_growth.subject,
        90 as checkpoint_day, 'largest_subgroup_gap_sd' as metric,
        max(
            case when subgroup_growth.n_g >= {{ var('min_n') | int }}
                  and scope_growth.n_all - subgroup_growth.n_g >= {{ var('min_n') | int }}
                 then (scope_growth.sum_all - subgroup_growth.sum_g) / (scope_growth.n_all - subgroup_growth.n_g)
                      - subgroup_growth.sum_g / subgroup_growth.n_g
            end
        ) as value,
        max(scope_growth.n_all) as n
    from scope_growth
    left join subgroup_growth
        on scope_growth.scope_type = subgroup_growth.scope_type
       and scope_growth.scope_value = subgroup_growth.scope_value
       and scope_growth.subject = subgroup_growth.subject
    group by scope_growth.scope_type, scope_growth.scope_value, scope_growth.subject
),

all_metrics as (
    select * from simple_metrics
    union all
    select * from effect_metric
    union all
    select * from gap_metric
),

-- privacy: primary suppression, then complements among schools and among grades (each line adds
-- up to the district row, copied into the line as its ALL cell)
cells as (
    select subject, checkpoint_day, metric, scope_type as line_type, 'ALL' as line, scope_value, n,
           {{ is_small_count('n') }} as suppressed
    from all_metrics
    where scope_type in ('school', 'grade')
    union all
    select subject, checkpoint_day, metric, line_type.scope_type, 'ALL', 'ALL', n, {{ is_small_count('n') }}
    from all_metrics
    cross join (select 'school' as scope_type union all select 'grade') as line_type
    where all_metrics.scope_type = 'district'
),

{{ complementary_suppression('cells', 'final_cells', ['subject', 'checkpoint_day', 'metric', 'line_type'], 'line', 'scope_value', 'n', 'suppressed', passes=2) }},

district_cells as (
    select subject, checkpoint_day, metric, max(case when suppressed then 1 else 0 end) = 1 as suppressed
    from final_cells
    where scope_value = 'ALL'
    group by subject, checkpoint_day, metric
),

flagged as (
    select
        all_metrics.*,
        case
            when all_metrics.scope_type in ('school', 'grade') then school_grade.suppressed
            when all_metrics.scope_type = 'district' then district_cells.suppressed
            else {{ is_small_count('all_metrics.n') }}
        end as suppressed
    from all_metrics
    left join final_cells as school_grade
        on school_grade.line_type = all_metrics.scope_type
       and school_grade.subject = all_metrics.subject
       and school_grade.checkpoint_day = all_metrics.checkpoint_day
       and school_grade.metric = all_metrics.metric
       and school_grade.scope_value = all_metrics.scope_value
    left join district_cells
        on all_metrics.scope_type = 'district'
       and district_cells.subject = all_metrics.subject
       and district_cells.checkpoint_day = all_metrics.checkpoint_day
       and district_cells.metric = all_metrics.metric
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(flagged.subject as {{ dbt.type_string() }}) as subject,
        cast(flagged.scope_type as {{ dbt.type_string() }}) as scope_type,
        cast(flagged.scope_value as {{ dbt.type_string() }}) as scope_value,
        cast(flagged.checkpoint_day as {{ dbt.type_int() }}) as checkpoint_day,
        cast(flagged.metric as {{ dbt.type_string() }}) as metric,
        cast(metric_defs.category as {{ dbt.type_string() }}) as category,
        cast(case when not flagged.suppressed then flagged.value end as {{ type_double() }}) as value,
        cast(metric_defs.target as {{ type_double() }}) as target,
        cast(metric_defs.direction as {{ dbt.type_string() }}) as direction,
        cast(case when not flagged.suppressed then
            {{ metric_status('flagged.value', 'metric_defs.target', 'metric_defs.direction') }}
        end as {{ dbt.type_string() }}) as status,
        cast(owners.owner as {{ dbt.type_string() }}) as owner,
        cast(owners.action_if_low as {{ dbt.type_string() }}) as action_if_low,
        cast(metric_defs.unit as {{ dbt.type_string() }}) as unit,
        cast(case when not flagged.suppressed then flagged.n end as {{ dbt.type_int() }}) as n,
        cast(flagged.suppressed as {{ dbt.type_boolean() }}) as suppressed
    from flagged
    inner join metric_defs
        on flagged.checkpoint_day = metric_defs.checkpoint_day and flagged.metric = metric_defs.metric
    left join owners on metric_defs.owner_category = owners.category
)

select * from final
