-- stg_terms: one row per academic session (year, semester, term).
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (term_id) is tested unique in stg_terms.yml.
with source as (
    select * from {{ source('landing', 'terms') }}
),

renamed as (
    select
        cast(term_id as {{ dbt.type_string() }}) as term_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(term_type as {{ dbt.type_string() }}) as term_type,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(school_year as {{ dbt.type_string() }}) as school_year
    from source
)

select * from renamed
