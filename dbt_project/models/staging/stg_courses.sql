-- stg_courses: one row per course.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (course_id) is tested unique in stg_courses.yml.
with source as (
    select * from {{ source('landing', 'courses') }}
),

renamed as (
    select
        cast(course_id as {{ dbt.type_string() }}) as course_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(school_id as {{ dbt.type_string() }}) as school_id
    from source
)

select * from renamed
