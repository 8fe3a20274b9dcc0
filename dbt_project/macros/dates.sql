{#- Calendar helpers, written with dbt's cross-database macros so the models stay portable. -#}

{#- The Monday of the ISO week (Mon–Sun) holding a date. -#}
{% macro week_start(column) -%}
    cast({{ dbt.date_trunc('week', column) }} as date)
{%- endmacro %}

{#- Mon–Fri: the day lies fewer than five days after its week's Monday (no dialect-specific dow). -#}
{% macro is_weekday(column) -%}
    ({{ dbt.datediff(week_start(column), column, 'day') }} < 5)
{%- endmacro %}

{#- The integers 0 … 10^digits − 1, as column `n`, from a cross join of digits (no generate_series). -#}
{% macro integers(digits=3) -%}
    select
        {% for i in range(digits) %}d{{ i }}.digit * {{ 10 ** i }}{% if not loop.last %} + {% endif %}{% endfor %} as n
    from
        {% for i in range(digits) -%}
        (select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
         union all select 5 union all select 6 union all select 7 union all select 8 union all select 9) as d{{ i }}
        {%- if not loop.last %} cross join {% endif %}
        {% endfor %}
{%- endmacro %}

{#- Every calendar day of the school year up to the later of its last day and as_of_date, with its
    ISO week and whether the week is a break week (all weekdays are break days, DESIGN §7). -#}
{% macro school_calendar() -%}
    select
        day_date,
        {{ week_start('day_date') }} as week_start,
        {{ is_weekday('day_date') }} as is_weekday,
        {{ is_break_week(week_start('day_date')) }} as is_break_week
    from (
        select cast({{ dbt.dateadd('day', 'n', var_date('school_year_start')) }} as date) as day_date
        from ({{ integers(3) }}) as numbers
    ) as days
    where day_date <= greatest({{ var_date('school_year_end') }}, {{ var_date('as_of_date') }})
{%- endmacro %}
