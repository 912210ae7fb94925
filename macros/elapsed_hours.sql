{% macro elapsed_hours(start_timestamp, end_timestamp) %}
    {#- Exact elapsed time in hours (seconds / 3600) as a double; NULL when
        either end is NULL. (A decimal literal divisor would round to six
        decimals on Spark.) -#}
    cast(
        {{ dbt.datediff(start_timestamp, end_timestamp, 'second') }}
        as {{ type_double() }}
    ) / 3600
{%- endmacro %}
