-- stg_screener_results: one row per student × vendor × subject × test date (overall result).
-- `window` is a reserved word in SQL, so the screening window is renamed screening_window.
with source as (
    select * from {{ source('landing', 'screener_results') }}
),

renamed as (
    select
        -- keys
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(test_date as date) as test_date,

        -- the administration
        cast({{ adapter.quote('window') }} as {{ dbt.type_string() }}) as screening_window,
        cast(grade as {{ dbt.type_string() }}) as tested_grade,
        cast(layout as {{ dbt.type_string() }}) as layout,

        -- the result as the vendor reports it
        cast(scale_score as {{ type_double() }}) as scale_score,
        cast(percentile as {{ type_double() }}) as percentile,
        cast(vendor_level as {{ dbt.type_string() }}) as vendor_level
    from source
)

select * from renamed
