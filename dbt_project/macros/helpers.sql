{#- Small arithmetic and hygiene helpers shared by the models. -#}

{#- numerator / denominator as double precision; NULL when the denominator is 0 or NULL. -#}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}

{#- A student's display name for restricted marts. -#}
{% macro student_name(first, last) -%}
    trim(coalesce({{ first }}, '') || ' ' || coalesce({{ last }}, ''))
{%- endmacro %}

{#- A small count of students is published only when 0 or at least min_n (DESIGN §9); a mart with
    a stricter threshold (accountability_alignment: state_min_n) passes its own. -#}
{% macro is_small_count(count, min_n=none) -%}
    ({{ count }} > 0 and {{ count }} < {{ (min_n if min_n is not none else var('min_n')) | int }})
{%- endmacro %}

{#- A failing mark (documented rule for student_tiers.failing_grade): a letter F (F, F+, F-) or
    E, U, NP, NC, FAIL; or a number below 60 on a 0–100 scale, below 1.0 on a 0–4 grade-point scale
    (numbers up to 4.5 are read as grade points). -#}
{% macro is_failing_mark(mark) -%}
    (
        upper(trim({{ mark }})) in ('F', 'F+', 'F-', 'E', 'U', 'NP', 'NC', 'FAIL', 'FAILING')
        or (
            {{ try_cast_double(mark) }} is not null
            and case
                when {{ try_cast_double(mark) }} <= 4.5
                    then {{ try_cast_double(mark) }} < 1.0
                else {{ try_cast_double(mark) }} < 60
            end
        )
    )
{%- endmacro %}

{#- Status of a value against its target (DESIGN §7 owners): higher is better ⇒ on_track ≥ target,
    at_risk ≥ 80 % of target, else off_track; lower is better mirrors it (on_track ≤ target, at_risk
    ≤ 125 % of target). NULL without a value. -#}
{% macro metric_status(value, target, direction) -%}
    case
        when {{ value }} is null or {{ target }} is null then null
        when {{ direction }} = 'lower' then
            case
                when {{ value }} <= {{ target }} then 'on_track'
                when {{ value }} <= {{ target }} * 1.25 then 'at_risk'
                else 'off_track'
            end
        else
            case
                when {{ value }} >= {{ target }} then 'on_track'
                when {{ value }} >= {{ target }} * 0.8 then 'at_risk'
                else 'off_track'
            end
    end
{%- endmacro %}

{#- The config's named owners (var owners) as rows: metric, category, owner, target, direction,
    action_if_low. -#}
{% macro owners_values() -%}
    {%- for o in var('owners') %}
    select
        cast('{{ o.metric }}' as {{ dbt.type_string() }}) as metric,
        cast('{{ o.category }}' as {{ dbt.type_string() }}) as category,
        cast('{{ (o.owner or "") | replace("'", "''") }}' as {{ dbt.type_string() }}) as owner,
        cast({{ o.target if o.target is not none else 'null' }} as {{ type_double() }}) as target,
        cast('{{ o.direction or "higher" }}' as {{ dbt.type_string() }}) as direction,
        cast('{{ (o.action_if_low or "") | replace("'", "''") }}' as {{ dbt.type_string() }}) as action_if_low
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- Estimates are published to 10 decimal places: parallel aggregation may add the same terms in a
    different order, and the last bits of a double would otherwise differ between identical runs. -#}
{% macro stable(expression, digits=10) -%}
    {{ return(adapter.dispatch('stable', 'tutoring_impact')(expression, digits)) }}
{%- endmacro %}

{% macro default__stable(expression, digits) -%}
    round(cast({{ expression }} as {{ type_double() }}), {{ digits }})
{%- endmacro %}

{#- PostgreSQL rounds to a number of places only in numeric. -#}
{% macro postgres__stable(expression, digits) -%}
    cast(round(cast({{ expression }} as numeric), {{ digits }}) as {{ type_double() }})
{%- endmacro %}


{# A student's primary tutor in `sessions` (a relation or CTE of int_sessions rows): the tutor of the
   most attended sessions, ties to the one seen first, then the lower tutor_id. One row per
   student × subject: student_id, subject, tutor_id, attended_with_tutor. #}
{% macro primary_tutor(sessions) -%}
    select student_id, subject, tutor_id, attended_with_tutor
    from (
        select
            student_id,
            subject,
            tutor_id,
            count(*) as attended_with_tutor,
            row_number() over (
                partition by student_id, subject
                order by count(*) desc, min(session_start), tutor_id
            ) as tutor_rank
        from {{ sessions }}
        where is_attended and tutor_id is not null
        group by student_id, subject, tutor_id
    ) as ranked
    where tutor_rank = 1
{%- endmacro %}
