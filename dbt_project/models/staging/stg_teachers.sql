-- stg_teachers: one row per teacher (OneRoster user with role teacher).
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (teacher_id) is tested unique in stg_teachers.yml.
with source as (
    select * from {{ source('landing', 'teachers') }}
),

renamed as (
    select
        cast(teacher_id as {{ dbt.type_string() }}) as teacher_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(role as {{ dbt.type_string() }}) as role
    from source
)

select * from renamed
