-- stg_scope_and_sequence: one row per school (or all) × grade × subject × week.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (school_id, grade, subject, week_start, skill) is tested unique in stg_scope_and_sequence.yml.
with source as (
    select * from {{ source('landing', 'scope_and_sequence') }}
),

renamed as (
    select
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(grade as {{ dbt.type_string() }}) as grade,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(week_start as date) as week_start,
        cast(skill as {{ dbt.type_string() }}) as skill
    from source
)

select * from renamed
