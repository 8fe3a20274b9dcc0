-- int_tutors: one row per tutor listed in tutors.csv or seen on a session this school year. The
-- provider (partner_org) is the tutor's organisation, else the one on their sessions, else
-- in_house (district staff; DESIGN §6). trained ⇔ training completed on or before as_of_date.
with tutors as (
    select * from {{ ref('stg_tutors') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

session_orgs as (
    select tutor_id, min(partner_org) as partner_org
    from sessions
    where tutor_id is not null
    group by tutor_id
),

all_tutors as (
    select tutor_id from tutors
    union
    select tutor_id from session_orgs
),

joined as (
    select
        all_tutors.tutor_id,
        tutors.tutor_name,
        coalesce(tutors.tutor_type, 'unknown') as tutor_type,
        coalesce(tutors.partner_org, session_orgs.partner_org, 'in_house') as partner_org,
        tutors.start_date,
        tutors.training_completed_date,
        coalesce(tutors.training_completed_date <= {{ var_date('as_of_date') }}, false) as trained
    from all_tutors
    left join tutors on all_tutors.tutor_id = tutors.tutor_id
    left join session_orgs on all_tutors.tutor_id = session_orgs.tutor_id
)

select * from joined
