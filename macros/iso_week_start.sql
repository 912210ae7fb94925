{% macro iso_week_start(date_expression) %}
    {#- Monday of the ISO week of a date, as a date. -#}
    {{ return(adapter.dispatch('iso_week_start', 'saas_kpis')(date_expression)) }}
{% endmacro %}

{% macro default__iso_week_start(date_expression) %}
    {#- date_trunc('week') gives Mondays on DuckDB, PostgreSQL, Redshift,
        Trino and Databricks. -#}
    cast({{ dbt.date_trunc('week', date_expression) }} as date)
{%- endmacro %}

{% macro bigquery__iso_week_start(date_expression) %}
    date_trunc(cast({{ date_expression }} as date), isoweek)
{%- endmacro %}

{% macro snowflake__iso_week_start(date_expression) %}
    {#- Independent of the WEEK_START session parameter. -#}
    dateadd(
        'day',
        1 - dayofweekiso({{ date_expression }}),
        cast({{ date_expression }} as date)
    )
{%- endmacro %}
