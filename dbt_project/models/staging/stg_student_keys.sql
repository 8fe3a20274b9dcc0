-- stg_student_keys: one row per student — the HMAC-SHA256 pseudonym published instead of the ID (DESIGN §9).
with source as (
    select * from {{ source('landing', 'student_keys') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(student_key as {{ dbt.type_string() }}) as student_key
    from source
)

select * from renamed
