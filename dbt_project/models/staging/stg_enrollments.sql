-- stg_enrollments: one row per user × class (role student or teacher).
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (enrollment_id) is tested unique in stg_enrollments.yml.
with source as (
    select * from {{ source('landing', 'enrollments') }}
),

renamed as (
    select
        cast(enrollment_id as {{ dbt.type_string() }}) as enrollment_id,
        cast(class_id as {{ dbt.type_string() }}) as class_id,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(is_primary as {{ dbt.type_boolean() }}) as is_primary,
        cast(begin_date as date) as begin_date,
        cast(end_date as date) as end_date
    from source
)

select * from renamed
