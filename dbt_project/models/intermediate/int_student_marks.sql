-- int_student_marks: one row per student × subject × ended term with a mark in a class of the
-- subject: whether any of those marks is failing (macro is_failing_mark). Feeds the 30-60-90
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
    max(case when is_failing then 1 else 0 end) = 1 as failing
from marks
where subject in ('reading', 'math')
group by student_id, subject, term_end_date
