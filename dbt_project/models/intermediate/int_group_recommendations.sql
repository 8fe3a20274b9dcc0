-- int_group_recommendations: one row per point (current = as_of_date; prior = previous_as_of_date
-- from the second cycle on) × subject × recommended student, with the skill-targeted group the data
-- of that date recommends (DESIGN §6 recommended_groups). Computing the prior point from today's
-- landed data lets recommended_groups say whose group changed without reading an earlier build.
--   students   tier 2/3 at the point (int_tier_as_of), and students enrolled in the program at it
--   skill      the priority skill of the latest domain results on or before the point: lowest level,
--              ties by teaching order; 'unassessed' without domain results
--   order      by that level, then the overall scale score (lowest first), then student id
--   groups     ⌈n / max_group_size⌉ groups of consecutive students per school × grade × subject ×
--              skill, sizes differing by at most one
with tiers as (
    select * from {{ ref('int_tier_as_of') }}
),

skill_levels as (
    select * from {{ ref('int_skill_levels') }}
),

spans as (
    select * from {{ ref('int_program_spans') }}
),

students as (
    select * from {{ ref('int_students') }}
),

points as (
    select 'current' as point, {{ var_date('as_of_date') }} as point_date
    {% if has_previous_cycle() %}
    union all
    select 'prior' as point, {{ var_date('previous_as_of_date') }} as point_date
    {% endif %}
),

enrolled as (
    select distinct points.point, spans.student_id, spans.subject
    from spans
    inner join points
        on spans.entry_date <= points.point_date
       and (spans.effective_exit_date is null or spans.effective_exit_date > points.point_date)
),

candidates as (
    select point, student_id, subject from tiers where tier in (2, 3)
    union
    select point, student_id, subject from enrolled
),

latest_tests as (
    select * from (
        select
            points.point, tests.student_id, tests.subject, tests.vendor, tests.test_date,
            row_number() over (
                partition by points.point, tests.student_id, tests.subject
                order by tests.test_date desc, tests.vendor
            ) as r
        from (select distinct student_id, subject, vendor, test_date from skill_levels) as tests
        inner join points on tests.test_date <= points.point_date
    ) as ranked
    where r = 1
),

priority as (
    select * from (
        select
            latest_tests.point, skill_levels.student_id, skill_levels.subject, skill_levels.skill,
            skill_levels.domain_level,
            row_number() over (
                partition by latest_tests.point, skill_levels.student_id, skill_levels.subject
                order by skill_levels.domain_level, skill_levels.teaching_order
            ) as r
        from skill_levels
        inner join latest_tests
            on skill_levels.student_id = latest_tests.student_id
           and skill_levels.subject = latest_tests.subject
           and skill_levels.vendor = latest_tests.vendor
           and skill_levels.test_date = latest_tests.test_date
    ) as ranked
    where r = 1
),

placed as (
    select
        candidates.point,
        candidates.student_id,
        candidates.subject,
        students.school_id,
        students.grade,
        tiers.tier,
        tiers.scale_score,
        (enrolled.student_id is not null) as enrolled,
        coalesce(priority.skill, 'unassessed') as priority_skill,
        priority.domain_level as priority_level
    from candidates
    inner join students on candidates.student_id = students.student_id
    left join tiers
        on candidates.point = tiers.point and candidates.student_id = tiers.student_id
       and candidates.subject = tiers.subject
    left join priority
        on candidates.point = priority.point and candidates.student_id = priority.student_id
       and candidates.subject = priority.subject
    left join enrolled
        on candidates.point = enrolled.point and candidates.student_id = enrolled.student_id
       and candidates.subject = enrolled.subject
),

ordered as (
    select
        placed.*,
        row_number() over (
            partition by point, school_id, grade, subject, priority_skill
            order by case when priority_level is null then 1 else 0 end, priority_level,
                     case when scale_score is null then 1 else 0 end, scale_score, student_id
        ) as position_in_skill,
        count(*) over (partition by point, school_id, grade, subject, priority_skill) as students_in_skill
    from placed
),

grouped as (
    select
        ordered.*,
        cast(floor(
            (position_in_skill - 1)
            * cast(ceiling(cast(students_in_skill as {{ type_double() }}) / {{ var('max_group_size') | int }}) as {{ dbt.type_int() }})
            / cast(students_in_skill as {{ type_double() }})
        ) as {{ dbt.type_int() }}) + 1 as group_number
    from ordered
)

select
    grouped.*,
    coalesce(school_id, '?') || '|' || coalesce(grade, '?') || '|' || subject || '|'
        || priority_skill || '|' || cast(group_number as {{ dbt.type_string() }}) as group_id,
    count(*) over (partition by point, school_id, grade, subject, priority_skill, group_number) as group_size
from grouped
