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
        the type itself. Before, the value is matched against the type's
        literal form, and a date or timestamp also against the calendar
        (postgres_date_is_unreadable), so that no value that passes fails
        the cast afterwards. -#}
    {%- set version = run_query('show server_version_num').columns[0].values()[0] -%}
    {%- if version | int >= 160000 -%}
        {{ return(
            'not pg_input_is_valid(' ~ expression ~ ", '" ~ sql_type ~ "')"
        ) }}
    {%- endif -%}
    {%- set kind = sql_type | lower -%}
    {%- if kind.startswith('timestamp') -%}
        {{ return(postgres_date_is_unreadable(expression, with_time=true)) }}
    {%- elif kind == 'date' -%}
        {{ return(postgres_date_is_unreadable(expression, with_time=false)) }}
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

{% macro postgres_date_is_unreadable(expression, with_time) %}
    {#- SQL condition for PostgreSQL before 16: the text expression is not a
        calendar date `YYYY-MM-DD` (with_time: optionally followed by
        ` HH:MM[:SS[.fff]]` or `T...`). The CASE checks in order and reads
        the parts only of a value of the right form, so the check itself
        never fails on a bad value. -#}
    {%- set text = 'btrim(' ~ expression ~ ')' -%}
    {%- if with_time -%}
        {%- set pattern = '^\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?$' -%}
    {%- else -%}
        {%- set pattern = '^\\d{4}-\\d{2}-\\d{2}$' -%}
    {%- endif -%}
    {%- set year = 'substr(' ~ text ~ ', 1, 4)::int' -%}
    {%- set month = 'substr(' ~ text ~ ', 6, 2)::int' -%}
    {%- set day = 'substr(' ~ text ~ ', 9, 2)::int' -%}
    {%- set month_days -%}
        extract(day from make_date({{ year }}, {{ month }}, 1)
            + interval '1 month' - interval '1 day')
    {%- endset -%}
    {%- set condition -%}
        case
            when {{ text }} !~ '{{ pattern }}' then true
            when {{ year }} = 0 or {{ month }} not between 1 and 12 then true
            when {{ day }} not between 1 and {{ month_days }} then true
            {%- if with_time %}
            when length({{ text }}) > 10 and (
                substr({{ text }}, 12, 2)::int > 23
                or substr({{ text }}, 15, 2)::int > 59
                or coalesce(nullif(substr({{ text }}, 18, 2), '')::int, 0) > 59
            ) then true
            {%- endif %}
            else false
        end
    {%- endset -%}
    {{ return(condition) }}
{% endmacro %}
