-- stg_sessions: one row per student at one tutoring meeting (DATAS sessions and extensions).
-- Landing has typed the rows, converted timestamps to district-local time (DESIGN §7), mapped
-- session_topic to subject and attendance codes to the four statuses, and superseded corrections.
-- Staging pins the types and adds the session's local date (landing quarantined duplicate keys).
with source as (
    select * from {{ source('landing', 'sessions') }}
),

renamed as (
    select
        -- keys
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(student_id as {{ dbt.type_string() }}) as student_id,
        cast(tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(group_id as {{ dbt.type_string() }}) as group_id,
        cast(school_id as {{ dbt.type_string() }}) as school_id,
        cast(partner_org as {{ dbt.type_string() }}) as partner_org,

        -- what and when
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(session_start as {{ dbt.type_timestamp() }}) as session_start,
        cast(cast(session_start as {{ dbt.type_timestamp() }}) as date) as session_date,
        cast(skill_focus as {{ dbt.type_string() }}) as skill_focus,
        cast(modality as {{ dbt.type_string() }}) as modality,
        cast(during_school_day as {{ dbt.type_boolean() }}) as during_school_day,

        -- attendance and length (minutes)
        cast(attendance_status as {{ dbt.type_string() }}) as attendance_status,
        cast(session_duration as {{ dbt.type_int() }}) as session_duration,
        cast(scheduled_minutes as {{ dbt.type_int() }}) as scheduled_minutes,
        cast(session_ratio as {{ dbt.type_string() }}) as session_ratio,

        -- free text (restricted)
        cast(session_notes as {{ dbt.type_string() }}) as session_notes
    from source
)

select * from renamed
