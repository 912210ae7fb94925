{% macro iso_week_start(date_expression) %}
    {#- Monday of the ISO week of a date, as a date. -#}
    {{ return(adapter.dispatch('iso_week_start', 'saas_kpis')(date_expression)) }}
{% endmacro %}

{% macro default__iso_week_start(date_expression) %}
    {#- date_trunc('week') gives Mondays on DuckDB, PostgreSQL and Spark. -#}
    cast({{ dbt.date_trunc('week', date_expression) }} as date)
{%- endmacro %}
