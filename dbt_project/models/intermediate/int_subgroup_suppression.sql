-- int_subgroup_suppression: one row per subject × school (and 'ALL') × dimension × value (and 'ALL')
-- — every student count the subgroup marts publish or imply, and whether it is withheld (DESIGN §9).
-- equity_by_subgroup, identification_audit and tier_distribution publish the same quantities
-- (a school's tested students, its need, its Tier 3…; tier_distribution's school × grade cells are
-- the grade dimension's), so the suppression is decided once, here, and all three read it: a count
-- withheld in one mart is never published in another. The counts a cell implies by subtraction
-- (tested − need = Tier 1, need − Tier 3 = Tier 2, served − served with need, …) are suppressed as
-- counts in their own right (macro suppress_counts, whose `equations` tie each to its total and
-- parts). The grade dimension is always computed (tier_distribution needs it), even when
-- `subgroup_dimensions` leaves it out of the equity marts. expectations/recoverability.py is the
-- attacker's check gate 2 runs on the result.
{%- set measures = ['n_students', 'n_tested', 'n_untested', 'n_need', 'n_tier1', 'n_tier2', 'n_tier3',
                    'n_tier3_not_served', 'n_tier3_served', 'n_need_not_referred',
                    'n_referred', 'n_referred_with_need', 'n_referred_without_need', 'n_teacher_referred', 'n_hidden_need',
                    'n_served', 'n_served_need', 'n_served_without_need', 'n_served_in_cycle', 'n_adequate',
                    'n_not_adequate', 'n_growth', 'n_in_school'] %}
{%- set equations = [
    ['n_students', 'n_tested', 'n_untested'],
    ['n_tested', 'n_tier1', 'n_need'],
    ['n_need', 'n_tier2', 'n_tier3'],
    ['n_tested', 'n_tier1', 'n_tier2', 'n_tier3'],
    ['n_tier3', 'n_tier3_not_served', 'n_tier3_served'],
    ['n_need', 'n_referred_with_need', 'n_need_not_referred'],
    ['n_referred', 'n_referred_with_need', 'n_referred_without_need'],
    ['n_served', 'n_served_need', 'n_served_without_need'],
    ['n_served_in_cycle', 'n_adequate', 'n_not_adequate'],
] %}
with population as (
    select * from {{ ref('int_equity_students') }}
),

expanded as (
    {{ expand_subgroups('population') }}
    {%- if 'grade' not in var('subgroup_dimensions') %}
    union all
    select 'grade' as dimension, coalesce(grade, 'unknown') as dimension_value, population.* from population
    union all
    select 'grade' as dimension, 'ALL' as dimension_value, population.* from population
    {%- endif %}
),

by_school as (
    select
        subject, school_id, dimension, dimension_value,
        count(*) as n_students,
        sum(case when tested then 1 else 0 end) as n_tested,
        sum(case when not tested then 1 else 0 end) as n_untested,
        sum(case when need then 1 else 0 end) as n_need,
        sum(case when tier = 1 then 1 else 0 end) as n_tier1,
        sum(case when tier = 2 then 1 else 0 end) as n_tier2,
        sum(case when tier3 then 1 else 0 end) as n_tier3,
        sum(case when tier3 and not served then 1 else 0 end) as n_tier3_not_served,
        sum(case when tier3 and served then 1 else 0 end) as n_tier3_served,
        sum(case when need and not referred then 1 else 0 end) as n_need_not_referred,
        sum(case when referred then 1 else 0 end) as n_referred,
        sum(case when referred and need then 1 else 0 end) as n_referred_with_need,
        sum(case when referred and not need then 1 else 0 end) as n_referred_without_need,
        sum(case when teacher_referred then 1 else 0 end) as n_teacher_referred,
        sum(case when hidden_need then 1 else 0 end) as n_hidden_need,
        sum(case when served then 1 else 0 end) as n_served,
        sum(case when served and need then 1 else 0 end) as n_served_need,
        sum(case when served and not need then 1 else 0 end) as n_served_without_need,
        sum(case when served_in_cycle then 1 else 0 end) as n_served_in_cycle,
        sum(case when served_in_cycle and adequate then 1 else 0 end) as n_adequate,
        sum(case when served_in_cycle and not adequate then 1 else 0 end) as n_not_adequate,
        count(served_growth_z) as n_growth,
        count(case when served_in_cycle then in_school_share end) as n_in_school
    from expanded
    where school_id is not null
    group by subject, school_id, dimension, dimension_value
),

counts as (
    select * from by_school
    union all
    select
        subject, 'ALL', dimension, dimension_value
        {%- for m in measures %}, sum({{ m }}){% endfor %}
    from by_school
    group by subject, dimension, dimension_value
),

{{ suppress_counts('counts', 'count_flags', ['subject', 'dimension'], 'school_id', 'dimension_value', measures,
                   equations=equations, largest_first_along='dimension_value') }}

select
    counts.*
    {%- for m in measures %},
    count_flags.{{ m }}_suppressed
    {%- endfor %}
from counts
inner join count_flags
    on counts.subject = count_flags.subject and counts.dimension = count_flags.dimension
   and counts.school_id = count_flags.school_id and counts.dimension_value = count_flags.dimension_value
