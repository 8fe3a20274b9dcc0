-- stg_observations: one row per observation × rubric item.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (observation_id, rubric_item) is tested unique in stg_observations.yml.
with source as (
    select * from {{ source('landing', 'observations') }}
),

renamed as (
    select
        cast(observation_id as {{ dbt.type_string() }}) as observation_id,
        cast(tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(observed_date as date) as observed_date,
        cast(observer_role as {{ dbt.type_string() }}) as observer_role,
        cast(rubric_item as {{ dbt.type_string() }}) as rubric_item,
        cast(score as {{ dbt.type_int() }}) as score
    from source
)

select * from renamed
