-- stg_referrals: one row per referral of a student to tutoring.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, referral_date, subject) is tested unique in stg_referrals.yml.
with source as (
    select * from {{ source('landing', 'referrals') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(referral_date as date) as referral_date,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(referred_by_role as {{ dbt.type_string() }}) as referred_by_role,
        cast(reason as {{ dbt.type_string() }}) as reason
    from source
)

select * from renamed
