-- stg_attendance: one row per student × school day.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, attendance_date) is tested unique in stg_attendance.yml.
with source as (
    select * from {{ source('landing', 'attendance') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(attendance_date as date) as attendance_date,
        cast(status as {{ dbt.type_string() }}) as status
    from source
)

select * from renamed
