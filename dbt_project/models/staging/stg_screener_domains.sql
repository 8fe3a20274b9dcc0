-- stg_screener_domains: one row per student × vendor × subject × test date × domain.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, vendor, subject, test_date, domain) is tested unique in stg_screener_domains.yml.
with source as (
    select * from {{ source('landing', 'screener_domains') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(test_date as date) as test_date,
        cast(domain as {{ dbt.type_string() }}) as domain,
        cast(domain_score as {{ type_double() }}) as domain_score,
        cast(domain_level_label as {{ dbt.type_string() }}) as domain_level_label
    from source
)

select * from renamed
