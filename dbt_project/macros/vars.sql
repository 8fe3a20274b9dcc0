{#- Settings arrive as dbt vars (orchestration.config.dbt_vars); these macros render them as typed
    SQL literals, so a missing optional setting (e.g. previous_as_of_date in the first cycle)
    becomes a typed NULL instead of the string 'None'. -#}

{% macro var_date(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none or value == '' or value == 'None' -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro var_string(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none or value == 'None' -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        cast('{{ value | replace("'", "''") }}' as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro var_number(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        cast({{ value | float }} as {{ type_double() }})
    {%- endif -%}
{%- endmacro %}

{% macro var_int(name) -%}
    cast({{ var(name) | int }} as {{ dbt.type_int() }})
{%- endmacro %}

{#- True when the cycle has a previous cycle (prior tiers, previous groups). -#}
{% macro has_previous_cycle() -%}
    {%- set value = var('previous_as_of_date') -%}
    {{- return(not (value is none or value == '' or value == 'None')) -}}
{%- endmacro %}

{#- `column in (break-week Mondays)`; false when the school year has no break week. -#}
{% macro is_break_week(column) -%}
    {%- set weeks = var('break_weeks') or [] -%}
    {%- if weeks | length == 0 -%}
        (1 = 0)
    {%- else -%}
        ({{ column }} in ({% for w in weeks %}cast('{{ w }}' as date){% if not loop.last %}, {% endif %}{% endfor %}))
    {%- endif -%}
{%- endmacro %}
