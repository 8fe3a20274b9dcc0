-- stg_courses: one row per course.
-- Landing has typed, mapped and superseded these rows; staging pins the types and collapses exact
-- duplicate rows. The key (course_id) is tested unique in stg_courses.yml.
with source as (
    select * from {{ source('landing', 'courses') }}
),

renamed as (
    select distinct
        cast(course_id as {{ dbt.type_string() }}) as course_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(school_id as {{ dbt.type_string() }}) as school_id
    from source
)

select * from renamed
