{% macro raise_on_unreadable_value(relation, location, columns, line_number=none) %}
    {#- Fails with one line naming the raw table, the line (when known), the
        column, the value and the expected type, when a value of relation
        cannot be read as its type; the first such value, by line and then
        by column. relation: text columns to check; location: how the
        message names the raw table; columns: [{name, sql_type,
        contract_type}]; line_number: SQL expression of a row's line in the
        raw file, or none. -#}
    {%- if not columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select * from (
        {%- for column in columns %}
            {%- set quoted = adapter.quote(column.name) %}
            select
                {{ line_number or 'cast(null as ' ~ dbt.type_int() ~ ')' }}
                    as line_number,
                {{ loop.index }} as column_position,
                cast({{ quoted }} as {{ dbt.type_string() }}) as raw_value
            from {{ relation }}
            where
                {{ quoted }} is not null
                and {{ raw_value_is_unreadable(quoted, column.sql_type) }}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        ) as unreadable
        order by line_number, column_position
        limit 1
    {%- endset -%}
    {%- set found = run_query(query) -%}
    {%- if found.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = found.rows[0] -%}
    {%- set column = columns[row[1] - 1] -%}
    {%- set expected = raw_contract_type(column.contract_type) -%}
    {{ exceptions.raise_compiler_error(
        'Unreadable value in ' ~ location
        ~ (', line ' ~ row[0] if row[0] is not none else '')
        ~ ', column ' ~ column.name ~ ": '" ~ row[2] ~ "' (expected "
        ~ column.contract_type ~ ', e.g. ' ~ expected.example ~ ')'
    ) }}
{% endmacro %}

{% macro raw_value_is_unreadable(expression, sql_type) %}
    {#- SQL condition: the text expression cannot be cast to sql_type. -#}
    {{ return(adapter.dispatch('raw_value_is_unreadable', 'saas_kpis')(
        expression, sql_type
    )) }}
{% endmacro %}

{% macro default__raw_value_is_unreadable(expression, sql_type) %}
    {#- DuckDB, Spark (3.2 and later), Snowflake: try_cast. -#}
    {{ return('try_cast(' ~ expression ~ ' as ' ~ sql_type ~ ') is null') }}
{% endmacro %}

{% macro postgres__raw_value_is_unreadable(expression, sql_type) %}
    {#- PostgreSQL 16 and later has no try_cast: pg_input_is_valid. -#}
    {{ return(
        'not pg_input_is_valid(' ~ expression ~ ", '" ~ sql_type ~ "')"
    ) }}
{% endmacro %}
