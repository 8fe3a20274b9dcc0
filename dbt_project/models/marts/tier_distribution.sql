-- tier_distribution: one row per cycle × subject × school (and 'ALL') × grade (and 'ALL') with at
-- least one tiered student (aggregate mart; DESIGN §6, §9).
-- n_students counts students with a tierable screener result in the subject on or before as_of
-- (student_tiers); pct_tier* are 0–100; *_in_band compares with the MTSS model bands; pyramid_shape:
-- healthy (pct_tier1 ≥ 75), top_heavy (50 ≤ pct_tier1 < 75), inverted (< 50).
-- Small cells, count by count: a count 0 < n < min_n is NULL with its percentage, and complementary
-- suppression withholds further counts so none can be recovered from a line (a school's grades + its
-- ALL row, a grade's schools + the ALL row), from the cell's other counts (n_students = Tier 1 + 2 +
-- 3) or from the subgroup marts that publish the same counts (int_subgroup_suppression decides for
-- all of them). A school with one small tier keeps its other counts; suppressed = any count withheld.
with tiers as (
    select * from {{ ref('student_tiers') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

by_school_grade as (
    select subject, school_id, grade,
        count(*) as n_students,
        sum(case when tier = 1 then 1 else 0 end) as n_tier1,
        sum(case when tier = 2 then 1 else 0 end) as n_tier2,
        sum(case when tier = 3 then 1 else 0 end) as n_tier3
    from tiers
    group by subject, school_id, grade
),

by_school as (
    select subject, school_id, 'ALL' as grade,
        count(*) as n_students,
        sum(case when tier = 1 then 1 else 0 end) as n_tier1,
        sum(case when tier = 2 then 1 else 0 end) as n_tier2,
        sum(case when tier = 3 then 1 else 0 end) as n_tier3
    from tiers
    group by subject, school_id
),

by_grade as (
    select subject, 'ALL' as school_id, grade,
        count(*) as n_students,
        sum(case when tier = 1 then 1 else 0 end) as n_tier1,
        sum(case when tier = 2 then 1 else 0 end) as n_tier2,
        sum(case when tier = 3 then 1 else 0 end) as n_tier3
    from tiers
    group by subject, grade
),

by_district as (
    select subject, 'ALL' as school_id, 'ALL' as grade,
        count(*) as n_students,
        sum(case when tier = 1 then 1 else 0 end) as n_tier1,
        sum(case when tier = 2 then 1 else 0 end) as n_tier2,
        sum(case when tier = 3 then 1 else 0 end) as n_tier3
    from tiers
    group by subject
),

counts as (
    select * from by_school_grade
    union all select * from by_school
    union all select * from by_grade
    union all select * from by_district
),

-- suppression per count, decided with the subgroup marts (their grade dimension is this table:
-- tested = n_students, Tier 1/2/3); a count small on its own is withheld here too, whatever the
-- shared flags say, so no published count is ever 0 < n < min_n
flags as (
    select subject, school_id, dimension_value as grade,
           n_tested_suppressed, n_tier1_suppressed, n_tier2_suppressed, n_tier3_suppressed
    from {{ ref('int_subgroup_suppression') }}
    where dimension = 'grade'
),

cells as (
    select
        counts.*,
        (coalesce(flags.n_tested_suppressed, true) or {{ is_small_count('counts.n_students') }}) as n_students_suppressed,
        (coalesce(flags.n_tier1_suppressed, true) or {{ is_small_count('counts.n_tier1') }}) as n_tier1_suppressed,
        (coalesce(flags.n_tier2_suppressed, true) or {{ is_small_count('counts.n_tier2') }}) as n_tier2_suppressed,
        (coalesce(flags.n_tier3_suppressed, true) or {{ is_small_count('counts.n_tier3') }}) as n_tier3_suppressed
    from counts
    left join flags
        on counts.subject = flags.subject and counts.school_id = flags.school_id and counts.grade = flags.grade
),

published as (
    select
        subject,
        school_id,
        grade,
        (n_students_suppressed or n_tier1_suppressed or n_tier2_suppressed or n_tier3_suppressed) as suppressed,
        case when not n_students_suppressed then n_students end as n_students,
        case when not n_tier1_suppressed then n_tier1 end as n_tier1,
        case when not n_tier2_suppressed then n_tier2 end as n_tier2,
        case when not n_tier3_suppressed then n_tier3 end as n_tier3,
        case when not n_students_suppressed and not n_tier1_suppressed then {{ safe_ratio('100 * n_tier1', 'n_students') }} end as pct_tier1,
        case when not n_students_suppressed and not n_tier2_suppressed then {{ safe_ratio('100 * n_tier2', 'n_students') }} end as pct_tier2,
        case when not n_students_suppressed and not n_tier3_suppressed then {{ safe_ratio('100 * n_tier3', 'n_students') }} end as pct_tier3
    from cells
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(grade as {{ dbt.type_string() }}) as grade,
        cast(n_students as {{ dbt.type_int() }}) as n_students,
        cast(n_tier1 as {{ dbt.type_int() }}) as n_tier1,
        cast(n_tier2 as {{ dbt.type_int() }}) as n_tier2,
        cast(n_tier3 as {{ dbt.type_int() }}) as n_tier3,
        cast(pct_tier1 as {{ type_double() }}) as pct_tier1,
        cast(pct_tier2 as {{ type_double() }}) as pct_tier2,
        cast(pct_tier3 as {{ type_double() }}) as pct_tier3,
        cast(pct_tier1 >= {{ var('mtss_tier1_min') }} and pct_tier1 <= {{ var('mtss_tier1_max') }}
             as {{ dbt.type_boolean() }}) as tier1_in_band,
        cast(pct_tier2 >= {{ var('mtss_tier2_min') }} and pct_tier2 <= {{ var('mtss_tier2_max') }}
             as {{ dbt.type_boolean() }}) as tier2_in_band,
        cast(pct_tier3 >= {{ var('mtss_tier3_min') }} and pct_tier3 <= {{ var('mtss_tier3_max') }}
             as {{ dbt.type_boolean() }}) as tier3_in_band,
        cast(case
            when pct_tier1 is null then null
            when pct_tier1 >= 75 then 'healthy'
            when pct_tier1 >= 50 then 'top_heavy'
            else 'inverted'
        end as {{ dbt.type_string() }}) as pyramid_shape,
        cast(suppressed as {{ dbt.type_boolean() }}) as suppressed
    from published
)

select * from final
