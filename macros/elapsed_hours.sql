{% macro elapsed_hours(start_timestamp, end_timestamp) %}
    {#- Exact elapsed time in hours (seconds / 3600); NULL when either end
        is NULL. -#}
    {{ dbt.datediff(start_timestamp, end_timestamp, 'second') }} / 3600.0
{%- endmacro %}
