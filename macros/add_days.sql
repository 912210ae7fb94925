{% macro add_days(date_expression, day_count) %}
    {#- The date day_count days after a date (before it when negative), as a
        date. For date arithmetic that nests, such as the ISO calendar. -#}
    {{ return(adapter.dispatch('add_days', 'saas_kpis')(
        date_expression, day_count
    )) }}
{% endmacro %}

{% macro default__add_days(date_expression, day_count) %}
    cast({{ dbt.dateadd('day', day_count, date_expression) }} as date)
{%- endmacro %}

{% macro spark__add_days(date_expression, day_count) %}
    {#- dbt-spark's dateadd repeats its argument nine times, so nested calls
        grow the SQL exponentially (megabytes for the ISO calendar, minutes
        of parsing); date_add takes and returns a date. -#}
    date_add(cast({{ date_expression }} as date), {{ day_count }})
{%- endmacro %}
