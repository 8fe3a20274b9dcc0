-- stg_student_programs: one row per student: program flags, NULL = unknown.
-- Landing has typed, mapped and superseded these rows; staging pins the types. Landing
-- quarantined duplicate keys, so there is nothing to deduplicate here. The key (student_id) is tested unique in stg_student_programs.yml.
with source as (
    select * from {{ source('landing', 'student_programs') }}
),

renamed as (
    select
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(ell as {{ dbt.type_boolean() }}) as ell,
        cast(iep as {{ dbt.type_boolean() }}) as iep,
        cast(section_504 as {{ dbt.type_boolean() }}) as section_504,
        cast(econ_disadv as {{ dbt.type_boolean() }}) as econ_disadv,
        cast(homeless as {{ dbt.type_boolean() }}) as homeless,
        cast(foster as {{ dbt.type_boolean() }}) as foster
    from source
)

select * from renamed
