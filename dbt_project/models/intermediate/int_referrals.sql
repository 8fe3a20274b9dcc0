-- int_referrals: one row per student × subject referred to tutoring in the school year up to
-- as_of_date: how many referrals, the first one, and whether a teacher made one (teacher_referred,
-- a triangulation flag of student_tiers; DESIGN §6).
with referrals as (
    select * from {{ ref('stg_referrals') }}
    where subject in ('reading', 'math')
      and referral_date >= {{ var_date('school_year_start') }}
      and referral_date <= {{ var_date('as_of_date') }}
),

per_student as (
    select
        student_id,
        subject,
        count(*) as n_referrals,
        min(referral_date) as first_referral_date,
        max(case when lower(trim(referred_by_role)) = 'teacher' then 1 else 0 end) = 1 as teacher_referred
    from referrals
    group by student_id, subject
)

select * from per_student
