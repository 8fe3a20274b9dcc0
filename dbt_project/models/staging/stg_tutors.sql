-- stg_tutors: one row per tutor.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (tutor_id) is tested unique in stg_tutors.yml.
with source as (
    select * from {{ source('landing', 'tutors') }}
),

renamed as (
    select
        cast(tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(tutor_name as {{ dbt.type_string() }}) as tutor_name,
        cast(tutor_type as {{ dbt.type_string() }}) as tutor_type,
        cast(partner_org as {{ dbt.type_string() }}) as partner_org,
        cast(start_date as date) as start_date,
        cast(training_completed_date as date) as training_completed_date
    from source
)

select * from renamed
