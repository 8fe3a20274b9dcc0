{#- unique_grain: no two rows share the model's grain (a combination of columns, NULLs equal).
    Fails with one row per duplicated grain value and how many rows share it. -#}
{% test unique_grain(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as rows_sharing_grain
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
