{% macro round_double(expression, places) %}
    {#- A double rounded to `places` decimal places, as a double.
        expression: a double precision expression; places: an integer. -#}
    {{ return(adapter.dispatch('round_double', 'saas_kpis')(expression, places)) }}
{% endmacro %}

{% macro default__round_double(expression, places) %}
    round({{ expression }}, {{ places }})
{%- endmacro %}

{% macro postgres__round_double(expression, places) %}
    {#- PostgreSQL rounds to decimal places only numerics. -#}
    cast(
        round(cast({{ expression }} as numeric), {{ places }})
        as {{ type_double() }}
    )
{%- endmacro %}
