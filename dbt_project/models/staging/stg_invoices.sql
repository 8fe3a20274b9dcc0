-- stg_invoices: one row per vendor invoice.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (invoice_id) is tested unique in stg_invoices.yml.
with source as (
    select * from {{ source('landing', 'invoices') }}
),

renamed as (
    select
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(amount_usd as {{ type_double() }}) as amount_usd,
        cast(funding_source as {{ dbt.type_string() }}) as funding_source
    from source
)

select * from renamed
