-- int_skill_levels: one row per student × subject × vendor × test date × canonical skill, from the
-- screener's domain results this school year: the vendor domain name is mapped to a skill
-- (skill_crosswalk) and its printed level to a performance level 1–4 (vendor_levels, scope domain).
-- Several domains can map to one skill (e.g. DIBELS NWF-CLS and NWF-WRC → phonics): the skill takes
-- the lowest level, and the domain that showed it (ties by name). Domains that are not a skill, and
-- results without a known level, are left out — their need cannot be judged.
with domains as (
    select * from {{ ref('stg_screener_domains') }}
    where subject in ('reading', 'math')
      and test_date >= {{ var_date('school_year_start') }}
),

crosswalk as (
    select * from {{ ref('skill_crosswalk') }}
    where skill is not null
),

domain_levels as (
    select * from {{ ref('vendor_levels') }}
    where scope = 'domain'
),

skill_order as (
    select * from {{ ref('skill_order') }}
),

mapped as (
    select
        domains.student_id,
        domains.subject,
        domains.vendor,
        domains.test_date,
        crosswalk.skill,
        domains.domain,
        domains.domain_score,
        domains.domain_level_label,
        domain_levels.performance_level as domain_level,
        row_number() over (
            partition by domains.student_id, domains.subject, domains.vendor, domains.test_date, crosswalk.skill
            order by domain_levels.performance_level, domains.domain
        ) as level_rank
    from domains
    inner join crosswalk
        on lower(trim(domains.vendor)) = lower(trim(crosswalk.vendor))
       and domains.subject = crosswalk.subject
       and lower(trim(domains.domain)) = lower(trim(crosswalk.domain))
    inner join domain_levels
        on lower(trim(domains.vendor)) = lower(trim(domain_levels.vendor))
       and lower(trim(domains.domain_level_label)) = lower(trim(domain_levels.label))
),

per_skill as (
    select
        mapped.student_id,
        mapped.subject,
        mapped.vendor,
        mapped.test_date,
        mapped.skill,
        skill_order.teaching_order,
        mapped.domain,
        mapped.domain_score,
        mapped.domain_level_label,
        mapped.domain_level,
        (mapped.domain_level <= 2) as is_gap
    from mapped
    inner join skill_order on mapped.subject = skill_order.subject and mapped.skill = skill_order.skill
    where mapped.level_rank = 1
)

select * from per_skill
