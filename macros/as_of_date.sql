{% macro as_of_date() %}
    {#- The reporting date (var as_of_date) as a SQL date literal. -#}
    {{ return(iso_date_var('as_of_date')) }}
{%- endmacro %}

{% macro iso_date_var(name) %}
    {#- A dbt var holding an ISO date, as the SQL date literal
        cast('YYYY-MM-DD' as date); none when the var is unset; a compiler
        error naming the var when it is not a calendar date in YYYY-MM-DD
        form. When nodes run, the environment variable SAAS_KPIS_<NAME>
        (SAAS_KPIS_AS_OF_DATE, SAAS_KPIS_DATA_TESTS_SINCE) overrides the
        var: the daily run sets its dates there, because a change of --vars
        makes dbt parse the whole project again, while an environment
        variable read only at run time leaves partial parsing alone. Unit
        tests keep the vars they set (their `overrides`). -#}
    {%- set value = var(name, none) -%}
    {%- set in_unit_test = model is defined and model is not none
        and model.resource_type == 'unit_test' -%}
    {%- if execute and not in_unit_test -%}
        {%- set value = env_var(
            'SAAS_KPIS_' ~ (name | upper),
            (value | string) if value is not none else ''
        ) or none -%}
    {%- endif -%}
    {%- if value is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set raw_value = value | string -%}
    {%- set parsed = modules.re.match(
        '^([0-9]{4})-([0-9]{2})-([0-9]{2})$', raw_value
    ) -%}
    {%- set is_date = false -%}
    {%- if parsed -%}
        {%- set year = parsed.group(1) | int -%}
        {%- set month = parsed.group(2) | int -%}
        {%- set day = parsed.group(3) | int -%}
        {%- if year >= 1 and 1 <= month <= 12 and 1 <= day <= 31 -%}
            {%- set first_of_month = modules.datetime.date(year, month, 1) -%}
            {%- set candidate = first_of_month
                + modules.datetime.timedelta(days=day - 1) -%}
            {%- set is_date = candidate.month == month -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not is_date -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be an ISO date (YYYY-MM-DD), got '"
            ~ raw_value ~ "'"
        ) }}
    {%- endif -%}
    {{ return("cast('" ~ raw_value ~ "' as date)") }}
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
