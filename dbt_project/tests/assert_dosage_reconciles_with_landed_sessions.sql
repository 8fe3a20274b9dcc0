{{ config(meta={'dagster': {'asset_key': ['student_dosage']}}) }}
-- What is this test? Reconciliation (DESIGN §8 gate 2): every landed reading or math session dated
-- in the cycle is counted in exactly one student_dosage row, and the attended minutes add up. Returns
-- one row with both totals when they differ.
-- When is this important to resolve? Always: a difference means sessions were lost or double counted
-- between landing and the marts.
-- How to resolve? Compare int_sessions with student_dosage for the cycle (a session of a student
-- missing from the SIS students table, or a subject outside reading/math, is the usual cause).
with landed as (
    select
        count(*) as sessions,
        sum(case when attendance_status = 'attended' then session_duration else 0 end) as minutes
    from {{ ref('stg_sessions') }}
    where subject in ('reading', 'math')
      and session_date >= {{ var_date('cycle_start') }}
      and session_date <= {{ var_date('as_of_date') }}
),

published as (
    select
        coalesce(sum(sessions_scheduled), 0) as sessions,
        coalesce(sum(minutes_attended), 0) as minutes
    from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
)

select landed.sessions as landed_sessions, published.sessions as dosage_sessions,
       landed.minutes as landed_minutes, published.minutes as dosage_minutes
from landed cross join published
where landed.sessions <> published.sessions or coalesce(landed.minutes, 0) <> published.minutes
