{#- The district's academic priority (config `priority: {subject, grades}`, DESIGN §5) as a boolean
    SQL expression for marts' `in_priority` column: the row's subject is the priority subject and,
    when the priority names grades, the row's grade is one of them. A row without a grade (pass
    grade=none), or whose grade is 'ALL', covers every grade and is tagged by its subject alone.
    With no priority configured every row is false. -#}
{% macro in_priority(subject, grade=none) -%}
    {%- set p_subject = var('priority_subject', none) -%}
    {%- set p_grades = var('priority_grades', []) or [] -%}
    {%- if p_subject is none or p_subject in ('', 'None') -%}
        (1 = 0)
    {%- elif grade is none or not p_grades -%}
        ({{ subject }} = '{{ p_subject }}')
    {%- else -%}
        ({{ subject }} = '{{ p_subject }}'
         and ({{ grade }} is null or {{ grade }} = 'ALL'
              or {{ grade }} in ({% for g in p_grades %}'{{ g }}'{% if not loop.last %}, {% endif %}{% endfor %})))
    {%- endif -%}
{%- endmacro %}
