-- stg_classes: one row per class section.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (class_id) is tested unique in stg_classes.yml.
with source as (
    select * from {{ source('landing', 'classes') }}
),

renamed as (
    select
        cast(class_id as {{ dbt.type_string() }}) as class_id,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(course_id as {{ dbt.type_string() }}) as course_id,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(grade as {{ dbt.type_string() }}) as grade,
        cast(term_id as {{ dbt.type_string() }}) as term_id
    from source
)

select * from renamed
