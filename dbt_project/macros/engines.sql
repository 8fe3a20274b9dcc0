{#- What the other engines need so the same models run on DuckDB, Apache Spark and PostgreSQL
    (DESIGN §11, docs/scaling.md). Models use dbt's cross-database macros; the few differences
    live here and in types.sql, chosen by adapter.dispatch. -#}

{#- The landed Parquet files as tables of the `landing` source. DuckDB reads each file in place
    through the source's `external_location`, so nothing is done there. Spark reads them in place
    too, through a view over each file, made here on run start (dbt_project.yml on-run-start).
    PostgreSQL cannot read Parquet: orchestration.engines.load_landing_postgres copies the files
    into the schema before dbt runs, and this checks that every table is there. -#}
{% macro landing_tables() -%}
    {{ return(adapter.dispatch('landing_tables', 'tutoring_impact')()) }}
{%- endmacro %}

{% macro default__landing_tables() -%}
    {%- if execute -%}
    {%- set missing = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'landing' -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) -%}
        {%- if relation is none -%}{%- do missing.append(node.schema ~ '.' ~ node.identifier) -%}{%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error("the landed tables " ~ (missing | join(', ')) ~ " are not in the database: load the cycle's landing folder first (orchestration.engines.load_landing_postgres)") }}
    {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro duckdb__landing_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__landing_tables() -%}
    {%- if execute -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'landing' -%}
        {%- if node.schema not in schemas -%}
            {%- do run_query('create schema if not exists ' ~ node.schema) -%}
            {%- do schemas.append(node.schema) -%}
        {%- endif -%}
        {%- set path = var('landing_dir') ~ '/' ~ node.identifier ~ '.parquet' -%}
        {%- do run_query('create or replace view ' ~ node.schema ~ '.' ~ node.identifier
                         ~ ' as select * from parquet.`' ~ path ~ '`') -%}
    {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Spark spells two of the type names the contracts and seeds use differently: `varchar` needs a
    length there (string is Spark's text type) and `double precision` is plain `double`. -#}
{% macro spark_type(data_type) -%}
    {%- set t = data_type | trim | lower -%}
    {{- return({'varchar': 'string', 'text': 'string', 'double precision': 'double'}.get(t, data_type)) -}}
{%- endmacro %}

{#- dbt's cast(), which model contracts render their declared column types through. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}

{#- Seeds: their column_types are written in the contracts' names (varchar, double precision);
    Spark gets its own spelling before dbt-spark creates and fills the seed table. -#}
{% macro spark__create_csv_table(model, agate_table) -%}
    {%- do spark_seed_types(model) -%}
    {{ return(dbt.spark__create_csv_table(model, agate_table)) }}
{%- endmacro %}

{#- dbt-spark's session method pastes bound values into the SQL without escaping them, so a seed
    text holding an apostrophe (a description such as "student's") breaks the statement. Rows go in
    as literals instead, with backslashes and quotes escaped (Spark reads backslash escapes in
    string literals), a few hundred per statement. -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- do spark_seed_types(model) -%}
    {%- set types = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for value in row -%}
                {%- set name = agate_table.column_names[loop.index0] -%}
                {%- set type = types.get(name, adapter.convert_type(agate_table, loop.index0)) -%}
                {%- if value is none -%}cast(null as {{ type }})
                {%- else -%}cast('{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}' as {{ type }})
                {%- endif -%}{%- if not loop.last %}, {% endif -%}
            {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{%- endmacro %}

{% macro spark_seed_types(model) -%}
    {%- set types = model['config'].get('column_types', {}) -%}
    {%- for name in types -%}
        {%- do types.update({name: spark_type(types[name])}) -%}
    {%- endfor -%}
{%- endmacro %}

{#- dbt.listagg on Spark ignores its order by (dbt-spark warns and collects in any order), so a
    mart's list (skills focused, funding mix) could come out in another order than on DuckDB or
    PostgreSQL. This one sorts (key, value) pairs by one ascending key, NULL values left out. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if not order_by_clause -%}
        {{ return(dbt.spark__listagg(measure, delimiter_text, order_by_clause, limit_num)) }}
    {%- endif -%}
    {%- set key = modules.re.sub('^\\s*order\\s+by\\s+', '', order_by_clause, flags=modules.re.I) | trim -%}
    {%- if ',' in key or modules.re.search('\\s(asc|desc|nulls)\\b', key, flags=modules.re.I) -%}
        {{ exceptions.raise_compiler_error("spark__listagg orders by one ascending key only, not '" ~ order_by_clause ~ "'") }}
    {%- endif -%}
    {%- set pairs -%}
        array_sort(filter(collect_list(named_struct('k', {{ key }}, 'v', {{ measure }})), x -> x.v is not null))
    {%- endset -%}
    {%- set values = 'transform(' ~ pairs ~ ', x -> x.v)' -%}
    {%- if limit_num -%}{%- set values = 'slice(' ~ values ~ ', 1, ' ~ limit_num ~ ')' -%}{%- endif -%}
    array_join({{ values }}, {{ delimiter_text }})
{%- endmacro %}

{#- A query's rows spread over workers by `columns` (a list of column expressions), written at the
    end of a select. A chain of window functions whose partitions all contain these columns (the
    suppression passes of macros/suppression.sql) then runs without moving rows between passes:
    Spark shuffles once here instead of before every window (a shuffle is a job stage with a fixed
    cost of a fraction of a second, and the chains hold dozens of windows). Only Spark needs it:
    elsewhere it renders nothing, and the rows are the same either way. -#}
{% macro distribute_by(columns) -%}
    {{ return(adapter.dispatch('distribute_by', 'tutoring_impact')(columns)) }}
{%- endmacro %}

{% macro default__distribute_by(columns) -%}
{%- endmacro %}

{% macro spark__distribute_by(columns) -%}
    {%- if columns %}distribute by {{ columns | join(', ') }}{% endif -%}
{%- endmacro %}
