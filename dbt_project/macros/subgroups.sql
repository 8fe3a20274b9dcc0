{#- The subgroup dimensions of the equity and identification marts, from var subgroup_dimensions:
    (dimension, SQL value). Flags are tri-state — true, false, unknown — because a blank program flag
    is unknown, never false. -#}
{% macro subgroup_dimensions() -%}
    {%- set dims = [] -%}
    {%- for name in var('subgroup_dimensions') -%}
        {%- if name in ('grade', 'race', 'sex') -%}
            {%- do dims.append((name, "coalesce(" ~ name ~ ", 'unknown')")) -%}
        {%- elif name in ('hispanic', 'ell', 'iep', 'section_504', 'econ_disadv', 'homeless', 'foster') -%}
            {%- do dims.append((name, "case when " ~ name ~ " then 'true' when not " ~ name ~ " then 'false' else 'unknown' end")) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("subgroup_dimensions: unknown dimension '" ~ name ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(dims) }}
{%- endmacro %}

{#- One row per student × dimension × value, plus the dimension's 'ALL' row (its total), from a CTE;
    `dims` ((dimension, SQL value) pairs) defaults to subgroup_dimensions().
    One scan of the CTE joined to the list of (dimension, total?) pairs rather than a union of one
    scan per pair: Spark plans every reference of a CTE anew, and the marts read this many times. -#}
{% macro expand_subgroups(cte, dims=none) -%}
    {%- set dims = dims if dims is not none else subgroup_dimensions() %}
    select
        subgroup_cuts.dimension,
        case
            when subgroup_cuts.is_total = 1 then 'ALL'
            {%- for dimension, value in dims %}
            when subgroup_cuts.dimension = '{{ dimension }}' then {{ value }}
            {%- endfor %}
        end as dimension_value,
        {{ cte }}.*
    from {{ cte }}
    cross join (
        {%- for dimension, value in dims %}
        select '{{ dimension }}' as dimension, 0 as is_total
        union all
        select '{{ dimension }}', 1
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as subgroup_cuts
{%- endmacro %}

{#- The scopes of checkpoint_30_60_90 and int_impact_members: one row per row of `cte` × scope it
    counts in — district (ALL), school, grade, tutor_type and partner_org (its primary tutor's), and
    subgroup (ell, iep, section_504, econ_disadv, homeless, foster, hispanic = true; race = …;
    sex = …). The comparison group has no tutor: given `tutor_types` and `partner_orgs` (CTEs of
    scope_value), each comparison row counts in every one of them; `own_tutor=false` leaves the
    tutor scopes out (the model adds its own). One scan of `cte` joined to the list of scopes
    (Spark plans each reference of a CTE anew; a union of one scan per scope made its plans huge). -#}
{% macro scope_rows(cte, tutor_types=none, partner_orgs=none, own_tutor=true) -%}
    {%- set scopes = [('district', 'district', "'ALL'", 'true'),
                      ('school', 'school', cte ~ '.school_id', cte ~ '.school_id is not null'),
                      ('grade', 'grade', cte ~ '.grade', cte ~ '.grade is not null')] -%}
    {%- if tutor_types is none and own_tutor -%}
        {%- do scopes.append(('tutor_type', 'tutor_type', cte ~ '.primary_tutor_type', cte ~ '.primary_tutor_type is not null')) -%}
        {%- do scopes.append(('partner_org', 'partner_org', cte ~ '.primary_partner_org', cte ~ '.primary_partner_org is not null')) -%}
    {%- endif -%}
    {%- for flag in ['ell', 'iep', 'section_504', 'econ_disadv', 'homeless', 'foster', 'hispanic'] -%}
        {%- do scopes.append((flag, 'subgroup', "'" ~ flag ~ "=true'", cte ~ '.' ~ flag)) -%}
    {%- endfor -%}
    {%- do scopes.append(('race', 'subgroup', "'race=' || " ~ cte ~ '.race', cte ~ '.race is not null')) -%}
    {%- do scopes.append(('sex', 'subgroup', "'sex=' || " ~ cte ~ '.sex', cte ~ '.sex is not null')) %}
    select
        scope_list.scope_type,
        case
            {%- for kind, scope_type, value, condition in scopes %}
            when scope_list.kind = '{{ kind }}' then {{ value }}
            {%- endfor %}
        end as scope_value,
        {{ cte }}.*
    from {{ cte }}
    cross join (
        {%- for kind, scope_type, value, condition in scopes %}
        select '{{ kind }}' as kind, '{{ scope_type }}' as scope_type{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as scope_list
    where case
        {%- for kind, scope_type, value, condition in scopes %}
        when scope_list.kind = '{{ kind }}' then {{ condition }}
        {%- endfor %}
    end
    {%- if tutor_types is not none %}
    union all
    select 'tutor_type', {{ tutor_types }}.scope_value, {{ cte }}.* from {{ cte }} cross join {{ tutor_types }}
    union all
    select 'partner_org', {{ partner_orgs }}.scope_value, {{ cte }}.* from {{ cte }} cross join {{ partner_orgs }}
    {%- endif %}
{%- endmacro %}
