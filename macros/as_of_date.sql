{% macro as_of_date() %}
    {#- The reporting date (var as_of_date) as a SQL date literal. -#}
    {%- set raw_value = var('as_of_date') | string -%}
    {%- set parsed = modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw_value) -%}
    {%- if not parsed -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date must be an ISO date (YYYY-MM-DD), got '"
            ~ raw_value ~ "'"
        ) }}
    {%- endif -%}
    {%- do modules.datetime.date.fromisoformat(raw_value) -%}
    cast('{{ raw_value }}' as date)
{%- endmacro %}

{% macro end_of_as_of_date() %}
    {#- Midnight that follows as_of_date, as a timestamp. -#}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro known_as_of(timestamp_column) %}
    {#- True when a recording time falls on or before the end of the
        reporting date, i.e. before the midnight that follows as_of_date. -#}
    {{ timestamp_column }} < {{ end_of_as_of_date() }}
{%- endmacro %}
