-- stg_surveys: one row per respondent × item × survey date.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (respondent_type, respondent_id, student_id, survey_date, item) is tested unique in stg_surveys.yml.
with source as (
    select * from {{ source('landing', 'surveys') }}
),

renamed as (
    select
        cast(respondent_type as {{ dbt.type_string() }}) as respondent_type,
        cast(respondent_id as {{ dbt.type_string() }}) as respondent_id,
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(survey_date as date) as survey_date,
        cast(item as {{ dbt.type_string() }}) as item,
        cast(response as {{ dbt.type_int() }}) as response
    from source
)

select * from renamed
