{#- Complementary small-cell suppression for a two-way table with margins (DESIGN §9).

    `cells` is a CTE of exactly these columns, one row per published cell: `partition_columns`
    (e.g. subject), a row dimension and a column dimension whose totals are spelled 'ALL', a size
    column used to pick the complement, and a boolean `<flag>` already true for primarily
    suppressed cells. `<output>` has the same columns with `<flag>` final; join it back.

    Every line of the table is an equation: the cells of one row value (its real column values plus
    its 'ALL' total) and the cells of one column value. A line holding exactly one suppressed cell
    lets that cell be recovered by subtraction, so each pass suppresses, in every such line, the
    unsuppressed cell with the smallest size (ties by the other dimension's value) — except in the
    margin line (the 'ALL' row) running along the dimension named by `largest_first_along`, where it
    is the largest cell other than the total. A subgroup table passes its value dimension: then
    protecting a small district cell (say ell=unknown) withholds the majority group's count
    (ell=false), not the small group the table exists to show (ell=true), whose district rate would
    otherwise vanish; the school lines keep smallest-first, which withholds least. Passes alternate
    between row lines and column lines; `passes` rounds are unrolled (SQL has no loop), and the
    singular test `assert_tier_distribution_no_recoverable_cell` fails the build if a line is still
    left with exactly one suppressed cell. Each pass reads the one before it once (window functions,
    no self-join): engines that inline CTEs, such as Spark, would otherwise grow the plan
    exponentially with the passes. Every pass partitions by `partition_columns` and one more
    column, so the cells are spread by `partition_columns` once, before the first pass (macro
    distribute_by: Spark then shuffles once, not before every pass); `distribute=false` when the
    caller has spread them already.

    Renders a chain of CTEs ending in `<output>`; call it inside a `with` list. -#}
{% macro complementary_suppression(cells, output, partition_columns, row_dim, col_dim, size, flag, passes=4, largest_first_along=none, distribute=true) -%}
{%- set steps = [] -%}
{%- for i in range(passes) -%}
    {%- do steps.append((row_dim, col_dim)) -%}
    {%- do steps.append((col_dim, row_dim)) -%}
{%- endfor -%}
{%- set part = (partition_columns | join(', ') ~ ', ') if partition_columns else '' -%}
{%- set previous = namespace(name=cells) -%}
{%- set spread = (distribute_by(partition_columns) | trim) if distribute else '' -%}
{%- for line_dim, other_dim in steps -%}
{%- set step_name = output ~ '_pass_' ~ loop.index -%}
{{ step_name }} as (
    select
        {% for p in partition_columns %}{{ p }}, {% endfor %}{{ row_dim }}, {{ col_dim }}, {{ size }},
        ({{ flag }} or (n_suppressed = 1 and complement_rank = 1)) as {{ flag }}
    from (
        select
            {% for p in partition_columns %}c.{{ p }}, {% endfor %}c.{{ row_dim }}, c.{{ col_dim }}, c.{{ size }}, c.{{ flag }},
            sum(case when c.{{ flag }} then 1 else 0 end) over (
                partition by {% for p in partition_columns %}c.{{ p }}, {% endfor %}c.{{ line_dim }}
            ) as n_suppressed,
            row_number() over (
                partition by {% for p in partition_columns %}c.{{ p }}, {% endfor %}c.{{ line_dim }}
                {%- if other_dim == largest_first_along %}
                order by case when c.{{ flag }} then 1 else 0 end,
                         case when c.{{ line_dim }} = 'ALL' and c.{{ other_dim }} = 'ALL' then 1 else 0 end,
                         case when c.{{ line_dim }} = 'ALL' then -c.{{ size }} else c.{{ size }} end,
                         case when c.{{ other_dim }} = 'ALL' then 1 else 0 end, c.{{ other_dim }}
                {%- else %}
                order by case when c.{{ flag }} then 1 else 0 end,
                         c.{{ size }}, case when c.{{ other_dim }} = 'ALL' then 1 else 0 end, c.{{ other_dim }}
                {%- endif %}
            ) as complement_rank
        from {% if loop.first and spread %}(select * from {{ previous.name }} {{ spread }}){% else %}{{ previous.name }}{% endif %} as c
    ) as ranked
),
{%- set previous.name = step_name -%}
{% endfor %}
{{ output }} as (
    select * from {{ previous.name }}
)
{%- endmacro %}

{#- Per-count small-cell suppression for a two-way table with margins (DESIGN §9), when a cell holds
    several counts and only the small ones should be withheld.

    `counts` is a CTE with `partition_columns`, a row dimension and a column dimension (totals spelled
    'ALL') and one column per name in `measures`. Each count with 0 < n < min_n is suppressed
    (primary). `equations` lists groups of measures of which the first is the sum of the others
    within a cell (e.g. referred = referred with need + referred without need): a group holding
    exactly one suppressed count gets a second one (its smallest). Each measure then gets
    complementary suppression across its own table's lines (macro complementary_suppression), and
    the within-cell rule runs again, for `rounds` rounds; a group still left with one suppressed
    count is then suppressed whole, followed by a last complementary pass. The singular tests
    assert_*_no_recoverable_count check the result.

    `largest_first_along` is passed on to complementary_suppression. `min_n` overrides var min_n
    (a stricter threshold such as the state's minimum n).

    Renders CTEs ending in `<output>`: the partition columns, the two dimensions and a boolean
    `<measure>_suppressed` per measure. -#}
{% macro suppress_counts(counts, output, partition_columns, row_dim, col_dim, measures, equations=[], rounds=2, passes=3, largest_first_along=none, min_n=none) -%}
{%- set keys = partition_columns + [row_dim, col_dim] -%}
{%- set key_list = keys | join(', ') -%}
{#- one scan of `counts` joined to the list of measures (Spark plans every reference of a CTE anew) #}
{{ output }}_measures as (
    {%- for m in measures %}
    select '{{ m }}' as measure{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),
{{ output }}_long as (
    select
        {% for k in keys %}c.{{ k }}, {% endfor %}m.measure,
        case {% for m in measures %}when m.measure = '{{ m }}' then c.{{ m }} {% endfor %}end as n,
        case {% for m in measures %}when m.measure = '{{ m }}' then {{ is_small_count('c.' ~ m, min_n) }} {% endfor %}end as suppressed
    from {{ counts }} as c
    cross join {{ output }}_measures as m
    {#- every later window partitions by the partition columns and more: spread the rows once #}
    {{ distribute_by(partition_columns) }}
),
{%- set previous = namespace(name=output ~ '_long') %}
{%- for r in range(rounds) %}
{%- for eq in equations %}
{%- set step = output ~ '_r' ~ r ~ '_eq' ~ loop.index %}
{{ step }} as (
    select {{ key_list }}, measure, n,
           (suppressed or (in_equation = 1 and n_suppressed = 1 and pick_rank = 1)) as suppressed
    from (
        select
            c.*,
            case when c.measure in ({% for m in eq %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end as in_equation,
            sum(case when c.measure in ({% for m in eq %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}) and c.suppressed then 1 else 0 end) over (
                partition by {{ key_list }}
            ) as n_suppressed,
            row_number() over (
                partition by {{ key_list }}, case when c.measure in ({% for m in eq %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end
                order by case when c.suppressed then 1 else 0 end, c.n, c.measure
            ) as pick_rank
        from {{ previous.name }} as c
    ) as ranked
),
{%- set previous.name = step %}
{%- endfor %}
{%- set comp = output ~ '_r' ~ r ~ '_comp' %}
{{ comp }}_cells as (
    select {{ key_list }}, measure, n, suppressed from {{ previous.name }}
),
{{ complementary_suppression(comp ~ '_cells', comp, partition_columns + ['measure'], row_dim, col_dim, 'n', 'suppressed', passes=passes, largest_first_along=largest_first_along, distribute=false) }},
{%- set previous.name = comp %}
{%- endfor %}
{%- for eq in equations %}
{%- set step = output ~ '_final_eq' ~ loop.index %}
{{ step }} as (
    select {{ key_list }}, measure, n,
           (suppressed or (n_suppressed = 1 and measure in ({% for m in eq %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}))) as suppressed
    from (
        select
            c.*,
            sum(case when c.measure in ({% for m in eq %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}) and c.suppressed then 1 else 0 end) over (
                partition by {{ key_list }}
            ) as n_suppressed
        from {{ previous.name }} as c
    ) as counted
),
{%- set previous.name = step %}
{%- endfor %}
{%- if equations %}
{{ output }}_last_cells as (
    select {{ key_list }}, measure, n, suppressed from {{ previous.name }}
),
{{ complementary_suppression(output ~ '_last_cells', output ~ '_last', partition_columns + ['measure'], row_dim, col_dim, 'n', 'suppressed', passes=passes, largest_first_along=largest_first_along, distribute=false) }},
{%- set previous.name = output ~ '_last' %}
{%- endif %}
{{ output }} as (
    select
        {{ key_list }},
        {%- for m in measures %}
        max(case when measure = '{{ m }}' and suppressed then 1 else 0 end) = 1 as {{ m }}_suppressed{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ previous.name }}
    group by {{ key_list }}
)
{%- endmacro %}
