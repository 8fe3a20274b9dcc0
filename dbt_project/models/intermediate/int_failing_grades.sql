-- int_failing_grades: one row per student × subject with a mark in a class of that subject in the
-- latest term that ended on or before as_of_date. failing_grade ⇔ any of that term's marks is
-- failing (the rule lives in int_student_marks and the is_failing_mark macro).
with marks as (
    select * from {{ ref('int_student_marks') }}
),

latest_term as (
    select student_id, subject, max(term_end_date) as term_end_date
    from marks
    group by student_id, subject
),

flagged as (
    select
        marks.student_id,
        marks.subject,
        marks.term_end_date,
        marks.marks_in_term,
        marks.failing as failing_grade
    from marks
    inner join latest_term
        on marks.student_id = latest_term.student_id
       and marks.subject = latest_term.subject
       and marks.term_end_date = latest_term.term_end_date
)

select * from flagged
