-- int_state_results: one row per student × subject with a state test result last school year or
-- this one (reading or math). prior_* is the school year before the configured one, current_* the
-- configured one (present once the state's results arrive). Proficient = the file's flag, else
-- achievement_level ≥ the year × subject's proficient level: the lowest level the file marks
-- proficient, else var proficient_level. A bubble student was one level below that last year.
{%- set year_start = var('school_year_id')[:4] | int %}
with results as (
    select * from {{ ref('stg_state_assessment') }}
    where subject in ('reading', 'math')
      and tested_year_start in ({{ year_start - 1 }}, {{ year_start }})
),

levels as (
    select
        tested_year_start,
        subject,
        coalesce(min(case when proficient then achievement_level end), {{ var('proficient_level') }}) as proficient_level
    from results
    group by tested_year_start, subject
),

scored as (
    select
        results.student_id,
        results.subject,
        results.tested_year_start,
        results.grade,
        results.scale_score,
        results.achievement_level,
        levels.proficient_level,
        coalesce(results.proficient, results.achievement_level >= levels.proficient_level) as is_proficient
    from results
    inner join levels
        on results.tested_year_start = levels.tested_year_start and results.subject = levels.subject
),

prior_year as (
    select * from scored where tested_year_start = {{ year_start - 1 }}
),

current_year as (
    select * from scored where tested_year_start = {{ year_start }}
),

keys as (
    select student_id, subject from prior_year
    union
    select student_id, subject from current_year
)

select
    keys.student_id,
    keys.subject,
    prior_year.grade as prior_grade,
    prior_year.scale_score as prior_scale_score,
    prior_year.achievement_level as prior_level,
    prior_year.is_proficient as prior_proficient,
    (prior_year.achievement_level = prior_year.proficient_level - 1) as bubble,
    current_year.grade as current_grade,
    current_year.scale_score as current_scale_score,
    current_year.achievement_level as current_level,
    current_year.is_proficient as current_proficient
from keys
left join prior_year on keys.student_id = prior_year.student_id and keys.subject = prior_year.subject
left join current_year on keys.student_id = current_year.student_id and keys.subject = current_year.subject
