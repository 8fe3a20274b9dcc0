-- stg_state_assessment: one row per student × school year × subject: the state test result.
-- Landing has typed, mapped and superseded these rows; staging pins the types, collapses exact
-- duplicate rows and reads the school year as its starting calendar year (2024-25, 2024-2025 and a
-- spring year 2025 are all tested_year_start = 2024), so state files and the config may spell it
-- differently. The key (student_id, school_year, subject) is tested unique in stg_state_assessment.yml.
with source as (
    select * from {{ source('landing', 'state_assessment') }}
),

renamed as (
    select distinct
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(trim(school_year) as {{ dbt.type_string() }}) as school_year,
        cast(
            case
                when length(trim(school_year)) = 4 then cast(trim(school_year) as {{ dbt.type_int() }}) - 1
                else cast(substring(trim(school_year), 1, 4) as {{ dbt.type_int() }})
            end as {{ dbt.type_int() }}
        ) as tested_year_start,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(grade as {{ dbt.type_string() }}) as grade,
        cast(scale_score as {{ type_double() }}) as scale_score,
        cast(achievement_level as {{ dbt.type_int() }}) as achievement_level,
        cast(achievement_label as {{ dbt.type_string() }}) as achievement_label,
        cast(proficient as {{ dbt.type_boolean() }}) as proficient
    from source
)

select * from renamed
