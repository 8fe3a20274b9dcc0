-- accountability_alignment: one row per cycle × subject × scope (district ALL, or a school) × ESSA
-- dimension × value (each dimension with its 'ALL' total) × group (aggregate; DESIGN §6, §7).
-- Tutoring read against the state accountability test the district is judged by.
-- Population: students with a state result in the subject last school year or this one
-- (int_state_results). Groups:
--   all_students  the whole population
--   tutored       treated students of the impact sample (≥ 1 attended session, a baseline and a
--                 later benchmark result) in grade × baseline-band strata that also hold comparison
--                 students within the row's cell — the impact estimate's matching (int_impact_sample)
--   comparison    the matched comparison students (baseline Tier 2/3, never in the program) of those
--                 strata; their pct_* are reweighted to the tutored students' strata:
--                 Σ_s w_s p_C,s with w_s = the tutored denominator's share in stratum s (strata where
--                 both groups have a denominator), so tutored and comparison compare like with like
-- Measures (pct_* are 0–100):
--   pct_prior_proficient      proficient last year / tested last year
--   pct_current_proficient    proficient this year / tested this year (once the results arrive)
--   pct_level_up              moved up ≥ 1 achievement level / tested both years
--   pct_bubble_served         bubble students (one level below proficient last year) with ≥ 1
--                             attended session this year / bubble students (all_students only)
--   pct_bubble_to_proficient  bubble students proficient this year / bubble students tested this year
--   pct_screener_proficient   latest screener result ≤ as_of meets benchmark / screened — the
--                             in-year prediction shown beside the state result before it arrives
-- Privacy (DESIGN §9): the state's minimum n (var state_min_n, never below min_n) applies: every
-- count with 0 < n < state_min_n is withheld with every share derived from it, and complementary
-- suppression per count hides a second cell in any line (a school's values with its ALL row, or a
-- value's schools with the district row) that would otherwise hold exactly one (macro
-- suppress_counts). suppressed = any count of the row withheld.
{%- set flag = "case when {0} then 'true' when not {0} then 'false' else 'unknown' end" %}
{%- set dims = [('grade', "coalesce(grade, 'unknown')"), ('ell', flag.format('ell')), ('iep', flag.format('iep')),
                ('econ_disadv', flag.format('econ_disadv')), ('race', "coalesce(race, 'unknown')")] %}
{%- set indicators = ['prior_tested', 'prior_proficient', 'current_tested', 'current_proficient', 'both_tested',
                      'level_up', 'bubble', 'bubble_served', 'bubble_current', 'bubble_to_proficient',
                      'screener_tested', 'screener_meets'] %}
{%- set shares = [('prior_proficient', 'prior_tested'), ('current_proficient', 'current_tested'),
                  ('level_up', 'both_tested'), ('bubble_to_proficient', 'bubble_current'),
                  ('screener_meets', 'screener_tested')] %}
{%- set share_names = {'screener_meets': 'screener_proficient'} %}
{%- set counts_list = ['n_students'] %}
{%- for i in indicators %}{% do counts_list.append('n_' ~ i) %}{% endfor %}
with state_results as (
    select * from {{ ref('int_state_results') }}
),

students as (
    select * from {{ ref('int_students') }}
),

impact_sample as (
    select * from {{ ref('int_impact_sample') }}
),

participation as (
    select * from {{ ref('int_participation_ytd') }}
),

screener as (
    select student_id, subject, meets_benchmark
    from {{ ref('student_tiers') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

population as (
    select
        state_results.student_id,
        state_results.subject,
        students.school_id,
        students.grade,
        students.race,
        students.ell,
        students.iep,
        students.econ_disadv,
        impact_sample.arm,
        coalesce(impact_sample.grade, 'unknown') as stratum_grade,
        impact_sample.baseline_band,
        case when state_results.prior_level is not null then 1 else 0 end as prior_tested,
        case when state_results.prior_proficient then 1 else 0 end as prior_proficient,
        case when state_results.current_level is not null then 1 else 0 end as current_tested,
        case when state_results.current_proficient then 1 else 0 end as current_proficient,
        case when state_results.prior_level is not null and state_results.current_level is not null
             then 1 else 0 end as both_tested,
        case when state_results.current_level >= state_results.prior_level + 1 then 1 else 0 end as level_up,
        case when state_results.bubble then 1 else 0 end as bubble,
        case when state_results.bubble and coalesce(participation.attended_sessions_ytd, 0) > 0
             then 1 else 0 end as bubble_served,
        case when state_results.bubble and state_results.current_level is not null then 1 else 0 end as bubble_current,
        case when state_results.bubble and state_results.current_proficient then 1 else 0 end as bubble_to_proficient,
        case when screener.meets_benchmark is not null then 1 else 0 end as screener_tested,
        case when screener.meets_benchmark then 1 else 0 end as screener_meets
    from state_results
    inner join students on state_results.student_id = students.student_id
    left join impact_sample
        on state_results.student_id = impact_sample.student_id and state_results.subject = impact_sample.subject
    left join participation
        on state_results.student_id = participation.student_id and state_results.subject = participation.subject
    left join screener
        on state_results.student_id = screener.student_id and state_results.subject = screener.subject
),

expanded as (
    {{ expand_subgroups('population', dims) }}
),

scoped as (
    select 'district' as scope_type, 'ALL' as scope_value, expanded.* from expanded
    union all
    select 'school', school_id, expanded.* from expanded where school_id is not null
),

-- the impact estimate's matching, within each cell: strata holding both arms
strata as (
    select
        scope_value, dimension, dimension_value, subject, stratum_grade, baseline_band,
        sum(case when arm = 'treated' then 1 else 0 end) as n_t,
        sum(case when arm = 'comparison' then 1 else 0 end) as n_c
    from scoped
    where arm is not null
    group by scope_value, dimension, dimension_value, subject, stratum_grade, baseline_band
),

matched as (
    select scoped.*
    from scoped
    inner join strata
        on scoped.scope_value = strata.scope_value and scoped.dimension = strata.dimension
       and scoped.dimension_value = strata.dimension_value and scoped.subject = strata.subject
       and scoped.stratum_grade = strata.stratum_grade and scoped.baseline_band = strata.baseline_band
    where strata.n_t > 0 and strata.n_c > 0 and scoped.arm is not null
),

members as (
    select 'all_students' as group_name, scoped.* from scoped
    union all
    select case when arm = 'treated' then 'tutored' else 'comparison' end, matched.* from matched
),

counts as (
    select
        subject, group_name, dimension, scope_value, dimension_value,
        max(scope_type) as scope_type,
        count(*) as n_students
        {%- for i in indicators %},
        sum({{ i }}) as n_{{ i }}
        {%- endfor %}
    from members
    group by subject, group_name, dimension, scope_value, dimension_value
),

-- comparison shares reweighted to the tutored students' strata
stratum_sums as (
    select
        subject, dimension, scope_value, dimension_value, stratum_grade, baseline_band
        {%- for num, den in shares %},
        sum(case when group_name = 'tutored' then {{ den }} else 0 end) as t_{{ den }},
        sum(case when group_name = 'comparison' then {{ den }} else 0 end) as c_{{ den }},
        sum(case when group_name = 'comparison' then {{ num }} else 0 end) as c_{{ num }}
        {%- endfor %}
    from members
    where group_name in ('tutored', 'comparison')
    group by subject, dimension, scope_value, dimension_value, stratum_grade, baseline_band
),

reweighted as (
    select
        subject, 'comparison' as group_name, dimension, scope_value, dimension_value
        {%- for num, den in shares %},
        sum(case when t_{{ den }} > 0 and c_{{ den }} > 0 then t_{{ den }} * {{ safe_ratio('c_' ~ num, 'c_' ~ den) }} end)
            / nullif(sum(case when t_{{ den }} > 0 and c_{{ den }} > 0 then t_{{ den }} end), 0) as w_{{ num }}
        {%- endfor %}
    from stratum_sums
    group by subject, dimension, scope_value, dimension_value
),

{{ suppress_counts('counts', 'count_flags', ['subject', 'group_name', 'dimension'], 'scope_value', 'dimension_value',
                   counts_list, passes=6, min_n=var('state_min_n')) }},

measured as (
    select
        counts.*,
        {%- for c in counts_list %}
        count_flags.{{ c }}_suppressed,
        {%- endfor %}
        ({% for c in counts_list %}count_flags.{{ c }}_suppressed{% if not loop.last %} or {% endif %}{% endfor %})
            as suppressed,
        {%- for num, den in shares %}
        case when counts.group_name = 'comparison' then 100 * reweighted.w_{{ num }}
             else {{ safe_ratio('100 * counts.n_' ~ num, 'counts.n_' ~ den) }} end as pct_{{ num }},
        (count_flags.n_{{ num }}_suppressed or count_flags.n_{{ den }}_suppressed) as pct_{{ num }}_suppressed,
        {%- endfor %}
        case when counts.group_name = 'all_students' then {{ safe_ratio('100 * counts.n_bubble_served', 'counts.n_bubble') }}
             end as pct_bubble_served,
        (count_flags.n_bubble_served_suppressed or count_flags.n_bubble_suppressed) as pct_bubble_served_suppressed
    from counts
    inner join count_flags
        on counts.subject = count_flags.subject and counts.group_name = count_flags.group_name
       and counts.dimension = count_flags.dimension and counts.scope_value = count_flags.scope_value
       and counts.dimension_value = count_flags.dimension_value
    left join reweighted
        on counts.subject = reweighted.subject and counts.group_name = reweighted.group_name
       and counts.dimension = reweighted.dimension and counts.scope_value = reweighted.scope_value
       and counts.dimension_value = reweighted.dimension_value
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
        cast(group_name as {{ dbt.type_string() }}) as group_name,
        {%- for c in counts_list %}
        cast(case when not {{ c }}_suppressed then {{ c }} end as {{ dbt.type_int() }}) as {{ c }},
        {%- endfor %}
        {%- for num, den in shares %}
        cast(case when not pct_{{ num }}_suppressed then {{ stable('pct_' ~ num) }} end as {{ type_double() }})
            as pct_{{ share_names.get(num, num) }},
        {%- endfor %}
        cast(case when not pct_bubble_served_suppressed then {{ stable('pct_bubble_served') }} end as {{ type_double() }})
            as pct_bubble_served,
        cast({{ in_priority('subject', "case when dimension = 'grade' then dimension_value end") }} as {{ dbt.type_boolean() }})
            as in_priority,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed
    from measured
)

select * from final
