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

-- the schools where each tutor type (and provider) treats students in each subject
tutor_types as (
    select distinct subject, primary_tutor_type as scope_value, school_id
    from sample where arm = 'treated' and primary_tutor_type is not null and school_id is not null
),

partner_orgs as (
    select distinct subject, primary_partner_org as scope_value, school_id
    from sample where arm = 'treated' and primary_partner_org is not null and school_id is not null
),

-- one scan of the sample joined to the list of scopes (macro scope_rows) and of groups, rather
-- than a union of one scan per scope and group: Spark plans every one of them anew
scoped as (
    {{ scope_rows('sample', own_tutor=false) }}
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

dosage_groups as (
    select 'itt' as group_name
    union all select 'adequate'
    union all select 'dosage_0_50'
    union all select 'dosage_50_80'
    union all select 'dosage_80_plus'
),

grouped as (
    select dosage_groups.group_name, scoped.*
    from scoped
    cross join dosage_groups
    where case
        when dosage_groups.group_name = 'itt' or scoped.arm = 'comparison' then true
        when dosage_groups.group_name = 'adequate' then scoped.attainment_ytd >= {{ var('adequate_share') }}
        when dosage_groups.group_name = 'dosage_0_50' then scoped.attainment_ytd < 0.5
        when dosage_groups.group_name = 'dosage_50_80' then scoped.attainment_ytd >= 0.5 and scoped.attainment_ytd < 0.8
        else scoped.attainment_ytd >= 0.8
    end
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
