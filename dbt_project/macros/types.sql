{#- Column types the marts' contracts use. dbt's own type_float() is single precision on some
    warehouses (DuckDB FLOAT = FLOAT4), so rates and scores use double precision explicitly. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'tutoring_impact')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}
{% macro spark__type_double() -%}double{%- endmacro %}

{#- A value as double precision, NULL when it is not a number (marks such as 'B+' or '55'). dbt's
    safe_cast renders a plain cast on DuckDB, which raises on text; this one never does. -#}
{% macro try_cast_double(expression) -%}
    {{ return(adapter.dispatch('try_cast_double', 'tutoring_impact')(expression)) }}
{%- endmacro %}

{% macro default__try_cast_double(expression) -%}
    case when trim({{ expression }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$'
         then cast(trim({{ expression }}) as {{ type_double() }}) end
{%- endmacro %}

{% macro duckdb__try_cast_double(expression) -%}
    try_cast(trim({{ expression }}) as double)
{%- endmacro %}

{% macro spark__try_cast_double(expression) -%}
    try_cast(trim({{ expression }}) as double)
{%- endmacro %}
