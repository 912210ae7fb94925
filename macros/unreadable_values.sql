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
    {#- DuckDB and Spark: try_cast. -#}
    {{ return('try_cast(' ~ expression ~ ' as ' ~ sql_type ~ ') is null') }}
{% endmacro %}

{% macro postgres__raw_value_is_unreadable(expression, sql_type) %}
    {#- PostgreSQL has no try_cast. From version 16, pg_input_is_valid asks
        the type itself; before, the value is matched against the type's
        literal form (a date or timestamp by its pattern, not its calendar:
        2026-02-30 then fails at the cast, with PostgreSQL's own error). -#}
    {%- set version = run_query('show server_version_num').columns[0].values()[0] -%}
    {%- if version | int >= 160000 -%}
        {{ return(
            'not pg_input_is_valid(' ~ expression ~ ", '" ~ sql_type ~ "')"
        ) }}
    {%- endif -%}
    {%- set kind = sql_type | lower -%}
    {%- if kind.startswith('timestamp') -%}
        {%- set pattern = '^\\s*\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?\\s*$' -%}
    {%- elif kind == 'date' -%}
        {%- set pattern = '^\\s*\\d{4}-\\d{2}-\\d{2}\\s*$' -%}
    {%- elif kind.startswith('numeric') or kind.startswith('decimal') -%}
        {%- set pattern = '^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*$' -%}
    {%- elif kind.startswith('int') or kind.startswith('bigint') -%}
        {%- set pattern = '^\\s*[+-]?\\d+\\s*$' -%}
    {%- elif kind.startswith('bool') -%}
        {{ return(
            expression
            ~ " !~* '^\\s*(true|false|t|f|yes|no|y|n|on|off|1|0)\\s*$'"
        ) }}
    {%- else -%}
        {{ return('false') }}
    {%- endif -%}
    {{ return(expression ~ " !~ '" ~ pattern ~ "'") }}
{% endmacro %}
