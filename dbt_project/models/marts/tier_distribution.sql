-- tier_distribution: one row per cycle × subject × school (and 'ALL') × grade (and 'ALL') with at
-- least one tiered student (aggregate mart; DESIGN §6, §9).
-- n_students counts students with a tierable screener result in the subject on or before as_of
-- (student_tiers); pct_tier* are 0–100; *_in_band compares with the MTSS model bands; pyramid_shape:
-- healthy (pct_tier1 ≥ 75), top_heavy (50 ≤ pct_tier1 < 75), inverted (< 50).
-- Small cells: a cell with any count 0 < n < min_n has every count, percentage and derived value
-- NULL and suppressed = true; complementary suppression then hides one more cell in every school
-- line (its grades + its ALL row) and grade line (its schools + the ALL row) that would otherwise
-- let a suppressed cell be recovered by subtraction (macro complementary_suppression).
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

cells as (
    select
        subject,
        school_id,
        grade,
        n_students,
        ({{ is_small_count('n_students') }} or {{ is_small_count('n_tier1') }}
         or {{ is_small_count('n_tier2') }} or {{ is_small_count('n_tier3') }}) as suppressed
    from counts
),

{{ complementary_suppression('cells', 'final_cells', ['subject'], 'school_id', 'grade', 'n_students', 'suppressed') }},

published as (
    select
        counts.subject,
        counts.school_id,
        counts.grade,
        final_cells.suppressed,
        case when not final_cells.suppressed then counts.n_students end as n_students,
        case when not final_cells.suppressed then counts.n_tier1 end as n_tier1,
        case when not final_cells.suppressed then counts.n_tier2 end as n_tier2,
        case when not final_cells.suppressed then counts.n_tier3 end as n_tier3,
        case when not final_cells.suppressed then {{ safe_ratio('100 * counts.n_tier1', 'counts.n_students') }} end as pct_tier1,
        case when not final_cells.suppressed then {{ safe_ratio('100 * counts.n_tier2', 'counts.n_students') }} end as pct_tier2,
        case when not final_cells.suppressed then {{ safe_ratio('100 * counts.n_tier3', 'counts.n_students') }} end as pct_tier3
    from counts
    inner join final_cells
        on counts.subject = final_cells.subject
       and counts.school_id = final_cells.school_id
       and counts.grade = final_cells.grade
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
