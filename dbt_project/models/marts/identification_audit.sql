-- identification_audit: one row per cycle × subject × school (and 'ALL') × dimension × value, each
-- dimension with its 'ALL' total (aggregate; DESIGN §6, §7 identification). Does identification
-- follow need? Tier 3 students not served, referrals with and without screener need, and the
-- referral rate among need by group — the bias check:
--   referral_rate_among_need = need students referred / need students
--   referral_gap             = the group's rate − the rate of everyone else in the school and dimension
--   under_referred           = the published group with the largest negative gap in its school and dimension
-- Privacy (DESIGN §9): each count with 0 < n < min_n is withheld with every value derived from it;
-- complementary suppression per count across the school and value lines, and within a cell for
-- referred = with need + without need (macro suppress_counts); along the district's values the
-- complement is the largest group, so a small group's district rate is not withheld to protect
-- another small cell (e.g. ell=unknown). suppressed = any count withheld.
{#- the row's dimension total (value 'ALL', one per subject × school × dimension) by a window, not a
    self-join: Spark plans every reference of a CTE anew, and count_flags is a long chain -#}
{%- set total_row = "over (partition by counts.subject, counts.school_id, counts.dimension)" %}
with population as (
    select * from {{ ref('int_equity_students') }}
),

expanded as (
    {{ expand_subgroups('population') }}
),

by_school as (
    select
        subject, school_id, dimension, dimension_value,
        count(*) as n_students,
        sum(case when tested then 1 else 0 end) as n_tested,
        sum(case when need then 1 else 0 end) as n_need,
        sum(case when tier3 then 1 else 0 end) as n_tier3,
        sum(case when tier3 and not served then 1 else 0 end) as n_tier3_not_served,
        sum(case when referred then 1 else 0 end) as n_referred,
        sum(case when referred and need then 1 else 0 end) as n_referred_with_need,
        sum(case when referred and not need then 1 else 0 end) as n_referred_without_need,
        sum(case when teacher_referred then 1 else 0 end) as n_teacher_referred,
        sum(case when hidden_need then 1 else 0 end) as n_hidden_need
    from expanded
    where school_id is not null
    group by subject, school_id, dimension, dimension_value
),

counts as (
    select * from by_school
    union all
    select
        subject, 'ALL', dimension, dimension_value,
        sum(n_students), sum(n_tested), sum(n_need), sum(n_tier3), sum(n_tier3_not_served), sum(n_referred),
        sum(n_referred_with_need), sum(n_referred_without_need), sum(n_teacher_referred), sum(n_hidden_need)
    from by_school
    group by subject, dimension, dimension_value
),

{{ suppress_counts('counts', 'count_flags', ['subject', 'dimension'], 'school_id', 'dimension_value',
                   ['n_students', 'n_tested', 'n_need', 'n_tier3', 'n_tier3_not_served', 'n_referred', 'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need'],
                   equations=[['n_referred', 'n_referred_with_need', 'n_referred_without_need']],
                   rounds=4, largest_first_along='dimension_value') }},

flagged as (
    select
        counts.*,
        {%- for m in ['n_students', 'n_tested', 'n_need', 'n_tier3', 'n_tier3_not_served', 'n_referred', 'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need'] %}
        count_flags.{{ m }}_suppressed,
        {%- endfor %}
        (count_flags.n_referred_with_need_suppressed or count_flags.n_need_suppressed) as rate_suppressed,
        (count_flags.n_referred_with_need_suppressed or count_flags.n_need_suppressed
         or max(case when counts.dimension_value = 'ALL' then case when count_flags.n_referred_with_need_suppressed
                                                                or count_flags.n_need_suppressed then 1 else 0 end end)
                {{ total_row }} = 1)
            as gap_suppressed,
        max(case when counts.dimension_value = 'ALL' then counts.n_referred_with_need end) {{ total_row }} as total_referred_with_need,
        max(case when counts.dimension_value = 'ALL' then counts.n_need end) {{ total_row }} as total_need,
        ({% for m in ['n_students', 'n_tested', 'n_need', 'n_tier3', 'n_tier3_not_served', 'n_referred', 'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need'] %}count_flags.{{ m }}_suppressed{% if not loop.last %} or {% endif %}{% endfor %})
            as suppressed
    from counts
    inner join count_flags
        on counts.subject = count_flags.subject and counts.dimension = count_flags.dimension
       and counts.school_id = count_flags.school_id and counts.dimension_value = count_flags.dimension_value
),

with_rest as (
    select
        flagged.*,
        {{ safe_ratio('flagged.n_referred_with_need', 'flagged.n_need') }} as referral_rate_among_need,
        case when flagged.dimension_value <> 'ALL' then
            {{ safe_ratio('flagged.n_referred_with_need', 'flagged.n_need') }}
            - {{ safe_ratio('flagged.total_referred_with_need - flagged.n_referred_with_need', 'flagged.total_need - flagged.n_need') }}
        end as referral_gap
    from flagged
),

ranked as (
    select
        with_rest.*,
        case when not gap_suppressed and referral_gap < 0 then
            row_number() over (
                partition by subject, school_id, dimension,
                             case when not gap_suppressed and referral_gap < 0 then 1 else 0 end
                order by referral_gap, dimension_value
            )
        end as gap_rank
    from with_rest
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(dimension_value as {{ dbt.type_string() }}) as value,
        {%- for c in ['n_students', 'n_tested', 'n_need', 'n_tier3', 'n_tier3_not_served', 'n_referred', 'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need'] %}
        cast(case when not {{ c }}_suppressed then {{ c }} end as {{ dbt.type_int() }}) as {{ c }},
        {%- endfor %}
        cast(case when not rate_suppressed then referral_rate_among_need end as {{ type_double() }}) as referral_rate_among_need,
        cast(case when not gap_suppressed then referral_gap end as {{ type_double() }}) as referral_gap,
        cast(case when not gap_suppressed and dimension_value <> 'ALL' then coalesce(gap_rank = 1, false) end
             as {{ dbt.type_boolean() }}) as under_referred,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed
    from ranked
)

select * from final
