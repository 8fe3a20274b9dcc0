-- stg_students: one row per student (OneRoster user with role student), school and grade from the SIS.
with source as (
    select * from {{ source('landing', 'students') }}
),

renamed as (
    select
        -- identifiers
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(local_id as {{ dbt.type_string() }}) as local_id,
        cast(state_id as {{ dbt.type_string() }}) as state_id,
        cast(username as {{ dbt.type_string() }}) as username,

        -- name (restricted marts only)
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        {{ student_name('cast(first_name as ' ~ dbt.type_string() ~ ')', 'cast(last_name as ' ~ dbt.type_string() ~ ')') }} as student_name,

        -- placement
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(grade as {{ dbt.type_string() }}) as grade,

        -- demographics
        cast(birth_date as date) as birth_date,
        cast(sex as {{ dbt.type_string() }}) as sex,
        cast(race as {{ dbt.type_string() }}) as race,
        cast(hispanic as {{ dbt.type_boolean() }}) as hispanic
    from source
)

select * from renamed
