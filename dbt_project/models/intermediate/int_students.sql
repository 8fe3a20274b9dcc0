-- int_students: one row per SIS student — the pseudonym, the name for restricted marts, school and
-- grade from the SIS (DESIGN §6), demographics and program flags for equity cuts (NULL = unknown).
with students as (
    select * from {{ ref('stg_students') }}
),

student_keys as (
    select * from {{ ref('stg_student_keys') }}
),

programs as (
    select * from {{ ref('stg_student_programs') }}
),

joined as (
    select
        students.student_id,
        student_keys.student_key,
        students.student_name,
        students.school_id,
        students.grade,
        students.sex,
        students.race,
        students.hispanic,
        programs.ell,
        programs.iep,
        programs.section_504,
        programs.econ_disadv,
        programs.homeless,
        programs.foster
    from students
    left join student_keys on students.student_id = student_keys.student_id
    left join programs on students.student_id = programs.student_id
)

select * from joined
