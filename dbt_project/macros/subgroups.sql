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

{#- One row per student × dimension × value, plus the dimension's 'ALL' row (its total), from a CTE. -#}
{% macro expand_subgroups(cte) -%}
    {%- for dimension, value in subgroup_dimensions() %}
    select '{{ dimension }}' as dimension, {{ value }} as dimension_value, {{ cte }}.* from {{ cte }}
    union all
    select '{{ dimension }}' as dimension, 'ALL' as dimension_value, {{ cte }}.* from {{ cte }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
