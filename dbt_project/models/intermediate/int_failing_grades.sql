-- int_failing_grades: one row per student × subject with a mark in a class of that subject in the
-- latest term that ended on or before as_of_date (the latest such term per student and subject).
-- failing_grade ⇔ any of those marks is failing (macro is_failing_mark: F, F+, F-, E, U, NP, NC,
-- FAIL; or a number below 60 on a 0–100 scale, below 1.0 on a 0–4 grade-point scale).
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
        grades.term_id,
        terms.end_date as term_end_date,
        grades.mark,
        {{ is_failing_mark('grades.mark') }} as is_failing
    from grades
    inner join classes on grades.class_id = classes.class_id
    left join courses on classes.course_id = courses.course_id
    inner join terms on grades.term_id = terms.term_id
),

latest_term as (
    select student_id, subject, max(term_end_date) as term_end_date
    from marks
    where subject in ('reading', 'math')
    group by student_id, subject
),

flagged as (
    select
        marks.student_id,
        marks.subject,
        latest_term.term_end_date,
        count(*) as marks_in_term,
        max(case when marks.is_failing then 1 else 0 end) = 1 as failing_grade
    from marks
    inner join latest_term
        on marks.student_id = latest_term.student_id
       and marks.subject = latest_term.subject
       and marks.term_end_date = latest_term.term_end_date
    group by marks.student_id, marks.subject, latest_term.term_end_date
)

select * from flagged
