-- What is this test? No published tier_distribution count lies strictly between 0 and min_n, and
-- every published row's tier counts add up to its n_students and its percentages to 100.
-- When is this important to resolve? Always: a small published count can identify students
-- (DESIGN §9); shares that do not add up mean a tier was lost.
-- How to resolve? Check the primary suppression rule in tier_distribution.sql; returns the failing
-- cells' keys only.
{% set min_n = var('min_n') | int %}
select cycle_id, subject, school_id, grade
from {{ ref('tier_distribution') }}
where not suppressed
  and (
      (n_students > 0 and n_students < {{ min_n }})
      or (n_tier1 > 0 and n_tier1 < {{ min_n }})
      or (n_tier2 > 0 and n_tier2 < {{ min_n }})
      or (n_tier3 > 0 and n_tier3 < {{ min_n }})
      or n_tier1 + n_tier2 + n_tier3 <> n_students
      or abs(pct_tier1 + pct_tier2 + pct_tier3 - 100) > 0.000001
  )
