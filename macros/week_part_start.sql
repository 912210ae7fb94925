{% macro week_part_start(date_expression) %}
    {#- First day of the week part of a date: the later of the Monday of its
        ISO week and the first of its month. A week part is the days of one
        ISO week that fall in one calendar month. -#}
    case
        when {{ iso_week_start(date_expression) }}
            < cast({{ dbt.date_trunc('month', date_expression) }} as date)
            then cast({{ dbt.date_trunc('month', date_expression) }} as date)
        else {{ iso_week_start(date_expression) }}
    end
{%- endmacro %}
