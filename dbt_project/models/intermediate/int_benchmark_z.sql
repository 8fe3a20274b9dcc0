-- int_benchmark_z: one row per benchmark result (BOY/MOY/EOY, reading or math, this school year, on
-- or before as_of_date) with its z-score: (score − mean) / sample SD within school year × vendor ×
-- subject × grade × window over all tested students (DESIGN §7). Grade is the SIS grade (the
-- vendor's tested grade when the student is missing from the SIS). NULL z when the cell's SD is 0
-- or undefined (fewer than two scores).
with results as (
    select * from {{ ref('int_screener_results') }}
    where is_benchmark
      and scale_score is not null
      and test_date <= {{ var_date('as_of_date') }}
),

students as (
    select student_id, grade from {{ ref('stg_students') }}
),

graded as (
    select
        results.*,
        coalesce(students.grade, results.tested_grade) as norm_grade
    from results
    left join students on results.student_id = students.student_id
),

norms as (
    select
        vendor,
        subject,
        norm_grade,
        screening_window,
        avg(scale_score) as mean_score,
        stddev_samp(scale_score) as sd_score,
        count(*) as n_tested
    from graded
    group by vendor, subject, norm_grade, screening_window
),

scored as (
    select
        graded.student_id,
        graded.subject,
        graded.vendor,
        graded.test_date,
        graded.screening_window,
        graded.norm_grade,
        graded.scale_score,
        graded.percentile,
        graded.performance_level,
        graded.meets_benchmark,
        graded.tier,
        norms.mean_score,
        norms.sd_score,
        norms.n_tested,
        (graded.scale_score - norms.mean_score) / nullif(norms.sd_score, 0) as z_score
    from graded
    inner join norms
        on graded.vendor = norms.vendor
       and graded.subject = norms.subject
       and graded.norm_grade = norms.norm_grade
       and graded.screening_window = norms.screening_window
)

select * from scored
