-- int_equity_students: one row per student × subject who was tested (a tier this cycle), served (in
-- the program in the subject this year by as_of) or referred — the population of the equity and
-- identification marts (DESIGN §7 equity and identification), with school, grade, demographics
-- and what happened to the student.
with tiers as (
    select * from {{ ref('student_tiers') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

dosage as (
    select * from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

growth as (
    select * from {{ ref('student_growth') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

participation as (
    select * from {{ ref('int_participation_ytd') }}
),

referrals as (
    select * from {{ ref('int_referrals') }}
),

students as (
    select * from {{ ref('int_students') }}
),

population as (
    select student_id, subject from tiers
    union
    select student_id, subject from participation
    union
    select student_id, subject from referrals
),

joined as (
    select
        population.student_id,
        population.subject,
        students.school_id,
        students.grade,
        students.race,
        students.sex,
        students.hispanic,
        students.ell,
        students.iep,
        students.section_504,
        students.econ_disadv,
        students.homeless,
        students.foster,
        tiers.tier,
        (tiers.tier is not null) as tested,
        coalesce(tiers.tier in (2, 3), false) as need,
        coalesce(tiers.tier = 3, false) as tier3,
        coalesce(tiers.hidden_need, false) as hidden_need,
        (participation.student_id is not null) as served,
        (dosage.student_id is not null) as served_in_cycle,
        coalesce(dosage.adequate_dosage, false) as adequate,
        dosage.in_school_share,
        case when participation.student_id is not null then growth.growth_z end as served_growth_z,
        (referrals.student_id is not null) as referred,
        coalesce(referrals.teacher_referred, false) as teacher_referred
    from population
    inner join students on population.student_id = students.student_id
    left join tiers on population.student_id = tiers.student_id and population.subject = tiers.subject
    left join dosage on population.student_id = dosage.student_id and population.subject = dosage.subject
    left join growth on population.student_id = growth.student_id and population.subject = growth.subject
    left join participation
        on population.student_id = participation.student_id and population.subject = participation.subject
    left join referrals on population.student_id = referrals.student_id and population.subject = referrals.subject
)

select * from joined
