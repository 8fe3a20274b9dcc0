-- stg_family_contacts: one row per contact with a student's family.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, contact_date, channel) is tested unique in stg_family_contacts.yml.
with source as (
    select * from {{ source('landing', 'family_contacts') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(contact_date as date) as contact_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(language as {{ dbt.type_string() }}) as language,
        cast(outcome as {{ dbt.type_string() }}) as outcome
    from source
)

select * from renamed
