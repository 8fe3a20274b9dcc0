-- program_costs: one row per cycle × vendor (a partner_org; in_house for district staff) and 'ALL'
-- (aggregate; DESIGN §6, §7 cost).
--   allocated_cost_usd  invoices allocated to the cycle pro rata by days of overlap with
--                       [cycle_start, as_of_date], plus in-house tutors' delivered hours × in_house_hourly_usd
--   cost per student served, per student-hour, per adequate-dosage student (this cycle)
--   cost_per_0_1_sd     = cost per student served / (10 × effect), only when the ITT effect is positive
--                       and published; the effect pools the subjects' estimates for the provider
--                       (weighted by n_treated; district effect for ALL)
-- Privacy: a vendor serving 0 < n < min_n students has its student counts and per-student costs
-- withheld, and one more vendor is withheld when exactly one would be (the ALL row is their total).
with invoices as (
    select * from {{ ref('stg_invoices') }}
    where period_start <= {{ var_date('as_of_date') }}
      and period_end >= {{ var_date('cycle_start') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
    where in_cycle
),

tutors as (
    select * from {{ ref('int_tutors') }}
),

dosage as (
    select * from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

impact as (
    select * from {{ ref('impact_estimates') }}
    where cycle_id = {{ var_string('cycle_id') }} and group_name = 'itt' and not suppressed
      and effect_sd is not null
),

allocated_invoices as (
    select
        vendor,
        coalesce(funding_source, 'unspecified') as funding_source,
        amount_usd
            * ({{ dbt.datediff(
                    'case when period_start > ' ~ var_date('cycle_start') ~ ' then period_start else ' ~ var_date('cycle_start') ~ ' end',
                    'case when period_end < ' ~ var_date('as_of_date') ~ ' then period_end else ' ~ var_date('as_of_date') ~ ' end',
                    'day') }} + 1)
            / cast({{ dbt.datediff('period_start', 'period_end', 'day') }} + 1 as {{ type_double() }}) as allocated_usd
    from invoices
),

session_vendors as (
    select
        sessions.*,
        coalesce(tutors.partner_org, sessions.partner_org, 'in_house') as vendor
    from sessions
    left join tutors on sessions.tutor_id = tutors.tutor_id
),

in_house_meetings as (
    select tutor_id, meeting_key, max(session_duration) as minutes
    from session_vendors
    where vendor = 'in_house' and is_attended
    group by tutor_id, meeting_key
),

in_house_cost as (
    select
        'in_house' as vendor,
        'in_house_staff' as funding_source,
        sum(minutes) / 60.0 * {{ var('in_house_hourly_usd') }} as allocated_usd
    from in_house_meetings
    having count(*) > 0
),

costs as (
    select vendor, funding_source, allocated_usd from allocated_invoices
    union all
    select vendor, funding_source, allocated_usd from in_house_cost
),

cost_by_vendor as (
    select vendor, sum(allocated_usd) as allocated_usd from costs group by vendor
    union all
    select 'ALL', sum(allocated_usd) from costs
),

funding as (
    select vendor, funding_source, sum(allocated_usd) as usd from costs group by vendor, funding_source
    union all
    select 'ALL', funding_source, sum(allocated_usd) from costs group by funding_source
),

funding_mix as (
    select
        funding.vendor,
        {{ dbt.listagg(
            "funding.funding_source || ': ' || cast(cast(round(100 * funding.usd / nullif(cost_by_vendor.allocated_usd, 0)) as " ~ dbt.type_int() ~ ") as " ~ dbt.type_string() ~ ") || '%'",
            "'; '",
            "order by funding.funding_source") }} as funding_mix
    from funding
    inner join cost_by_vendor on funding.vendor = cost_by_vendor.vendor
    group by funding.vendor
),

served as (
    select
        vendor,
        count(distinct case when is_attended then student_id end) as n_students_served,
        sum(attended_minutes) / 60.0 as student_hours
    from session_vendors
    group by vendor
    union all
    select
        'ALL',
        count(distinct case when is_attended then student_id end),
        sum(attended_minutes) / 60.0
    from session_vendors
),

adequate as (
    select coalesce(tutors.partner_org, 'in_house') as vendor, count(*) as n_adequate
    from dosage
    left join tutors on dosage.primary_tutor_id = tutors.tutor_id
    where dosage.adequate_dosage and dosage.primary_tutor_id is not null
    group by coalesce(tutors.partner_org, 'in_house')
    union all
    select 'ALL', count(*) from dosage where adequate_dosage
),

effects as (
    select scope_value as vendor,
           sum(effect_sd * n_treated) / nullif(sum(n_treated), 0) as effect_sd
    from impact
    where scope_type = 'partner_org'
    group by scope_value
    union all
    select 'ALL', sum(effect_sd * n_treated) / nullif(sum(n_treated), 0)
    from impact
    where scope_type = 'district'
),

vendors as (
    select vendor from cost_by_vendor
    union
    select vendor from served
),

joined as (
    select
        vendors.vendor,
        cost_by_vendor.allocated_usd,
        funding_mix.funding_mix,
        coalesce(served.n_students_served, 0) as n_students_served,
        coalesce(served.student_hours, 0) as student_hours,
        coalesce(adequate.n_adequate, 0) as n_adequate,
        effects.effect_sd
    from vendors
    left join cost_by_vendor on vendors.vendor = cost_by_vendor.vendor
    left join funding_mix on vendors.vendor = funding_mix.vendor
    left join served on vendors.vendor = served.vendor
    left join adequate on vendors.vendor = adequate.vendor
    left join effects on vendors.vendor = effects.vendor
),

cells as (
    select
        'ALL' as line,
        vendor,
        n_students_served,
        ({{ is_small_count('n_students_served') }} or {{ is_small_count('n_adequate') }}) as suppressed
    from joined
),

{{ complementary_suppression('cells', 'final_cells', [], 'line', 'vendor', 'n_students_served', 'suppressed', passes=2) }},

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(joined.vendor as {{ dbt.type_string() }}) as vendor,
        cast(coalesce(joined.allocated_usd, 0) as {{ type_double() }}) as allocated_cost_usd,
        cast(joined.funding_mix as {{ dbt.type_string() }}) as funding_mix,
        cast(case when not final_cells.suppressed then joined.n_students_served end as {{ dbt.type_int() }}) as n_students_served,
        cast(case when not final_cells.suppressed then joined.student_hours end as {{ type_double() }}) as student_hours,
        cast(case when not final_cells.suppressed then joined.n_adequate end as {{ dbt.type_int() }}) as n_adequate,
        cast(case when not final_cells.suppressed
                  then {{ safe_ratio('joined.allocated_usd', 'joined.n_students_served') }} end as {{ type_double() }})
            as cost_per_student,
        cast(case when not final_cells.suppressed
                  then {{ safe_ratio('joined.allocated_usd', 'joined.student_hours') }} end as {{ type_double() }})
            as cost_per_student_hour,
        cast(case when not final_cells.suppressed
                  then {{ safe_ratio('joined.allocated_usd', 'joined.n_adequate') }} end as {{ type_double() }})
            as cost_per_adequate_student,
        cast(joined.effect_sd as {{ type_double() }}) as effect_sd,
        cast(case when not final_cells.suppressed and joined.effect_sd > 0
                  then {{ safe_ratio('joined.allocated_usd', 'joined.n_students_served') }} / (10 * joined.effect_sd)
             end as {{ type_double() }}) as cost_per_0_1_sd,
        cast(final_cells.suppressed as {{ dbt.type_boolean() }}) as suppressed
    from joined
    inner join final_cells on joined.vendor = final_cells.vendor
)

select * from final
