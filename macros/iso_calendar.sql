{#- ISO-8601 calendar parts computed from a week's Thursday, which always
    lies in the week's ISO year. Arguments are SQL date expressions of a
    Monday (the week start, see iso_week_start). Portable: built from dbt's
    cross-database macros and standard SQL (extract, floor). -#}

{% macro iso_thursday(week_start_expression) %}
    {{ add_days(week_start_expression, 3) }}
{%- endmacro %}

{% macro iso_year(week_start_expression) %}
    {#- The ISO year of the week that starts on the given Monday. -#}
    cast(
        extract(year from {{ iso_thursday(week_start_expression) }})
        as {{ dbt.type_int() }}
    )
{%- endmacro %}

{% macro iso_week_of_year(week_start_expression) %}
    {#- 1 .. 53: the week's Thursday is in the n-th 7-day block of its year. -#}
    cast(
        floor(
            {{ dbt.datediff(
                dbt.date_trunc('year', iso_thursday(week_start_expression)),
                iso_thursday(week_start_expression),
                'day',
            ) }} / 7.0
        ) + 1
        as {{ dbt.type_int() }}
    )
{%- endmacro %}

{% macro iso_weeks_in_year(week_start_expression) %}
    {#- 52 or 53: the ISO week number of 28 December of the week's ISO
        year, which always lies in that year's last ISO week. -#}
    {%- set december_28 = add_days(
        dbt.dateadd(
            'year',
            1,
            dbt.date_trunc('year', iso_thursday(week_start_expression)),
        ),
        -4,
    ) -%}
    {{ iso_week_of_year(iso_week_start(december_28)) }}
{%- endmacro %}
