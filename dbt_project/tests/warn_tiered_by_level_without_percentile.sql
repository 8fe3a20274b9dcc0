{{ config(severity='warn') }}
-- What is this test? Counts, per vendor and subject, the students whose tier this cycle came from the
-- vendor's level because a percentile-basis result (MAP, i-Ready, Star) carried no percentile
-- (student_tiers.tier_method = level_no_percentile; DESIGN §4.5: "tiered by level, with a warning").
-- When is this important to resolve? A warning, not a gate: level-based tiers are coarser than the
-- percentile cut points. Many such rows usually mean an export without the percentile column.
-- How to resolve? Ask the vendor for the extract with national percentile ranks (MAP TestPercentile,
-- i-Ready Percentile, Star PercentileRank) and re-deliver. Returns counts only.
select cycle_id, subject, vendor, count(*) as students_tiered_by_level
from {{ ref('student_tiers') }}
where tier_method = 'level_no_percentile'
group by cycle_id, subject, vendor
