-- int_impact_members: one row per impact scope × group × student of int_impact_sample (DESIGN §6, §7):
-- scopes district (ALL), school, grade, subgroup (ell, iep, section_504, econ_disadv, homeless,
-- foster, hispanic = true; race = <value>; sex = <value>), tutor_type and partner_org (treated
-- students by their primary tutor; the comparison students of a provider or tutor type are those
-- of the schools where it treats students in the subject — providers serve schools, and schools
-- differ in the growth their students would make untutored, so a district-wide comparison would
-- credit a provider with its schools' differences);
-- groups itt (every treated student), adequate (YTD attainment ≥ adequate_share) and the dosage
-- bands 0–0.5, 0.5–0.8, ≥ 0.8, each against the same comparison students.
with sample as (
    select * from {{ ref('int_impact_sample') }}
),

{%- set flags = ['ell', 'iep', 'section_504', 'econ_disadv', 'homeless', 'foster', 'hispanic'] %}

-- the schools where each tutor type (and provider) treats students in each subject
tutor_types as (
    select distinct subject, primary_tutor_type as scope_value, school_id
    from sample where arm = 'treated' and primary_tutor_type is not null and school_id is not null
),

partner_orgs as (
    select distinct subject, primary_partner_org as scope_value, school_id
    from sample where arm = 'treated' and primary_partner_org is not null and school_id is not null
),

scoped as (
    select 'district' as scope_type, 'ALL' as scope_value, sample.* from sample
    union all
    select 'school', school_id, sample.* from sample where school_id is not null
    union all
    select 'grade', grade, sample.* from sample where grade is not null
    {%- for flag in flags %}
    union all
    select 'subgroup', '{{ flag }}=true', sample.* from sample where {{ flag }}
    {%- endfor %}
    union all
    select 'subgroup', 'race=' || race, sample.* from sample where race is not null
    union all
    select 'subgroup', 'sex=' || sex, sample.* from sample where sex is not null
    union all
    select 'tutor_type', primary_tutor_type, sample.* from sample
    where arm = 'treated' and primary_tutor_type is not null
    union all
    select 'tutor_type', tutor_types.scope_value, sample.* from sample
    inner join tutor_types
        on sample.subject = tutor_types.subject and sample.school_id = tutor_types.school_id
    where sample.arm = 'comparison'
    union all
    select 'partner_org', primary_partner_org, sample.* from sample
    where arm = 'treated' and primary_partner_org is not null
    union all
    select 'partner_org', partner_orgs.scope_value, sample.* from sample
    inner join partner_orgs
        on sample.subject = partner_orgs.subject and sample.school_id = partner_orgs.school_id
    where sample.arm = 'comparison'
),

grouped as (
    select 'itt' as group_name, scoped.* from scoped
    union all
    select 'adequate', scoped.* from scoped
    where arm = 'comparison' or attainment_ytd >= {{ var('adequate_share') }}
    union all
    select 'dosage_0_50', scoped.* from scoped
    where arm = 'comparison' or attainment_ytd < 0.5
    union all
    select 'dosage_50_80', scoped.* from scoped
    where arm = 'comparison' or (attainment_ytd >= 0.5 and attainment_ytd < 0.8)
    union all
    select 'dosage_80_plus', scoped.* from scoped
    where arm = 'comparison' or attainment_ytd >= 0.8
)

select
    scope_type,
    scope_value,
    group_name,
    subject,
    student_id,
    arm,
    grade,
    baseline_band,
    baseline_z,
    growth_z
from grouped
