-- stg_program_enrollment: one row per student × subject × entry.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, subject, entry_date) is tested unique in stg_program_enrollment.yml.
with source as (
    select * from {{ source('landing', 'program_enrollment') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(entry_date as date) as entry_date,
        cast(exit_date as date) as exit_date,
        cast(exit_reason as {{ dbt.type_string() }}) as exit_reason,
        cast(referral_source as {{ dbt.type_string() }}) as referral_source
    from source
)

select * from renamed
