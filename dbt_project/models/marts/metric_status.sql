-- metric_status: one row per cycle × configured owner metric (aggregate; DESIGN §6, §7 owners) —
-- the named-owner dashboard. Values for the five default metrics:
--   weekly_attendance_rate   attended / (attended + student_absent) over every dosage row this cycle
--   minutes_per_week         mean attended minutes per enrolled student-week this cycle
--   observed_session_rubric  mean rubric score of this cycle's observations (tutor_fidelity 'all' row)
--   benchmark_growth         mean growth_z of tutored students with a later benchmark result
--   growth_by_subgroup       the largest shortfall of a subgroup's mean growth_z below the rest of
--                            the tutored students (subgroups with ≥ min_n students on both sides)
-- A configured metric the pipeline does not compute has a NULL value. n is the students (or, for the
-- rubric, observations) behind the value; a student count 0 < n < min_n withholds the value.
{%- set flags = ['ell', 'iep', 'section_504', 'econ_disadv', 'homeless', 'foster', 'hispanic'] %}
with owners as (
    {{ owners_values() }}
),

dosage as (
    select * from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

weekly as (
    select * from {{ ref('student_weekly_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

fidelity as (
    select * from {{ ref('tutor_fidelity') }}
    where cycle_id = {{ var_string('cycle_id') }} and rollup_level = 'all'
),

growth as (
    select growth.*, students.race, students.sex
        {%- for flag in flags %}, students.{{ flag }}{% endfor %}
    from {{ ref('student_growth') }} as growth
    left join {{ ref('int_students') }} as students on growth.student_id = students.student_id
    where growth.cycle_id = {{ var_string('cycle_id') }} and growth.tutored and growth.growth_z is not null
),

subgroup_members as (
    {%- for flag in flags %}
    select '{{ flag }}=true' as subgroup, growth_z from growth where {{ flag }}
    union all
    {%- endfor %}
    select 'race=' || race, growth_z from growth where race is not null
    union all
    select 'sex=' || sex, growth_z from growth where sex is not null
),

totals as (
    select count(*) as n_all, sum(growth_z) as sum_all from growth
),

subgroups as (
    select subgroup, count(*) as n_g, sum(growth_z) as sum_g from subgroup_members group by subgroup
),

computed as (
    select 'weekly_attendance_rate' as metric,
           {{ safe_ratio('sum(sessions_attended)', 'sum(sessions_attended + sessions_student_absent)') }} as value,
           sum(case when sessions_attended + sessions_student_absent > 0 then 1 else 0 end) as n,
           true as counts_students
    from dosage
    union all
    select 'minutes_per_week', avg(cast(minutes_attended as {{ type_double() }})), count(distinct student_id), true
    from weekly
    union all
    select 'observed_session_rubric', max(mean_rubric_score), max(n_observations), false
    from fidelity
    union all
    select 'benchmark_growth', avg(growth_z), count(*), true
    from growth
    union all
    select
        'growth_by_subgroup',
        max(case when subgroups.n_g >= {{ var('min_n') | int }} and totals.n_all - subgroups.n_g >= {{ var('min_n') | int }}
                 then (totals.sum_all - subgroups.sum_g) / (totals.n_all - subgroups.n_g) - subgroups.sum_g / subgroups.n_g
            end),
        max(totals.n_all),
        true
    from totals
    left join subgroups on 1 = 1
),

joined as (
    select
        owners.*,
        computed.value,
        coalesce(computed.n, 0) as n,
        coalesce(computed.counts_students and {{ is_small_count('computed.n') }}, false) as suppressed
    from owners
    left join computed on owners.metric = computed.metric
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(owner as {{ dbt.type_string() }}) as owner,
        cast(case when not suppressed then value end as {{ type_double() }}) as value,
        cast(target as {{ type_double() }}) as target,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(case when not suppressed then {{ metric_status('value', 'target', 'direction') }} end
             as {{ dbt.type_string() }}) as status,
        cast(action_if_low as {{ dbt.type_string() }}) as action_if_low,
        cast(case when not suppressed then n end as {{ dbt.type_int() }}) as n,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed
    from joined
)

select * from final
