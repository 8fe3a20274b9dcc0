-- stg_schools: one row per school (OneRoster org of type school).
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (school_id) is tested unique in stg_schools.yml.
with source as (
    select * from {{ source('landing', 'schools') }}
),

renamed as (
    select
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(school_name as {{ dbt.type_string() }}) as school_name,
        cast(school_identifier as {{ dbt.type_string() }}) as school_identifier,
        cast(org_type as {{ dbt.type_string() }}) as org_type
    from source
)

select * from renamed
