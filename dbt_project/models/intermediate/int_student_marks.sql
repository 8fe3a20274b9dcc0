-- int_student_marks: one row per student × subject × ended term with a mark in a class of the
-- subject: how many marks, and whether any of them is failing (macro is_failing_mark: F, F+, F-, E,
-- U, NP, NC, FAIL; or a number below 60 on a 0–100 scale, below 1.0 on a 0–4 grade-point scale).
-- Feeds student_tiers' failing_grade (int_failing_grades: the latest term) and the 30-60-90
-- failing-grade comparison before and after entry.
with grades as (
    select * from {{ ref('stg_grades') }}
),

classes as (
    select * from {{ ref('stg_classes') }}
),

courses as (
    select * from {{ ref('stg_courses') }}
),

terms as (
    select * from {{ ref('stg_terms') }}
    where end_date <= {{ var_date('as_of_date') }}
),

marks as (
    select
        grades.student_id,
        coalesce(classes.subject, courses.subject) as subject,
        terms.end_date as term_end_date,
        {{ is_failing_mark('grades.mark') }} as is_failing
    from grades
    inner join classes on grades.class_id = classes.class_id
    left join courses on classes.course_id = courses.course_id
    inner join terms on grades.term_id = terms.term_id
)

select
    student_id,
    subject,
    term_end_date,
    count(*) as marks_in_term,
    max(case when is_failing then 1 else 0 end) = 1 as failing
from marks
where subject in ('reading', 'math')
group by student_id, subject, term_end_date
