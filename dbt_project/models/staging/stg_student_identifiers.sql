-- stg_student_identifiers: one row per student × identifier value it may appear under.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (id_kind, id_value) is tested unique in stg_student_identifiers.yml.
with source as (
    select * from {{ source('landing', 'student_identifiers') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(id_value as {{ dbt.type_string() }}) as id_value,
        cast(id_kind as {{ dbt.type_string() }}) as id_kind
    from source
)

select * from renamed
