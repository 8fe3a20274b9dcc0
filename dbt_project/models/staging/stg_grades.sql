-- stg_grades: one row per student × class × term: the mark.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id, class_id, term_id) is tested unique in stg_grades.yml.
with source as (
    select * from {{ source('landing', 'grades') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(class_id as {{ dbt.type_string() }}) as class_id,
        cast(term_id as {{ dbt.type_string() }}) as term_id,
        cast(mark as {{ dbt.type_string() }}) as mark
    from source
)

select * from renamed
