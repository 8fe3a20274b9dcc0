-- schools: one row per cycle × school (aggregate) — the names readers need beside the school_id
-- of every other mart (a principal looks for "Lincoln Elementary", not org-1). Schools are
-- institutions, not students: nothing here is suppressed.
with schools as (
    select * from {{ ref('stg_schools') }}
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(school_name as {{ dbt.type_string() }}) as school_name
    from schools
    where org_type = 'school'
)

select * from final
