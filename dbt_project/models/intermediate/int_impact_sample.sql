-- int_impact_sample: one row per student × subject in the impact analysis (DESIGN §7 impact):
-- students with a baseline and a later benchmark result in the subject (growth_z known), who are
--   treated    — in the program in the subject with ≥ 1 attended session by as_of, whatever their tier
--   comparison — baseline tier 2 or 3 in the subject and never in the program in it (no enrollment
--                record, no session)
-- Enrolled students who never attended are neither. baseline_band = ⌊baseline_z / baseline_band_sd⌋;
-- strata are grade × baseline_band.
with growth as (
    select * from {{ ref('student_growth') }}
    where cycle_id = {{ var_string('cycle_id') }}
      and growth_z is not null
      and baseline_z is not null
),

participation as (
    select * from {{ ref('int_participation_ytd') }}
),

students as (
    select * from {{ ref('int_students') }}
),

classified as (
    select
        growth.student_id,
        growth.subject,
        growth.grade,
        growth.school_id,
        growth.baseline_z,
        growth.growth_z,
        growth.baseline_tier,
        cast(floor(growth.baseline_z / {{ var('baseline_band_sd') }}) as {{ dbt.type_int() }}) as baseline_band,
        case
            when coalesce(participation.attended_sessions_ytd, 0) > 0 then 'treated'
            when participation.student_id is null and growth.baseline_tier in (2, 3) then 'comparison'
        end as arm,
        coalesce(participation.attainment_ytd, 0) as attainment_ytd,
        participation.primary_tutor_type,
        participation.primary_partner_org,
        students.race,
        students.sex,
        students.hispanic,
        students.ell,
        students.iep,
        students.section_504,
        students.econ_disadv,
        students.homeless,
        students.foster
    from growth
    left join participation
        on growth.student_id = participation.student_id and growth.subject = participation.subject
    left join students on growth.student_id = students.student_id
)

select * from classified where arm is not null
