-- teacher_digest: one row per cycle × teacher × student × subject — the classroom teacher's view of
-- each tutored student (restricted; DESIGN §1 feedback loop, §6). A student's teachers are those of
-- the classes the student is enrolled in at as_of whose subject is the tutoring subject, or which
-- have no subject (self-contained / homeroom classes). Students: every student_dosage row of the cycle.
with dosage as (
    select * from {{ ref('student_dosage') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

tiers as (
    select * from {{ ref('student_tiers') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

growth as (
    select * from {{ ref('student_growth') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

entry_exit as (
    select * from {{ ref('student_entry_exit') }}
    where cycle_id = {{ var_string('cycle_id') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
    where in_cycle
),

tutors as (
    select * from {{ ref('int_tutors') }}
),

enrollments as (
    select * from {{ ref('stg_enrollments') }}
    where (begin_date is null or begin_date <= {{ var_date('as_of_date') }})
      and (end_date is null or end_date >= {{ var_date('as_of_date') }})
),

classes as (
    select * from {{ ref('stg_classes') }}
),

teachers as (
    select * from {{ ref('stg_teachers') }}
),

student_teachers as (
    select
        student_enrollment.user_id as student_id,
        teacher_enrollment.user_id as teacher_id,
        classes.subject as class_subject,
        min(classes.class_id) as class_id
    from enrollments as student_enrollment
    inner join enrollments as teacher_enrollment
        on student_enrollment.class_id = teacher_enrollment.class_id
       and teacher_enrollment.role = 'teacher'
    inner join classes on student_enrollment.class_id = classes.class_id
    where student_enrollment.role = 'student'
    group by student_enrollment.user_id, teacher_enrollment.user_id, classes.subject
),

focused_skills as (
    select student_id, subject,
           {{ dbt.listagg('focus_skill', "', '", 'order by focus_skill') }} as skills_focused
    from (select distinct student_id, subject, focus_skill from sessions
          where is_attended and focus_skill is not null) as distinct_skills
    group by student_id, subject
),

last_session as (
    select * from (
        select
            student_id, subject, session_date, session_notes,
            row_number() over (partition by student_id, subject order by session_start desc, session_id) as r
        from sessions
        where is_attended
    ) as ranked
    where r = 1
),

linked as (
    select
        student_teachers.teacher_id,
        min(student_teachers.class_id) as class_id,
        dosage.student_id,
        dosage.subject
    from dosage
    inner join student_teachers
        on dosage.student_id = student_teachers.student_id
       and (student_teachers.class_subject = dosage.subject or student_teachers.class_subject is null)
    group by student_teachers.teacher_id, dosage.student_id, dosage.subject
),

final as (
    select
        cast({{ var_string('cycle_id') }} as {{ dbt.type_string() }}) as cycle_id,
        cast({{ var_date('as_of_date') }} as date) as as_of_date,
        cast(linked.teacher_id as {{ dbt.type_string() }}) as teacher_id,
        cast({{ student_name('teachers.first_name', 'teachers.last_name') }} as {{ dbt.type_string() }}) as teacher_name,
        cast(teachers.email as {{ dbt.type_string() }}) as teacher_email,
        cast(linked.class_id as {{ dbt.type_string() }}) as class_id,
        cast(dosage.school_id as {{ dbt.type_string() }}) as school_id,
        cast(dosage.student_key as {{ dbt.type_string() }}) as student_key,
        cast(dosage.student_id as {{ dbt.type_string() }}) as student_id,
        cast(dosage.student_name as {{ dbt.type_string() }}) as student_name,
        cast(dosage.grade as {{ dbt.type_string() }}) as grade,
        cast(linked.subject as {{ dbt.type_string() }}) as subject,
        cast(dosage.sessions_attended as {{ dbt.type_int() }}) as sessions_attended,
        cast(dosage.minutes_attended as {{ dbt.type_int() }}) as minutes_attended,
        cast(dosage.attendance_rate as {{ type_double() }}) as attendance_rate,
        cast(dosage.dosage_attainment as {{ type_double() }}) as dosage_attainment,
        cast(focused_skills.skills_focused as {{ dbt.type_string() }}) as skills_focused,
        cast(last_session.session_date as date) as last_session_date,
        cast(last_session.session_notes as {{ dbt.type_string() }}) as last_session_notes,
        cast(dosage.primary_tutor_id as {{ dbt.type_string() }}) as tutor_id,
        cast(tutors.tutor_name as {{ dbt.type_string() }}) as tutor_name,
        cast(tiers.tier as {{ dbt.type_int() }}) as tier,
        cast(tiers.performance_level as {{ dbt.type_int() }}) as latest_level,
        cast(tiers.vendor_level as {{ dbt.type_string() }}) as latest_vendor_level,
        cast(growth.growth as {{ type_double() }}) as growth,
        cast(growth.growth_z as {{ type_double() }}) as growth_z,
        cast(coalesce(entry_exit.exit_eligible, false) as {{ dbt.type_boolean() }}) as exit_eligible
    from linked
    inner join dosage on linked.student_id = dosage.student_id and linked.subject = dosage.subject
    left join teachers on linked.teacher_id = teachers.teacher_id
    left join focused_skills
        on linked.student_id = focused_skills.student_id and linked.subject = focused_skills.subject
    left join last_session on linked.student_id = last_session.student_id and linked.subject = last_session.subject
    left join tutors on dosage.primary_tutor_id = tutors.tutor_id
    left join tiers on linked.student_id = tiers.student_id and linked.subject = tiers.subject
    left join growth on linked.student_id = growth.student_id and linked.subject = growth.subject
    left join entry_exit on linked.student_id = entry_exit.student_id and linked.subject = entry_exit.subject
)

select * from final
